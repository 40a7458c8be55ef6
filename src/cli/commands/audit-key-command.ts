import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Config } from '../../config/schema.js';
import { systemClock } from '../../lifecycle/clock.js';
import { AuditRepository } from '../../storage/audit-repository.js';
import { SettingsRepository } from '../../storage/settings-repository.js';
import { openInstallation, resolveMasterPassphrase } from '../../secrets/installation.js';
import { openKeyStores } from '../../certificates/open-key-stores.js';
import { createCheckpointer } from '../../service/audit-checkpoints.js';
import { keyIdOf } from '../../audit/checkpoint.js';
import { FileKeyStore } from '../../../ca/keys/file-key-store.js';
import { parseKeySpec, type KeyStore, type SigningKey } from '../../../ca/keys/key-store.js';
import { encodePem } from '../../../ca/asn1/der.js';
import type { Database } from '../../storage/db.js';
import { CliFailure, EXIT, cliActor, cliLogger, printJsonOr, withDatabase, configFrom } from '../cli-support.js';

/**
 * The database and the key stores, for the audit key's commands: the master passphrase is checked
 * against the installation first, so a key is never sealed under a mistyped passphrase.
 */
async function withAuditKeys<T>(config: Config, purpose: string, work: (db: Database, keys: KeyStore, audit: AuditRepository) => Promise<T>): Promise<T> {
  const { passphrase } = resolveMasterPassphrase(config, 'existing-dev-file');
  return withDatabase(config, purpose, async (db) => {
    const audit = new AuditRepository(db.knex, systemClock);
    await openInstallation(db, new SettingsRepository(db.knex, systemClock), audit, passphrase, { initialise: false, actor: cliActor() });
    const { keyStore, close } = await openKeyStores(config, new FileKeyStore({ directory: join(resolve(config.dataDir), 'keys'), passphrase }));
    try {
      return await work(db, keyStore, audit);
    } finally {
      close();
    }
  });
}

const publicKeyPem = (key: SigningKey) => encodePem(key.spki, 'PUBLIC KEY');

function configuredKeyUri(config: Config): string {
  if (!config.audit.keyUri) throw new CliFailure('AUDIT_KEY_URI is not set: make a key with `tinnhiem audit key create` and set it', EXIT.usage);
  return config.audit.keyUri;
}

export function registerAuditKey(audit: Command): void {
  const key = audit.command('key').description('the audit key that signs checkpoints (kept in the key store, never in the database)');

  key
    .command('create')
    .description('make the audit key in the key store (CA_KEY_STORE: file or pkcs11); prints its URI and public key')
    .option('--name <name>', 'key name', 'audit')
    .option('--key-type <type>', 'ecdsa-p256, ecdsa-p384, rsa-3072…', 'ecdsa-p256')
    .option('--out <file>', 'also write the public key (PEM) here, for the auditors')
    .option('--json', 'machine-readable output')
    .action(async (opts: { name: string; keyType: string; out?: string; json?: boolean }, command: Command) => {
      const config = await configFrom(command);
      const created = await withAuditKeys(config, 'audit key create', async (db, keys, auditLog) => {
        const made = await keys.generate(parseKeySpec(opts.keyType), opts.name);
        const out = { uri: made.uri, keyId: keyIdOf(made.spki), publicKey: publicKeyPem(made) };
        await db.withTransaction((trx) => auditLog.append(trx, { actor: cliActor(), action: 'audit.key.create', target: `key:${made.uri}`, details: { keyId: out.keyId } }));
        return out;
      });
      if (opts.out) await writeFile(opts.out, created.publicKey, { mode: 0o644 });
      printJsonOr(!!opts.json, created, () =>
        [`audit key ${created.uri} (${created.keyId})`, `set AUDIT_KEY_URI=${created.uri}; give auditors the public key:`, created.publicKey.trimEnd()].join('\n'),
      );
    });

  key
    .command('show')
    .description('print the public key of AUDIT_KEY_URI (PEM) and its key id')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const config = await configFrom(command);
      const uri = configuredKeyUri(config);
      const shown = await withAuditKeys(config, 'audit key show', async (_db, keys) => {
        const loaded = await keys.load(uri);
        return { uri, keyId: keyIdOf(loaded.spki), publicKey: publicKeyPem(loaded) };
      });
      printJsonOr(!!opts.json, shown, () => `${shown.keyId}\n${shown.publicKey.trimEnd()}`);
    });

  audit
    .command('checkpoint')
    .description('sign a checkpoint of the head now and send it to the configured sinks (the service does this every N events or M minutes)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const config = await configFrom(command);
      configuredKeyUri(config);
      const checkpoint = await withAuditKeys(config, 'audit checkpoint', async (db, keyStore, auditLog) => {
        const checkpointer = createCheckpointer({ config, db, audit: auditLog, keyStore, clock: systemClock, log: await cliLogger(config), nodeId: `cli:${hostname()}:${process.pid}` });
        try {
          return await checkpointer.runOnce({ force: true });
        } catch (err) {
          // A refused chain, an unreachable TSA or syslog: one line, exit 1 (the message says which).
          throw new CliFailure(`audit checkpoint failed: ${(err as Error).message}`);
        } finally {
          await checkpointer.close();
        }
      });
      if (!checkpoint) throw new CliFailure('no checkpoint signed: the audit log is empty, or a running node holds the checkpoint lease (it signs them)');
      printJsonOr(!!opts.json, checkpoint, () => `checkpoint #${checkpoint.seq} ${checkpoint.hash} signed at ${checkpoint.at}${checkpoint.tsa ? `, time-stamped ${checkpoint.tsa.genTime}` : ''}`);
    });
}
