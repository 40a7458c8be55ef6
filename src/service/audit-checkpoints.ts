import { hostname } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Wiring } from './wiring.js';
import { KeyStoreUnavailableError, type KeyStore, type SigningKey } from '../../ca/keys/key-store.js';
import { asAppError } from '../errors/app-error.js';
import { AuditCheckpointer } from '../audit/audit-checkpointer.js';
import { readFile } from 'node:fs/promises';
import { FileCheckpointSink, SyslogCheckpointSink, readCheckpointFile, type CheckpointSink } from '../audit/checkpoint-sinks.js';
import { auditPublicKey } from '../audit/checkpoint.js';
import type { CheckpointEvidence } from '../audit/checkpoint-verification.js';
import { AuditCheckpointRepository } from '../storage/audit-checkpoint-repository.js';
import type { Database } from '../storage/db.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { Clock } from '../lifecycle/clock.js';
import type { Logger } from '../logging/logger.js';

/** The checkpoint file: AUDIT_CHECKPOINT_FILE, else DATA_DIR/audit-checkpoints.jsonl (development only). */
export function checkpointFilePath(config: Config): { path: string; isDefault: boolean } {
  return config.audit.checkpointFile
    ? { path: resolve(config.audit.checkpointFile), isDefault: false }
    : { path: join(resolve(config.dataDir), 'audit-checkpoints.jsonl'), isDefault: true };
}

export function checkpointSinks(config: Config): CheckpointSink[] {
  const sinks: CheckpointSink[] = [new FileCheckpointSink(checkpointFilePath(config).path)];
  if (config.audit.syslogUrl) sinks.push(new SyslogCheckpointSink(config.audit.syslogUrl, config.audit.sinkTimeoutMs));
  return sinks;
}

/** A checkpointer over `db` with the configured key and sinks (the service's job, `audit checkpoint`). */
export function createCheckpointer(parts: { config: Config; db: Database; audit: AuditRepository; keyStore: KeyStore; clock: Clock; log: Logger; nodeId?: string }): AuditCheckpointer {
  const { config } = parts;
  let key: Promise<SigningKey> | undefined;
  const pollMs = Math.min(config.audit.checkpointSeconds * 1000, 30_000);
  return new AuditCheckpointer({
    store: new AuditCheckpointRepository(parts.db.knex, parts.audit),
    key: () => (key ??= parts.keyStore.load(config.audit.keyUri!).catch((err: unknown) => ((key = undefined), Promise.reject(err)))),
    sinks: checkpointSinks(config),
    tsa: config.audit.tsaUrl ? { url: config.audit.tsaUrl, timeoutMs: config.audit.sinkTimeoutMs } : undefined,
    clock: parts.clock,
    log: parts.log,
    nodeId: parts.nodeId ?? `${hostname()}:${process.pid}`,
    everyEvents: config.audit.checkpointEvents,
    everyMs: config.audit.checkpointSeconds * 1000,
    leaseMs: Math.max(3 * pollMs, 60_000),
  });
}

/**
 * Registers the checkpoint job of a node (role `all`). The audit key is loaded at start, so a
 * wrong URI, passphrase or PIN stops the start; outside development, a missing key or a
 * checkpoint file in DATA_DIR is said at boot.
 */
export async function startAuditCheckpoints(w: Wiring, keyStore: KeyStore): Promise<AuditCheckpointer | null> {
  const { config, log } = w;
  // Said once at a server's start, not by every CLI command that builds the service.
  const production = !w.options.devCa && (w.options.purpose ?? 'serve') === 'serve';
  if (!config.audit.keyUri) {
    if (production) log.warn('audit checkpoints are off (AUDIT_KEY_URI is not set): the audit log is not anchored outside the database (docs/audit.md)');
    return null;
  }
  const file = checkpointFilePath(config);
  if (production && (file.isDefault || !relative(resolve(config.dataDir), file.path).startsWith('..'))) {
    log.warn({ file: file.path }, 'audit checkpoints are written inside DATA_DIR, which is for development only: set AUDIT_CHECKPOINT_FILE to a file on another volume (and AUDIT_SYSLOG_URL or AUDIT_TSA_URL) (docs/audit.md)');
  }
  const checkpointer = createCheckpointer({ ...w, keyStore });
  try {
    await keyStore.load(config.audit.keyUri);
  } catch (error) {
    // As the CA's HSM keys (docs/hsm.md, start-up checks): one line, exit code 2.
    const known = asAppError(error);
    if (known) throw new KeyStoreUnavailableError(`the audit key (AUDIT_KEY_URI): ${known.detail}`);
    throw error;
  }
  const pollMs = Math.min(config.audit.checkpointSeconds * 1000, 30_000);
  w.jobs.every(pollMs, 'audit checkpoint failed', () => checkpointer.runOnce());
  w.onClose(() => checkpointer.close());
  return checkpointer;
}

/**
 * The checkpoints the service itself compares the chain with (the API's verification, the
 * console): the configured file and AUDIT_PUBLIC_KEY_FILE, read at each verification; null when
 * no public key is configured. A file not written yet reads as no checkpoints. An auditor does
 * not rely on this: they run `tinnhiem audit verify` with their own copies.
 */
export function configuredCheckpoints(config: Config): () => Promise<CheckpointEvidence | null> {
  return async () => {
    if (!config.audit.publicKeyFile) return null;
    const publicKey = auditPublicKey(await readFile(config.audit.publicKeyFile, 'utf8'));
    const source = checkpointFilePath(config).path;
    const lines = await readCheckpointFile(source).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
    const tsaCerts = config.audit.tsaCertFile ? ((await readFile(config.audit.tsaCertFile, 'utf8')).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) : [];
    return { source, lines, publicKey, tsaCerts };
  };
}
