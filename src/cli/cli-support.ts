import { userInfo } from 'node:os';
import type { Command } from 'commander';
import pino from 'pino';
import { loadConfig, ConfigError } from '../config/load-config.js';
import { asAppError } from '../errors/app-error.js';
import { MissingPassphraseError, NotInitialisedError, resolveMasterPassphrase } from '../secrets/installation.js';
import { createService, type Service } from '../service/service.js';
import { WrongPassphraseError } from '../secrets/master-key.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { DataDirLockedError } from '../storage/data-dir-lock.js';
import { KeyStoreUnavailableError } from '../../ca/keys/key-store.js';
import { databaseTarget, openDatabase, DatabaseUnavailableError, type Database } from '../storage/db.js';

/** Set by long-running commands (`serve`) so the entry point does not exit after them. */
export const cliState = { keepRunning: false };

/** Exit codes of every command, documented in docs/cli.md. */
export const EXIT = { ok: 0, failed: 1, usage: 2, databaseBusy: 3 } as const;

export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
  }
}

export function configFrom(command: Command): Config {
  const opts = command.optsWithGlobals<{ config?: string }>();
  return loadConfig({ file: opts.config });
}

/** CLI commands log warnings and errors to stderr; stdout is for their output. */
export function cliLogger(config: Config): Logger {
  return createLogger({ level: config.log.level === 'info' ? 'warn' : config.log.level, name: 'tinnhiem-cli', destination: pino.destination(2) });
}

export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

/**
 * Opens the configured database for one command. The embedded database is migrated on the spot
 * (nobody else can hold it); on PostgreSQL a pending migration is an error, since other nodes
 * may be running older code: run `tinnhiem migrate` deliberately.
 */
export async function withDatabase<T>(config: Config, purpose: string, work: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(databaseTarget(config), { purpose });
  try {
    if (db.kind === 'embedded') await db.migrateLatest();
    else {
      const { pending } = await db.migrationStatus();
      if (pending.length) throw new CliFailure(`the database schema is not current (${pending.length} pending migrations): run \`tinnhiem migrate\` first`);
    }
    return await work(db);
  } finally {
    await db.close();
  }
}

/**
 * Runs a command against the whole service, built as the server builds it but not listening:
 * the same validation, the same audit events. Refused on an embedded database held by a server.
 */
export async function withService<T>(
  config: Config,
  purpose: string,
  work: (service: Service) => Promise<T>,
  options: { initialise?: boolean; root?: { passphrase?: string; keyDir?: string } } = {},
): Promise<T> {
  const { passphrase } = resolveMasterPassphrase(config, 'existing-dev-file');
  const service = await createService(config, { log: cliLogger(config), purpose, masterPassphrase: passphrase, initialise: options.initialise, rootPassphrase: options.root?.passphrase, rootKeyDir: options.root?.keyDir });
  try {
    return await work(service);
  } finally {
    await service.close();
  }
}

export function printJsonOr(json: boolean, data: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

/** Every command's errors end here: one clear line (or block) on stderr and a meaningful exit code. */
export function reportFailure(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    return EXIT.usage;
  }
  if (err instanceof MissingPassphraseError || err instanceof NotInitialisedError || err instanceof WrongPassphraseError || err instanceof KeyStoreUnavailableError) {
    process.stderr.write(`tinnhiem: ${err.message}\n`);
    return EXIT.usage;
  }
  const appError = asAppError(err);
  if (appError && appError.status < 500) {
    process.stderr.write(`tinnhiem: ${appError.detail}\n`);
    return EXIT.failed;
  }
  if (err instanceof DataDirLockedError || err instanceof DatabaseUnavailableError) {
    process.stderr.write(`tinnhiem: ${err.message}\n`);
    return EXIT.databaseBusy;
  }
  if (err instanceof CliFailure) {
    process.stderr.write(`tinnhiem: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(`tinnhiem: ${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT.failed;
}
