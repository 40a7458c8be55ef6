import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import type { Service } from '../service/service.js';
import type { Logger } from '../logging/logger.js';
import type { Database } from '../storage/db.js';
import { cliJsonText } from './json-output.js';

/*
 * This module is loaded by every run, `--help` included, so it imports nothing heavy at the top:
 * the configuration, the database, the service are imported when a command runs (docs/cli.md,
 * "Start-up time").
 */

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

export async function configFrom(command: Command): Promise<Config> {
  const opts = command.optsWithGlobals<{ config?: string }>();
  const { loadConfig } = await import('../config/load-config.js');
  return loadConfig({ file: opts.config });
}

/**
 * CLI commands log to stderr, whatever LOG_LEVEL says; stdout carries only their answer (the
 * `--json` document). Synchronous writes: a command ends with process.exit, which must not
 * drop the last lines.
 */
export async function cliLogger(config: Config): Promise<Logger> {
  const [{ createLogger }, { pino }] = await Promise.all([import('../logging/logger.js'), import('pino')]);
  return createLogger({ level: config.log.level === 'info' ? 'warn' : config.log.level, name: 'tinnhiem-cli', destination: pino.destination({ fd: 2, sync: true }) });
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
  const { databaseTarget, openDatabase } = await import('../storage/db.js');
  const db = await openDatabase(databaseTarget(config), { purpose, log: await cliLogger(config) });
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
  const [{ resolveMasterPassphrase }, { createService }] = await Promise.all([import('../secrets/installation.js'), import('../service/service.js')]);
  const { passphrase } = resolveMasterPassphrase(config, 'existing-dev-file');
  const service = await createService(config, { log: await cliLogger(config), purpose, masterPassphrase: passphrase, initialise: options.initialise, rootPassphrase: options.root?.passphrase, rootKeyDir: options.root?.keyDir });
  try {
    return await work(service);
  } finally {
    await service.close();
  }
}

/** `--json`: the documented shape (src/cli/json-output.ts, docs/cli.md); else the human text. */
export function printJsonOr(json: boolean, data: unknown, human: () => string): void {
  process.stdout.write(json ? cliJsonText(data) : `${human()}\n`);
}

/** Every command's errors end here: one clear line (or block) on stderr and a meaningful exit code. */
export async function reportFailure(err: unknown): Promise<number> {
  // The modules that define these errors are loaded already when they were thrown; importing them
  // here costs nothing then, and keeps them out of `--help`.
  const [{ ConfigError }, { asAppError }, { MissingPassphraseError, NotInitialisedError }, { WrongPassphraseError }, { KeyStoreUnavailableError }, { DataDirLockedError }, { DatabaseUnavailableError }] = await Promise.all([
    import('../config/load-config.js'),
    import('../errors/app-error.js'),
    import('../secrets/installation.js'),
    import('../secrets/master-key.js'),
    import('../../ca/keys/key-store.js'),
    import('../storage/data-dir-lock.js'),
    import('../storage/db.js'),
  ]);
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
