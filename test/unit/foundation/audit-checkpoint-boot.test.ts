import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../../src/config/load-config.js';
import { BackgroundJobs } from '../../../src/lifecycle/background-jobs.js';
import { createLogger } from '../../../src/logging/logger.js';
import { startAuditCheckpoints } from '../../../src/service/audit-checkpoints.js';
import type { Wiring } from '../../../src/service/wiring.js';
import { FileKeyStore } from '../../../ca/keys/file-key-store.js';
import { parseKeySpec } from '../../../ca/keys/key-store.js';

let dir: string;
let keys: FileKeyStore;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tinnhiem-audit-boot-'));
  keys = new FileKeyStore({ directory: join(dir, 'keys'), passphrase: 'audit-boot-passphrase', kdfIterations: 1_000 });
  await keys.generate(parseKeySpec('ecdsa-p256'), 'audit');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts the checkpoint job as the service does and returns the warnings it logged. */
async function boot(env: Record<string, string>, devCa: boolean): Promise<string[]> {
  const lines: string[] = [];
  const log = createLogger({ level: 'warn', destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(...c.toString().split('\n').filter(Boolean)), done()) }) });
  const jobs = new BackgroundJobs(log);
  const closers: Array<() => unknown> = [];
  const config = loadConfig({ env: { DATA_DIR: dir, ...env } });
  const w = { config, log, jobs, options: { devCa }, onClose: (c: () => unknown) => closers.push(c), db: { knex: {} }, audit: {}, clock: { now: () => new Date() } } as unknown as Wiring;
  try {
    await startAuditCheckpoints(w, keys);
  } finally {
    jobs.stop();
  }
  return lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
}

describe('audit checkpoints at boot', () => {
  it('a production start says when the log is not anchored, or anchored only in DATA_DIR', async () => {
    expect(await boot({}, false)).toEqual([expect.stringContaining('audit checkpoints are off (AUDIT_KEY_URI is not set)')]);
    expect(await boot({ AUDIT_KEY_URI: 'file:audit' }, false)).toEqual([expect.stringContaining('inside DATA_DIR, which is for development only')]);
    expect(await boot({ AUDIT_KEY_URI: 'file:audit', AUDIT_CHECKPOINT_FILE: join(dir, 'x', 'c.jsonl') }, false)).toEqual([expect.stringContaining('inside DATA_DIR')]);
    expect(await boot({ AUDIT_KEY_URI: 'file:audit', AUDIT_CHECKPOINT_FILE: join(tmpdir(), 'elsewhere', 'c.jsonl') }, false)).toEqual([]);
    // A development start stays quiet.
    expect(await boot({}, true)).toEqual([]);
    expect(await boot({ AUDIT_KEY_URI: 'file:audit' }, true)).toEqual([]);
  });

  it('a key that does not load stops the start; a bad syslog URL is refused by the configuration', async () => {
    await expect(boot({ AUDIT_KEY_URI: 'file:missing' }, true)).rejects.toThrow(/^the audit key \(AUDIT_KEY_URI\): key file:missing not found/);
    expect(() => loadConfig({ env: { AUDIT_SYSLOG_URL: 'http://syslog' } })).toThrow(/AUDIT_SYSLOG_URL .*udp:\/\/host/);
  });
});
