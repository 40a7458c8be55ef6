import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { childEnv, repoRoot } from '../../support/run-cli.js';
import { startTestService, TEST_PASSPHRASE, TLS_AT_ONCE, type TestService } from '../../support/test-app.js';
import { csrFor } from '../../../src/dev/seed-registry.js';
import { verifyChain } from '../../../src/audit/audit-chain.js';
import { crlSerials } from '../../support/ca-helpers.js';
import { createService } from '../../../src/service/service.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { memoryLogger } from '../../support/test-app.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tls = (host: string) => ({ subject: { C: 'VN', O: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG', CN: host }, dnsNames: [host] });

describe(`concurrency (${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded'})`, () => {
  let t: TestService;
  beforeAll(async () => {
    // 75 operations at once on a pool of 10: on a loaded machine a caller can wait longer than the
    // default 5 s for a connection, and a 503 is then the right answer. This test is about serials
    // and lost updates, not about waiting, so it waits as long as its own timeout allows.
    t = await startTestService({ env: { ...TLS_AT_ONCE, DATABASE_ACQUIRE_TIMEOUT_MS: '120000' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('50 concurrent issuances and revocations: no duplicate serial, no lost update', async () => {
    const { ra, ca } = t.service.certificates;
    const first = await Promise.all(Array.from({ length: 25 }, async (_, i) => ra.issueDirect('test', { csr: await csrFor(false), profileId: 'tls-server', holder: tls(`a${i}.soctrang.gov.vn`) })));
    const toRevoke = first.map((o) => o.issued!.serial);
    const csrs = await Promise.all(Array.from({ length: 50 }, () => csrFor(false)));
    const [issued, revoked] = await Promise.all([
      Promise.all(csrs.map((csr, i) => ra.issueDirect('test', { csr, profileId: 'tls-server', holder: tls(`b${i}.soctrang.gov.vn`) }))),
      Promise.all(toRevoke.map((serial, i) => ca.changeStatus({ actor: `test:${i}`, serial, action: i % 5 === 0 ? 'hold' : 'revoke', reason: 'superseded' }))),
    ]);
    const serials = issued.map((o) => o.issued!.serial);
    expect(new Set(serials).size).toBe(50);
    for (const serial of serials) expect((await ca.certificate(serial)).status).toBe('good');
    for (const [i, r] of revoked.entries()) expect((await ca.certificate(r.serial)).status).toBe(i % 5 === 0 ? 'hold' : 'revoked');

    // Every change made it into the latest full CRL, and the audit chain is whole.
    const issuerId = first[0].issued!.issuerId;
    const full = await ca.latestCrl(issuerId, 'full');
    expect(new Set(crlSerials(full!.der))).toEqual(new Set(toRevoke));
    expect((await verifyChain(t.service.audit.all())).ok).toBe(true);
    const events = await t.service.audit.list({ action: 'certificate.issue', limit: 500 });
    expect(events.length).toBeGreaterThanOrEqual(75 + 1);
  });
});

describe(`a crash during bulk issuance (${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded'})`, () => {
  let db: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    await db.close();
    dataDir = db.env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'tinnhiem-crash-'));
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('SIGKILL mid-way: every certificate returned to a caller is in the registry, serials unique, audit intact', async () => {
    const script = fileURLToPath(new URL('../../support/bulk-issue.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, '500'], { cwd: repoRoot, env: childEnv({ ...db.env, ...TLS_AT_ONCE, DATA_DIR: dataDir, PUBLIC_URL: 'http://127.0.0.1:9' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        // Kill at an arbitrary point well inside the run (not on a line boundary of ours).
        if ((out.match(/^ISSUED /gm) ?? []).length >= 60) {
          setTimeout(() => child.kill('SIGKILL'), 7);
          resolve();
        }
      });
      void exited.then(() => reject(new Error(`bulk issuer ended early:\n${out}\n${err}`)));
    });
    expect(await exited).toBe('SIGKILL');
    const returned = [...out.matchAll(/^ISSUED ([0-9a-f]+)$/gm)].map((m) => m[1]);
    expect(returned.length).toBeGreaterThanOrEqual(60);

    // Restart: the service finishes any reserved issuance, then everything is accounted for.
    const { log } = memoryLogger('warn');
    const config = loadConfig({ env: { DATA_DIR: dataDir, PUBLIC_URL: 'http://127.0.0.1:9' } });
    const service = await createService(config, { log, database: db.target, masterPassphrase: TEST_PASSPHRASE, keyKdfIterations: 10_000, purpose: 'test' });
    try {
      for (const serial of returned) expect((await service.certificates.ca.certificate(serial)).state).toBe('issued');
      const all = await service.certificates.search({ profileId: 'tls-server', limit: 500 });
      expect(all.items.every((c) => c.state === 'issued')).toBe(true);
      expect(new Set(all.items.map((c) => c.serial)).size).toBe(all.items.length);
      expect(all.total).toBeGreaterThanOrEqual(returned.length);
      expect(all.total).toBeLessThanOrEqual(returned.length + 1); // at most the one in flight
      expect((await verifyChain(service.audit.all())).ok).toBe(true);
    } finally {
      await service.close();
    }
  });
});
