/**
 * Issue 21, faults: the database dropped, then recreated empty (a restore gone wrong, a failover
 * to a blank replica). Every front end says "temporarily unavailable, come back" rather than 500:
 * the API 503 problem+json with Retry-After, the token endpoint 503 with Retry-After and an OAuth
 * error body, the authorization endpoint redirects with `temporarily_unavailable`; CRLs and CA
 * certificates are still served, from the last published copy; /readyz is 503, also once the
 * empty database answers again (its migrations are read at every check, not cached).
 *
 * The test brings its own PostgreSQL cluster (test/support/private-postgres.ts): it drops a
 * database, which no test may do to the shared server's.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { apiClient } from '../../support/ca-helpers.js';
import { describeWithPrivatePostgres, startPrivatePostgres, type PrivatePostgres } from '../../support/private-postgres.js';
import { startTestService, type TestService } from '../../support/test-app.js';
import { createPostgresDatabase, type TestDatabase } from '../../support/test-db.js';

let pg: PrivatePostgres;
let database: TestDatabase;
let t: TestService;
let reader: Awaited<ReturnType<typeof apiClient>>;
let tokenAuth: string;
let crlPath: string;
let caPath: string;
const published = new Map<string, Buffer>();
const redirectUri = 'https://portal.example.gov.vn/callback';

const authorizationUrl = () => {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return `${t.url}/oidc/auth?${new URLSearchParams({ client_id: 'dropped-portal', redirect_uri: redirectUri, response_type: 'code', scope: 'openid', state: 'st-1', code_challenge: challenge, code_challenge_method: 'S256' })}`;
};

const token = () =>
  fetch(`${t.url}/oidc/token`, {
    method: 'POST',
    headers: { authorization: tokenAuth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'certs:read' }),
  });

async function admin<T>(work: (k: ReturnType<typeof knexFactory>) => Promise<T>): Promise<T> {
  const k = knexFactory({ client: 'pg', connection: pg.adminUrl, pool: { min: 0, max: 1 } });
  try {
    return await work(k);
  } finally {
    await k.destroy();
  }
}

/** What every front end must answer while the database is missing or empty. */
async function expectUnavailable(phase: string) {
  const api = await fetch(`${t.url}/api/v1/certificates`, { headers: { authorization: `Bearer ${reader.token}` } });
  expect({ phase, status: api.status, type: api.headers.get('content-type') }).toEqual({ phase, status: 503, type: expect.stringMatching(/application\/problem\+json/) });
  expect(api.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(((await api.json()) as { type: string }).type).toBe('urn:tinnhiem:problem:unavailable');

  const tokenRes = await token();
  expect({ phase, status: tokenRes.status }).toEqual({ phase, status: 503 });
  expect(tokenRes.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(await tokenRes.json()).toMatchObject({ error: 'temporarily_unavailable' });

  const auth = await fetch(authorizationUrl(), { redirect: 'manual' });
  expect({ phase, status: auth.status }).toEqual({ phase, status: 303 });
  const location = new URL(auth.headers.get('location')!);
  expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
  expect(Object.fromEntries(location.searchParams)).toMatchObject({ error: 'temporarily_unavailable', state: 'st-1' });

  for (const path of [crlPath, caPath]) {
    const res = await fetch(`${t.url}${path}`);
    expect({ phase, path, status: res.status }).toEqual({ phase, path, status: 200 });
    expect(Buffer.from(await res.arrayBuffer()).equals(published.get(path)!)).toBe(true);
  }
  const ready = await fetch(`${t.url}/readyz`);
  expect({ phase, status: ready.status }).toEqual({ phase, status: 503 });
  return ready;
}

describeWithPrivatePostgres()('the database dropped, then recreated empty', () => {
  beforeAll(async () => {
    pg = await startPrivatePostgres();
    database = await createPostgresDatabase(pg.adminUrl, { acquireTimeoutMs: 3_000, queryTimeoutMs: 5_000 });
    await database.close();
    t = await startTestService({ database });
    reader = await apiClient(t, 'dropped-reader', ['certs:read']);
    const { secret } = await t.service.clients.add('test', { clientId: 'dropped-token', name: 'dropped-token', grantTypes: ['client_credentials'], authMethod: 'client_secret_basic', scopes: ['certs:read'] });
    tokenAuth = `Basic ${Buffer.from(`dropped-token:${secret}`).toString('base64')}`;
    await t.service.clients.add('test', { clientId: 'dropped-portal', name: 'dropped-portal', redirectUris: [redirectUri], grantTypes: ['authorization_code'], scopes: ['openid'], firstParty: true });
    const issuing = (await t.service.certificates.ca.issuers()).find((i) => i.role === 'issuing')!;
    crlPath = `/crl/${issuing.id}.crl`;
    caPath = `/ca/${issuing.id}.crt`;
  });

  afterAll(async () => {
    await t?.close();
    await database?.destroy().catch(() => undefined);
    await pg?.destroy();
  });

  it('answers 503 / temporarily_unavailable everywhere, serves the published PKI copies, and is not ready', async () => {
    // Before: everything answers; the CRL and CA certificate are published (served once).
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    expect((await token()).status).toBe(200);
    const before = await fetch(authorizationUrl(), { redirect: 'manual' });
    // The login page, as the authorization endpoint's own answer (its form posts under /interaction/).
    expect(before.status).toBe(200);
    expect(await before.text()).toMatch(/action="\/interaction\/[^/"]+\/login"/);
    for (const path of [crlPath, caPath]) {
      const res = await fetch(`${t.url}${path}`);
      expect(res.status).toBe(200);
      published.set(path, Buffer.from(await res.arrayBuffer()));
    }

    const name = new URL((database.target as { url: string }).url).pathname.slice(1);
    await admin((k) => k.raw(`DROP DATABASE ${name} WITH (FORCE)`));
    // A client whose right secret holds a throttle lease is admitted from memory until the lease
    // ends (2 s, docs/security.md); after it, the token endpoint needs the database like the rest.
    await new Promise((r) => setTimeout(r, 2_100));
    await expectUnavailable('dropped');

    await admin((k) => k.raw(`CREATE DATABASE ${name}`));
    const ready = await expectUnavailable('recreated empty');
    // The migration check is read again, not the answer cached when the schema was current.
    expect(((await ready.json()) as { failing: string[] }).failing).toContain('migrations');
    // Nothing was created in the empty database behind the operator's back.
    const tables = await admin(async () => {
      const k = knexFactory({ client: 'pg', connection: (database.target as { url: string }).url, pool: { min: 0, max: 1 } });
      try {
        return ((await k.raw(`select count(*)::int as n from pg_tables where schemaname = 'public'`)) as { rows: Array<{ n: number }> }).rows[0].n;
      } finally {
        await k.destroy();
      }
    });
    expect(tables).toBe(0);
  });
});
