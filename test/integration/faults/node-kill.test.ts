/**
 * Issue 10, fault tests: a node SIGKILLed in the middle of issuance over the REST API. The node is
 * a separate process (`tinnhiem serve`'s production path); clients issue in a loop, the node is
 * killed with -9 at an arbitrary moment, and started again. Then: every call that returned 2xx has
 * its certificate; a call in flight left either a whole certificate or nothing; no holder got two
 * certificates; serials are unique; no request is stuck half-way; the audit chain verifies.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config/load-config.js';
import { createService } from '../../../src/service/service.js';
import { csrFor } from '../../../src/dev/seed-registry.js';
import { runCli } from '../../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../../support/serve-process.js';
import { memoryLogger, TEST_PASSPHRASE, TLS_AT_ONCE } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

const serveScript = fileURLToPath(new URL('../../support/serve-slow.ts', import.meta.url));
const kind = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
const clientId = 'kill-test-portal';
let database: TestDatabase;
let env: Record<string, string>;
let secret: string;
const nodes: ServerProcess[] = [];

async function token(url: string): Promise<string> {
  const res = await fetch(`${url}/oidc/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'certs:request certs:read' }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

interface CertificateView {
  serial: string;
  subject: string;
  status: string;
}

const cnOf = (subject: string) => /CN=([^,+]+)/.exec(subject)?.[1];

describe(`a node SIGKILLed mid-issuance (${kind})`, () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    await database.close();
    const dataDir = database.env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'tinnhiem-kill-'));
    env = { ...database.env, ...TLS_AT_ONCE, DATA_DIR: dataDir, PUBLIC_URL: 'http://127.0.0.1:9' };
    // The installation, its CA and a portal that may request TLS certificates (no approval).
    const { log } = memoryLogger('warn');
    const service = await createService(loadConfig({ env }), { log, database: database.target, masterPassphrase: TEST_PASSPHRASE, initialise: true, devCa: true, keyKdfIterations: 10_000, purpose: 'test' });
    try {
      ({ secret } = (await service.clients.add('test', { clientId, name: 'Cổng thử', grantTypes: ['client_credentials'], authMethod: 'client_secret_basic', scopes: ['certs:request', 'certs:read'] })) as { secret: string });
    } finally {
      await service.close();
    }
  });

  afterAll(async () => {
    for (const node of nodes) await node.stop('SIGKILL');
    await database?.destroy();
  });

  it('kill -9 while issuing: nothing lost, nothing duplicated, nothing half-written', async () => {
    const first = await startServerProcess(env, { script: serveScript });
    nodes.push(first);
    const bearer = await token(first.url);
    const csrs = await Promise.all(Array.from({ length: 160 }, () => csrFor(false)));
    const run = `k${Date.now().toString(36)}`;
    const returned = new Map<string, string>(); // host → serial, for calls that returned 2xx
    const inFlight = new Set<string>(); // hosts whose call got no answer (the kill cut it)
    const refused: string[] = [];
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (!killed && next < csrs.length) {
        const i = next++;
        const host = `${run}-${i}.soctrang.gov.vn`;
        try {
          const res = await fetch(`${first.url}/api/v1/certificate-requests`, {
            method: 'POST',
            headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
            body: JSON.stringify({ csr: csrs[i], profile: 'tls-server', subject: { C: 'VN', O: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG', CN: host }, dnsNames: [host] }),
          });
          const body = (await res.json()) as { certificate?: { serial: string } };
          if (res.status === 201 && body.certificate) returned.set(host, body.certificate.serial);
          else refused.push(`${res.status} ${JSON.stringify(body)}`);
        } catch {
          inFlight.add(host);
        }
      }
    };
    const workers = Array.from({ length: 4 }, () => worker());
    // Kill once a good number returned, at a moment unrelated to any response boundary.
    while (returned.size < 30) {
      if (first.child.exitCode !== null) throw new Error(`the node exited early:\n${first.output()}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 3 + Math.floor(Math.random() * 20)));
    first.child.kill('SIGKILL');
    killed = true;
    expect(await first.exited).toBeNull(); // killed by a signal, no exit code
    await Promise.all(workers);
    expect(refused).toEqual([]);
    expect(inFlight.size).toBeGreaterThan(0);

    // Started again on the same database and keys: it finishes what the crash interrupted.
    const second = await startServerProcess(env, { script: serveScript });
    nodes.push(second);
    const reader = await token(second.url);
    const get = async (path: string) => {
      const res = await fetch(`${second.url}${path}`, { headers: { authorization: `Bearer ${reader}` } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const all: CertificateView[] = [];
    for (let offset = 0; ; offset += 500) {
      const page = await get(`/api/v1/certificates?profile=tls-server&limit=500&offset=${offset}`);
      expect(page.status).toBe(200);
      const items = page.body.items as CertificateView[];
      all.push(...items);
      if (items.length < 500) break;
    }
    const ours = all.filter((c) => cnOf(c.subject)?.startsWith(`${run}-`));
    // Serials are unique, and no holder (host) has two certificates.
    expect(new Set(ours.map((c) => c.serial)).size).toBe(ours.length);
    const byHost = new Map<string, CertificateView[]>();
    for (const c of ours) byHost.set(cnOf(c.subject)!, [...(byHost.get(cnOf(c.subject)!) ?? []), c]);
    expect([...byHost.values()].filter((list) => list.length > 1)).toEqual([]);
    // Every call that returned 2xx has its certificate, under the serial it was told.
    for (const [host, serial] of returned) {
      const found = await get(`/api/v1/certificates/${serial}`);
      expect(found.status).toBe(200);
      expect(cnOf(found.body.subject as string)).toBe(host);
      expect(found.body.status).toBe('good');
    }
    // Calls in flight: a whole certificate or nothing; and nothing else appeared.
    const unexplained = [...byHost.keys()].filter((host) => !returned.has(host) && !inFlight.has(host));
    expect(unexplained).toEqual([]);
    expect(ours.length).toBeGreaterThanOrEqual(returned.size);
    expect(ours.length).toBeLessThanOrEqual(returned.size + inFlight.size);
    // No request is left approved without its certificate (recovery finished or none was reserved).
    const approved = await get('/api/v1/certificate-requests?status=approved');
    expect(approved.status).toBe(200);
    expect(approved.body.items).toEqual([]);

    // The audit chain, checked as an operator would, with the node stopped (the embedded
    // database is one process's).
    expect(await second.stop('SIGTERM')).toBe(0);
    const verify = await runCli(['audit', 'verify'], { ...env, MASTER_PASSPHRASE: TEST_PASSPHRASE });
    expect(verify.code).toBe(0);
  });
});
