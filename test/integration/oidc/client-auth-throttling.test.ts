import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { startTestService, type TestService } from '../../support/test-app.js';

/**
 * Client authentication at the token endpoint is throttled and audited like password logins
 * (issue 16, acceptance 5; docs/security.md, "Login throttling"): counted before the secret is
 * checked, per (client, address) and per address, behind one trusted proxy (TRUST_PROXY=1).
 * Bounds: 10 failures per (client, address), 50 per address; a lock lasts 30 s.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
const LOCK_SECONDS = 30;
let t: TestService;
let secret: string;
const clientId = 'may-ky-so';

beforeAll(async () => {
  t = await startTestService({
    env: { TRUST_PROXY: '1', CLIENT_AUTH_MAX_FAILURES_PER_CLIENT_ADDRESS: '10', CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS: '50', LOGIN_LOCK_SECONDS: String(LOCK_SECONDS), LOGIN_FAILURE_WINDOW_SECONDS: '600' },
  });
  secret = (await t.service.clients.add('test', { clientId, name: 'Máy ký số', grantTypes: ['client_credentials'], scopes: ['certs:read'] })).secret!;
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const basic = (id: string, s: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(s)}`).toString('base64')}`;

/** A client_credentials request through the proxy at `real`: Basic credentials, or client_secret_post. */
async function token(real: string, s: string, how: 'basic' | 'post' = 'basic', path = '/oidc/token', forged?: string) {
  const form = new URLSearchParams(path === '/oidc/token' ? { grant_type: 'client_credentials' } : { token: 'khong-phai-token' });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forged ? `${forged}, ${real}` : real };
  if (how === 'basic') headers.authorization = basic(clientId, s);
  else {
    form.set('client_id', clientId);
    form.set('client_secret', s);
  }
  const res = await fetch(`${t.url}${path}`, { method: 'POST', headers, body: form.toString() });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { error?: string; access_token?: string } };
}

const events = (action: string) => t.service.audit.list({ action, target: `client:${clientId}`, limit: 500 });

