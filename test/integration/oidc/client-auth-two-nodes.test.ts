import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../../support/test-db.js';

/**
 * A right client secret is admitted from memory while its node holds a lease on the clean
 * counters (docs/security.md, "Login throttling"); the attack this must not open: wrong guesses
 * sent to another node lock the (client, address) key, and a right guess is then accepted on the
 * node that admits from memory. An attempt counted on a leased key waits for the lease's end
 * before it is checked, so a lock can only be set once no node admits from memory.
 *
 * PostgreSQL only: the embedded database belongs to one process (its data directory is locked).
 */
const onPostgres = usingPostgres();
const MAX = 10;
let database: TestDatabase;
const nodes: TestService[] = [];
let secret: string;
const clientId = 'hai-nut';

const basic = (s: string) => `Basic ${Buffer.from(`${clientId}:${encodeURIComponent(s)}`).toString('base64')}`;

/** A client_credentials request to `node` from `address` (behind one trusted proxy). */
async function token(node: TestService, address: string, s: string): Promise<{ status: number; sent: number; at: number }> {
  const sent = Date.now();
  const res = await fetch(`${node.url}/oidc/token`, {
    method: 'POST',
    headers: { authorization: basic(s), 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': address },
    body: 'grant_type=client_credentials',
  });
  await res.arrayBuffer();
  return { status: res.status, sent, at: Date.now() };
}

const failuresFrom = async (address: string) => (await nodes[0].service.audit.list({ action: 'client_auth.failure', target: `client:${clientId}`, limit: 500 })).filter((e) => (e.details as { ip: string }).ip === address);
const lockOf = async (address: string) => (await nodes[0].service.audit.list({ action: 'client_auth.throttled', target: `client:${clientId}`, limit: 50 })).find((e) => (e.details as { ip: string }).ip === address);

// Reason: several nodes need one shared database; the embedded one serves a single process.
if (!onPostgres) process.stderr.write('skipping client authentication across two nodes: set DATABASE_URL to run it on PostgreSQL\n');
(onPostgres ? describe : describe.skip)('client authentication leases across two nodes on one database (PostgreSQL only)', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    const env = { TRUST_PROXY: '1', CLIENT_AUTH_MAX_FAILURES_PER_CLIENT_ADDRESS: String(MAX), CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS: '50', LOGIN_LOCK_SECONDS: '600', LOGIN_FAILURE_WINDOW_SECONDS: '600' };
    for (let i = 0; i < 2; i++) nodes.push(await startTestService({ database, env }));
    secret = (await nodes[0].service.clients.add('test', { clientId, name: 'Hai nút', grantTypes: ['client_credentials'], scopes: ['certs:read'] })).secret!;
  }, 120_000);

  afterAll(async () => {
    for (const node of nodes) await node.close();
    await database?.destroy();
  });

  it('guesses on node B lock the key while node A admits the right secret from memory: after the lock, the right secret is refused on both', async () => {
    const [a, b] = nodes;
    const address = '203.0.113.40';
    // Node B has answered before (its first answers are slow); node A admits the right secret,
    // and from then on holds leases on the clean counters.
    for (let i = 0; i < 3; i++) expect((await token(b, '198.51.100.41', secret)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await token(a, address, secret)).status).toBe(200);
    // Wrong guesses on node B, in parallel, while node A keeps admitting the right secret.
    const started = Date.now();
    const guesses = (async () => {
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => token(b, address, `sai-${i}`)));
      // Node A's own right secrets may have taken some of the bound's places: guess on until the lock.
      for (let i = 0; i < 20 && results.filter((r) => r.status === 401).length < MAX; i++) results.push(await token(b, address, `sai-them-${i}`));
      return results;
    })();
    const rights: Array<Awaited<ReturnType<typeof token>>> = [];
    const keepGoing = (async () => {
      const until = Date.now() + 4_000;
      while (Date.now() < until) rights.push(await token(a, address, secret));
    })();
    const wrong = await guesses;
    await keepGoing;
    expect(wrong.every((r) => r.status === 401 || r.status === 429)).toBe(true);
    const failed = wrong.filter((r) => r.status === 401);
    expect(failed.length).toBe(MAX);
    // No guess was checked while node A could still admit from memory: the first failure came
    // after A's lease (taken at the latest when the guesses started) could have ended.
    const failures = await failuresFrom(address);
    expect(failures).toHaveLength(MAX);
    const lock = await lockOf(address);
    expect(lock).toBeDefined();
    const lockedAt = lock!.occurredAt.getTime();
    expect(lockedAt).toBeGreaterThanOrEqual(started - 1_000);
    // A right secret sent after the lock was written is refused; every one admitted was sent before it.
    const after = rights.filter((r) => r.sent > lockedAt + 5);
    expect(after.length).toBeGreaterThan(0);
    for (const r of after) expect(r.status).toBe(429);
    expect(rights.at(-1)!.status).toBe(429);
    expect((await token(a, address, secret)).status).toBe(429);
    expect((await token(b, address, secret)).status).toBe(429);
    // Elsewhere the client is not locked out, on either node.
    expect((await token(a, '198.51.100.40', secret)).status).toBe(200);
    expect((await token(b, '198.51.100.40', secret)).status).toBe(200);
  }, 60_000);

  it('a parallel burst of right and wrong secrets over both nodes checks at most the bound, and the right secret is refused once locked', async () => {
    const address = '203.0.113.41';
    // Both nodes hold leases first.
    for (const node of nodes) expect((await token(node, address, secret)).status).toBe(200);
    const burst = await Promise.all(Array.from({ length: 120 }, (_, i) => token(nodes[i % 2], address, i % 3 === 0 ? secret : `doan-${i}`)));
    expect(burst.filter((r, i) => i % 3 !== 0 && r.status === 401).length).toBeLessThanOrEqual(MAX);
    expect(burst.every((r) => [200, 401, 429].includes(r.status))).toBe(true);
    expect(await failuresFrom(address)).toHaveLength(burst.filter((r) => r.status === 401).length);
    if (burst.filter((r) => r.status === 401).length === MAX) {
      for (const node of nodes) expect((await token(node, address, secret)).status).toBe(429);
    }
  }, 60_000);
});
