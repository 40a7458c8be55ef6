import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../../support/test-db.js';
import { Browser, createOfficial, discover, parseForms } from '../../support/oidc-rp.js';
import { registerSoftPasskey } from '../../support/soft-authenticator.js';
import { roundRobinProxy, type RoundRobinProxy } from '../../support/test-servers.js';

/**
 * Issue 20 (docs/performance.md, "Logins, seventh pass"): a login's resume ends its interaction in
 * the statement that stores the session, grant and code, which writes them only if it deleted the
 * interaction. The attack it must stop: one interaction's resume replayed in a parallel burst (the
 * browser's cookies copied), here on one node and, on PostgreSQL, across two nodes: exactly one
 * resume is answered with a code, the others with an error and no redirect; the winner's code
 * redeems, the interaction is gone, and a resume replayed afterwards is refused.
 */
const db = usingPostgres() ? 'PostgreSQL' : 'embedded';
const redirect = 'http://127.0.0.1:9/resume-burst/callback';

/** A passkey login up to its resume: the resume's URL and the browser's cookies, not yet requested. */
async function upToResume(base: string, t: TestService, config: client.Configuration, address: string) {
  const official = await createOfficial(t);
  const passkey = await registerSoftPasskey(t.service.passkeys as never, official.account);
  const browser = new Browser({ headers: { 'x-forwarded-for': address } });
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: redirect, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', nonce });
  const { page: login } = await browser.follow(url);
  const link = /<a\b[^>]*data-method="passkey"[^>]*>/.exec(login!.body)![0];
  const embedded = /data-options-json="([^"]*)"/.exec(link)![1].replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  const href = /href="([^"]+)"/.exec(link)![1].replace(/&amp;/g, '&');
  const csrf = parseForms(login!.body).find((f) => f.fields.csrf)?.fields.csrf ?? '';
  const target = new URL(href, login!.url);
  const verified = await browser.json(new URL(`${target.pathname}/verify`, target), passkey.get(JSON.parse(embedded) as { challenge: string }), { 'x-csrf-token': csrf });
  expect(verified.status).toBe(200);
  const resume = new URL(String(verified.body.location), base);
  return { resume, cookie: browser.jar.header(resume)!, verifier, nonce, address, accountId: official.account.id };
}

/** `n` requests of one resume at once, with the same cookies (as a copied browser would send them). */
async function burst(resume: URL, cookie: string, address: string, n: number) {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const res = await fetch(resume, { redirect: 'manual', headers: { cookie, 'x-forwarded-for': address, 'accept-language': 'vi' } });
      await res.text();
      return { status: res.status, location: res.headers.get('location') };
    }),
  );
}

async function checkOneWinner(outcomes: Array<{ status: number; location: string | null }>, config: client.Configuration, login: { verifier: string; nonce: string; accountId: string }) {
  const coded = outcomes.filter((o) => o.location?.startsWith(redirect) && new URL(o.location).searchParams.has('code'));
  expect(coded).toHaveLength(1);
  // The others: an error page or problem document, never a redirect (a code not stored must not leave).
  for (const o of outcomes.filter((x) => x !== coded[0])) {
    expect(o.status).toBeGreaterThanOrEqual(400);
    expect(o.location).toBeNull();
  }
  const tokens = await client.authorizationCodeGrant(config, new URL(coded[0].location!), { pkceCodeVerifier: login.verifier, expectedNonce: login.nonce, idTokenExpected: true });
  expect(tokens.claims()?.sub).toBe(login.accountId);
}

describe(`a login's resume replayed in a parallel burst (${db})`, () => {
  let t: TestService;
  let config: client.Configuration;
  beforeAll(async () => {
    t = await startTestService();
    const { secret } = await t.service.clients.add('test', { clientId: 'resume-burst', name: 'Cổng thử tiếp tục', redirectUris: [redirect], scopes: ['openid', 'profile'], firstParty: true });
    config = await discover(t.url, 'resume-burst', secret!);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('one node: exactly one resume of six gives a code, the interaction is ended, a later replay is refused', async () => {
    const login = await upToResume(t.url, t, config, '10.40.0.1');
    const outcomes = await burst(login.resume, login.cookie, login.address, 6);
    await checkOneWinner(outcomes, config, login);
    const interactions = await t.service.db.knex('oidc_payloads').where({ model: 'Interaction', uid: login.resume.pathname.split('/').pop() }).select('id');
    expect(interactions).toEqual([]);
    const [late] = await burst(login.resume, login.cookie, login.address, 1);
    expect(late.status).toBeGreaterThanOrEqual(400);
    expect(late.location).toBeNull();
    // No session, grant or code of the losers was stored: the account has one session and one grant.
    const rows = await t.service.db.knex('oidc_payloads').where({ account_id: login.accountId }).whereIn('model', ['Session', 'Grant']).select('model');
    expect(rows.map((r: { model: string }) => r.model).sort()).toEqual(['Grant', 'Session']);
  }, 60_000);

  it('a resume replayed in turn is refused (the interaction ended with the first)', async () => {
    const login = await upToResume(t.url, t, config, '10.40.0.2');
    const [first] = await burst(login.resume, login.cookie, login.address, 1);
    expect(first.location?.startsWith(redirect)).toBe(true);
    const [again] = await burst(login.resume, login.cookie, login.address, 1);
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(again.location).toBeNull();
  }, 60_000);
});

// Reason: two nodes need one shared database; the embedded one serves a single process.
if (!usingPostgres()) process.stderr.write('skipping the two-node resume burst: set DATABASE_URL to run it on PostgreSQL\n');
(usingPostgres() ? describe : describe.skip)('a resume burst across two nodes (PostgreSQL only)', () => {
  let proxy: RoundRobinProxy;
  let database: TestDatabase;
  const nodes: TestService[] = [];
  beforeAll(async () => {
    proxy = await roundRobinProxy();
    database = await createTestDatabase();
    for (let i = 0; i < 2; i++) nodes.push(await startTestService({ database, publicUrl: proxy.url }));
    proxy.setTargets(nodes.map((n) => n.url));
  }, 120_000);
  afterAll(async () => {
    for (const node of nodes) await node.close();
    await proxy?.close();
    await database?.destroy();
  });

  it('six resumes of one interaction through both nodes: exactly one code', async () => {
    const { secret } = await nodes[0].service.clients.add('test', { clientId: 'resume-burst-2', name: 'Cổng thử cụm máy', redirectUris: [redirect], scopes: ['openid', 'profile'], firstParty: true });
    const config = await discover(proxy.url, 'resume-burst-2', secret!);
    const login = await upToResume(proxy.url, nodes[1], config, '10.40.1.1');
    const outcomes = await burst(login.resume, login.cookie, login.address, 6);
    expect(new Set(proxy.served.filter((s) => s.path.startsWith('/oidc/auth/')).map((s) => s.node))).toEqual(new Set([0, 1]));
    await checkOneWinner(outcomes, config, login);
  }, 60_000);
});