describe(`client authentication throttling (${db})`, () => {
  it('500 wrong client secrets from one address: at most 10 per lock are checked, the rest 429 with Retry-After, failures and the lock audited', async () => {
    const real = '203.0.113.20';
    const results: Array<Awaited<ReturnType<typeof token>>> = [];
    const started = performance.now();
    // In waves of 50 parallel requests, half with Basic credentials, half in the body, forged
    // X-Forwarded-For entries rotating in front of the real address.
    for (let wave = 0; wave < 10; wave++) {
      results.push(...(await Promise.all(Array.from({ length: 50 }, (_, i) => token(real, `sai-bi-mat-${wave}-${i}`, i % 2 ? 'post' : 'basic', '/oidc/token', `10.0.${wave}.${i}`)))));
    }
    // A loaded machine may take longer than a lock: then 10 more may be checked after it ends.
    const locksElapsed = Math.floor((performance.now() - started) / 1000 / LOCK_SECONDS);
    const failures = results.filter((r) => r.status === 401);
    const refused = results.filter((r) => r.status === 429);
    expect(failures.length + refused.length).toBe(500);
    expect(failures.length).toBeLessThanOrEqual(10 * (1 + locksElapsed));
    for (const r of failures) expect(r.body.error).toBe('invalid_client');
    for (const r of refused) {
      expect(r.body.error).toBe('slow_down');
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    const audited = await events('client_auth.failure');
    // Every checked secret, and only those, is an audited failure.
    expect(audited).toHaveLength(failures.length);
    expect(audited.every((e) => (e.details as { ip: string }).ip === real)).toBe(true);
    const locks = await events('client_auth.throttled');
    expect(locks).toHaveLength(Math.ceil(failures.length / 10));
    expect(locks[0].details).toMatchObject({ scope: 'client-address', ip: real, endpoint: '/oidc/token', lockSeconds: LOCK_SECONDS });

    // The right secret from that address waits for the lock; the portal's own server, elsewhere, is not locked out.
    const right = await token(real, secret);
    expect(right.status).toBe(429);
    const portal = await token('198.51.100.9', secret);
    expect(portal.status).toBe(200);
    expect(portal.body.access_token).toBeTruthy();
    // So does client_secret_post from there (the body is read once and reaches the provider intact).
    const post = await token('198.51.100.9', secret, 'post');
    expect(post.status).toBe(200);
  });

  it('a right secret is admitted under a lease on the clean counters; a wrong secret from that address waits for the lease before it is checked', async () => {
    const real = '203.0.113.22';
    // The first right secret takes the lease (2 s); the ones after it are admitted from memory.
    for (let i = 0; i < 3; i++) expect((await token(real, secret)).status).toBe(200);
    const started = performance.now();
    const wrong = await token(real, 'sai-sau-hop-dong');
    const waited = performance.now() - started;
    expect(wrong.status).toBe(401);
    // The lease had at least half of its 2 s left (it is renewed once half has run).
    expect(waited).toBeGreaterThanOrEqual(900);
    // The failure dirtied the key: the right secret reads the counters again, and is still admitted.
    expect((await token(real, secret)).status).toBe(200);
  });

  it('introspection and revocation count failed client authentication the same way', async () => {
    const real = '203.0.113.21';
    const statuses: number[] = [];
    for (const path of ['/oidc/token/introspection', '/oidc/token/revocation']) {
      statuses.push(...(await Promise.all(Array.from({ length: 8 }, (_, i) => token(real, `sai-${i}`, 'basic', path)))).map((r) => r.status));
    }
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(10);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(6);
    const audited = (await events('client_auth.failure')).filter((e) => (e.details as { ip: string }).ip === real);
    expect(new Set(audited.map((e) => (e.details as { endpoint: string }).endpoint))).toEqual(new Set(['/oidc/token/introspection', '/oidc/token/revocation']));
  });

  it.each([
    ['one keep-alive connection', true, '203.0.113.30', '203.0.113.31'],
    ['a new connection per request', false, '203.0.113.32', '203.0.113.33'],
  ])('%s carrying several addresses (a reverse proxy): each request is judged on its own credentials and address', async (_, keepAlive, a, b) => {
    // The middleware keeps the attempt made from each Basic header and uses it again for the same
    // header, address and endpoint, on any connection (docs/performance.md, "Token endpoint
    // (client credentials), tenth pass"). Behind a proxy one connection carries many clients, and
    // one client's requests come on many connections: a right secret from one address must not
    // stand for another, nor for a wrong secret.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const send = (from: string, s: string) =>
      new Promise<number>((resolve, reject) => {
        const body = 'grant_type=client_credentials';
        const req = http.request(`${t.url}/oidc/token`, { method: 'POST', agent: keepAlive ? agent : false, headers: { authorization: basic(clientId, s), 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length, 'x-forwarded-for': from } }, (res) => {
          sockets.add(res.socket);
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      expect(await send(a, secret)).toBe(200);
      expect(await send(a, secret)).toBe(200);
      // A wrong secret after the right one on the same connection and address: checked and counted.
      expect(await send(a, 'sai-tren-cung-ket-noi')).toBe(401);
      // Wrong secrets from another address on that connection lock that address alone.
      const fromB: number[] = [];
      for (let i = 0; i < 12; i++) fromB.push(await send(b, `sai-${i}`));
      expect(fromB.filter((x) => x === 401)).toHaveLength(10);
      expect(fromB.slice(10)).toEqual([429, 429]);
      // The right secret from the locked address waits for the lock, although the same header was
      // admitted on this connection from the other address; that address is still served.
      expect(await send(b, secret)).toBe(429);
      expect(await send(a, secret)).toBe(200);
      expect(await send(b, secret)).toBe(429);
      expect(sockets.size).toBe(keepAlive ? 1 : 18);
    } finally {
      agent.destroy();
    }
    const failures = (await events('client_auth.failure')).filter((e) => [a, b].includes((e.details as { ip: string }).ip));
    expect(failures.filter((e) => (e.details as { ip: string }).ip === a)).toHaveLength(1);
    expect(failures.filter((e) => (e.details as { ip: string }).ip === b)).toHaveLength(10);
    const locks = (await events('client_auth.throttled')).filter((e) => (e.details as { ip: string }).ip === b);
    expect(locks).toHaveLength(1);
  });

  it('one secret comparison per grant: a wrong secret, another client\'s, one differing only in its last byte or its length are refused, on one connection or several', async () => {
    // The throttle compares the presented secret with the registry's (constant time) and
    // oidc-provider's own check of the same request takes that verdict (oidc/provider.ts,
    // answerSecretFromVerdict): this comparison is the only one left, so each refusal here
    // depends on it.
    const other = 'may-ky-so-khac';
    const otherSecret = (await t.service.clients.add('test', { clientId: other, name: 'Máy ký số khác', grantTypes: ['client_credentials'], scopes: ['certs:read'] })).secret!;
    const last = secret.at(-1) === 'A' ? 'B' : 'A';
    const wrongs = {
      wrong: 'hoan-toan-sai',
      'another client\'s': otherSecret,
      'last byte': secret.slice(0, -1) + last,
      'one byte short': secret.slice(0, -1),
      'one byte longer': `${secret}x`,
    };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (from: string, id: string, s: string, keepAlive: boolean) =>
      new Promise<{ status: number; error?: string }>((resolve, reject) => {
        const body = 'grant_type=client_credentials';
        const req = http.request(
          `${t.url}/oidc/token`,
          { method: 'POST', agent: keepAlive ? agent : false, headers: { authorization: basic(id, s), 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length, 'x-forwarded-for': from } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode!, error: (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: string }).error }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    try {
      let n = 40;
      for (const keepAlive of [true, false]) {
        for (const [what, s] of Object.entries(wrongs)) {
          // Each from its own address (no lock in the way), after the right secret on the same connection.
          const from = `203.0.113.${n++}`;
          expect(await send(from, clientId, secret, keepAlive)).toEqual({ status: 200, error: undefined });
          expect({ what, keepAlive, answer: await send(from, clientId, s, keepAlive) }).toEqual({ what, keepAlive, answer: { status: 401, error: 'invalid_client' } });
          expect(await send(from, clientId, secret, keepAlive)).toEqual({ status: 200, error: undefined });
        }
        // The other client's own secret is its own: admitted for it, and still refused for ours.
        const from = `203.0.113.${n++}`;
        expect((await send(from, other, otherSecret, keepAlive)).status).toBe(200);
        expect((await send(from, clientId, otherSecret, keepAlive)).status).toBe(401);
        expect((await send(from, other, secret, keepAlive)).status).toBe(401);
      }
    } finally {
      agent.destroy();
    }
  });
});
