import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Database } from '../storage/db.js';
import type { SettingsRepository } from '../storage/settings-repository.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import { MasterKey } from './master-key.js';

/** Secrets of this installation, the same on every node: opened once at start. */
export interface InstallationSecrets {
  masterKey: MasterKey;
  /** oidc-provider cookie signing keys (newest first). */
  cookieKeys: string[];
  /** Key of the CSRF tokens on our forms. */
  csrfSecret: Buffer;
}

export class NotInitialisedError extends Error {
  constructor() {
    super('this installation is not initialised: run `tinnhiem init` (with MASTER_PASSPHRASE set) first');
    this.name = 'NotInitialisedError';
  }
}

export class MissingPassphraseError extends Error {
  constructor() {
    super('MASTER_PASSPHRASE (or MASTER_PASSPHRASE_FILE) is required: it seals the signing keys and secrets at rest. `npm start` (serve --dev) generates one for development.');
    this.name = 'MissingPassphraseError';
  }
}

interface MasterKeySetting {
  salt: string;
  check: string;
}
interface SealedSetting {
  sealed: string;
}

/**
 * The master passphrase: from the configuration, or (development start only) from
 * DATA_DIR/dev-master-passphrase, generated on first use with mode 0600.
 */
export function resolveMasterPassphrase(config: Config, mode: 'dev' | 'existing-dev-file' | 'required'): { passphrase: string; generatedAt?: string } {
  if (config.secrets.masterPassphrase) return { passphrase: config.secrets.masterPassphrase };
  const file = join(resolve(config.dataDir), 'dev-master-passphrase');
  // CLI commands on a development data directory use the passphrase the dev start generated.
  if (mode !== 'required' && existsSync(file)) return { passphrase: readFileSync(file, 'utf8').trim() };
  if (mode !== 'dev') throw new MissingPassphraseError();
  mkdirSync(resolve(config.dataDir), { recursive: true });
  writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  return { passphrase: readFileSync(file, 'utf8').trim(), generatedAt: file };
}

/**
 * The development root passphrase (`DATA_DIR/dev-root-passphrase`, made on first use): the dev
 * start and tests hold the root key so that `npm start` brings everything up by itself. A
 * production `serve` never reads it; ceremonies take theirs from a file or a prompt (docs/ca.md).
 */
export function devRootPassphrase(config: Config, create: boolean): string | undefined {
  const file = join(resolve(config.dataDir), 'dev-root-passphrase');
  if (!existsSync(file)) {
    if (!create) return undefined;
    mkdirSync(resolve(config.dataDir), { recursive: true });
    writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(file, 'utf8').trim();
}

/**
 * Opens (or, with `initialise`, creates) the installation's secrets. The salt and a check value
 * are stored in plain; everything else is sealed with the master key. A wrong passphrase is
 * refused here, before any service starts.
 */
export async function openInstallation(
  db: Database,
  settings: SettingsRepository,
  audit: AuditRepository,
  passphrase: string,
  options: { initialise: boolean; actor: string },
): Promise<InstallationSecrets> {
  let stored = await settings.get<MasterKeySetting>('master_key');
  if (!stored) {
    if (!options.initialise) throw new NotInitialisedError();
    const salt = randomBytes(16);
    const candidate = await MasterKey.derive(passphrase, salt);
    stored = await db.withTransaction(async (trx) => {
      const value = await settings.putIfAbsent<MasterKeySetting>('master_key', { salt: salt.toString('base64'), check: candidate.checkValue().toString('base64') }, trx);
      if (value.salt === salt.toString('base64')) {
        await audit.append(trx, { actor: options.actor, action: 'installation.initialise', target: null, details: { kdf: 'scrypt', cipher: 'aes-256-gcm' } });
      }
      return value;
    });
  }
  const masterKey = await MasterKey.derive(passphrase, Buffer.from(stored.salt, 'base64'));
  masterKey.verifyCheckValue(Buffer.from(stored.check, 'base64'));

  let sealed = await settings.get<SealedSetting>('installation_secrets');
  if (!sealed) {
    if (!options.initialise) throw new NotInitialisedError();
    const fresh = { cookieKeys: [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')], csrfSecret: randomBytes(32).toString('base64url') };
    const value = { sealed: masterKey.seal(Buffer.from(JSON.stringify(fresh)), 'settings:installation_secrets').toString('base64') };
    sealed = await db.withTransaction((trx) => settings.putIfAbsent('installation_secrets', value, trx));
  }
  const secrets = JSON.parse(masterKey.open(Buffer.from(sealed.sealed, 'base64'), 'settings:installation_secrets').toString('utf8')) as {
    cookieKeys: string[];
    csrfSecret: string;
  };
  return { masterKey, cookieKeys: secrets.cookieKeys, csrfSecret: Buffer.from(secrets.csrfSecret, 'base64url') };
}
