import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { autofillCeremony, Browser, createOfficial, discover, parseForms, passkeyCeremony, interactionUid } from '../../support/oidc-rp.js';
import { registerSoftPasskey, type SoftAuthenticator } from '../../support/soft-authenticator.js';
import { inRequest } from '../../../oidc/request-memo.js';
import { clearCaches } from '../../../ca/cache-registry.js';
import { lookupKey } from '../../../src/storage/oidc-payload-repository.js';
import { passkeyResumePath } from '../../../src/web/login/passkey-resume.js';

/**
 * Issue 20: the database round trips of one whole passkey login (code + PKCE), request by request,
 * pinned so that a change which adds queries to the login path is seen (docs/performance.md,
 * "Logins"). Only queries made while answering a request count (not the background jobs'). The
 * flow is measured after a first one, so that the client registry's cache is warm.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
const portal = { id: 'cong-dem-truy-van', secret: '', redirect: 'http://127.0.0.1:9/callback' };

beforeAll(async () => {
  t = await startTestService();
  portal.secret = (await t.service.clients.add('test', { clientId: portal.id, name: 'Cổng đếm truy vấn', redirectUris: [portal.redirect], scopes: ['openid', 'profile'], firstParty: true })).secret!;
}, 60_000);

afterAll(async () => {
  await t?.close();
});

/** The request a query belongs to, by method and path (ids replaced). */
let step = '';

/**
 * The portal's authorization request from `address`, up to the login page: the passkey link's
 * options (the challenge the assertion must sign), and `verify`, which sends an assertion with
 * the page's CSRF token as its autofill does.
 */
async function passkeyPage(config: client.Configuration, address: string) {
  const browser = new Browser({ headers: { 'x-forwarded-for': address } });
  const url = client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
  const { page } = await browser.follow(url);
  const link = /<a\b[^>]*data-method="passkey"[^>]*>/.exec(page!.body)![0];
  const options = JSON.parse(/data-options-json="([^"]*)"/.exec(link)![1].replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as { challenge: string };
  const csrf = parseForms(page!.body).find((f) => f.fields.csrf)?.fields.csrf ?? '';
  const uid = interactionUid(page!);
  const verify = (assertion: unknown) => browser.json(new URL(`/interaction/${uid}/passkey/verify`, t.url), assertion, { 'x-csrf-token': csrf });
  // The page script's route: the assertion and the resume in one request (its answer: `{ location }`).
  const verifyAndResume = (assertion: unknown) => browser.json(new URL(passkeyResumePath(uid), t.url), assertion, { 'x-csrf-token': csrf });
  return { browser, options, verify, verifyAndResume, uid };
}
const stepOf = (method: string, url: string | URL) => `${method} ${new URL(url).pathname.replace(/\/[A-Za-z0-9_-]{16,}/g, '/:id')}`;

/** A passkey login from the login page: its autofill (the options it embeds), or its link to the passkey page. */
async function passkeyLogin(config: client.Configuration, passkey: SoftAuthenticator, address: string, via: 'autofill' | 'link', redeem = true): Promise<{ callback: URL; verifier: string; nonce: string }> {
  const browser = new Browser({ headers: { 'x-forwarded-for': address } });
  const get = browser.get.bind(browser);
  browser.get = (url, headers) => ((step = stepOf('GET', url)), get(url, headers));
  const json = browser.json.bind(browser);
  browser.json = (url, body, headers) => ((step = stepOf('POST', url)), json(url, body, headers));
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', nonce });
  const { page: login } = await browser.follow(url);
  let next;
  if (via === 'autofill') next = await autofillCeremony(browser, login!, passkey);
  else {
    const link = /<a\b[^>]*data-method="passkey"[^>]*>/.exec(login!.body)![0];
    const page = await browser.get(new URL(/href="([^"]+)"/.exec(link)![1].replace(/&amp;/g, '&'), login!.url));
    const button = /<button\b[^>]*data-passkey-login[^>]*>/.exec(page.body)![0];
    next = await passkeyCeremony(browser, page, button, passkey);
  }
  const { stoppedAt } = await browser.follow(next, portal.redirect);
  if (!redeem) return { callback: stoppedAt!, verifier, nonce };
  step = 'POST /oidc/token';
  const tokens = await client.authorizationCodeGrant(config, stoppedAt!, { pkceCodeVerifier: verifier, expectedNonce: nonce, idTokenExpected: true });
  expect(tokens.claims()?.amr).toEqual(['hwk', 'user', 'mfa']);
  step = '';
  return { callback: stoppedAt!, verifier, nonce };
}

/** The queries of the second of two logins (the first warms the client registry's cache), per request. */
async function countQueries(via: 'autofill' | 'link', addresses: [string, string]): Promise<{ total: number; clientAuth: number; perRequest: Record<string, number> }> {
  const official = await createOfficial(t);
  const passkey = await registerSoftPasskey(t.service.passkeys as never, official.account);
  const config = await discover(t.url, portal.id, portal.secret);
  const counts = new Map<string, number>();
  let leases = 0;
  const count = (q: { sql: string }) => {
    if (!inRequest() || !step) return;
    // A transaction's BEGIN and COMMIT are round trips too; PGlite's driver reports them alike.
    counts.set(step, (counts.get(step) ?? 0) + 1);
    if (step === 'POST /oidc/token' && q.sql.includes('login_throttle')) leases++;
  };
  await passkeyLogin(config, passkey, addresses[0], via);
  t.service.db.knex.on('query', count);
  try {
    await passkeyLogin(config, passkey, addresses[1], via);
  } finally {
    t.service.db.knex.off('query', count);
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  // The portal's client authentication: its throttle leases (the client's key and the client's at
  // this address) taken or renewed, one statement each, or none while the warm-up login's still
  // run (2 s, docs/security.md): which depends on the time between the logins.
  const clientAuth = leases;
  expect([0, 1, 2]).toContain(clientAuth);
  return { total, clientAuth, perRequest: Object.fromEntries(counts) };
}

describe(`queries of a passkey login (${db})`, () => {
  it('through the login page’s autofill (the options it embeds): three requests, the pinned number of queries each', async () => {
    const { total, clientAuth, perRequest } = await countQueries('autofill', ['10.20.0.1', '10.20.0.2']);
    expect({ total, perRequest }).toEqual({
      total: 4 + clientAuth,
      perRequest: {
        // the interaction stored, and the login page in the same answer (fourteenth pass: no
        // redirect to /interaction/<uid>, whose read of the interaction is gone with it); the
        // autofill's challenge is sealed (bound to the interaction, expiring), not stored: the
        // script goes from the page to the authenticator without a call
        'GET /oidc/auth': 1,
        // The assertion, posted under the resume's address, and the resume in the same request
        // (twelfth pass): the interaction named by the resume cookie, as this node stored it
        // (sixteenth pass: not read back, oidc/kept-interactions.ts; the accepting statement
        // writes only if the stored one is still exactly that); the passkey is held by this
        // node since the first login (its fixed facts; the first assertion of a passkey on a node
        // reads it, one statement more); the interaction's guard, the challenge's spent marker, the counter checked and
        // advanced and the audit event (the chain's append function: lock, head, insert), the
        // interaction's result (stored only if the counter advanced) and the passkey's account
        // read, in one statement; then oidc-provider's resume, which finds the interaction as that
        // statement wrote it and the account as it read it (thirteenth pass: no read of its own),
        // the interaction ended and session, grant and code stored in one statement (the request's
        // held writes, before the answer: written only if this statement ended the interaction)
        'POST /oidc/auth/:id/passkey': 2,
        // (client auth); the code consumed and the access token stored in one statement (only
        // if it consumed the code, unexpired, its session, grant and account still live): the
        // code, its grant, session and account as the resume stored them on this node, not read
        // back (sixteenth pass: oidc/issued-codes.ts)
        'POST /oidc/token': 1 + clientAuth,
      },
    });
  }, 60_000);

  it('through the passkey page (the login page’s link): four requests, the pinned number of queries each', async () => {
    const { total, clientAuth, perRequest } = await countQueries('link', ['10.20.0.3', '10.20.0.4']);
    expect({ total, perRequest }).toEqual({
      total: 5 + clientAuth,
      perRequest: {
        'GET /oidc/auth': 1, // as above: the interaction stored, the login page in its answer
        // the interaction read, a sealed challenge of its own: the page embeds the ceremony's
        // options, so the script makes no options call (POST …/passkey/options is only for a retry)
        'GET /interaction/:id/passkey': 1,
        'POST /oidc/auth/:id/passkey': 2, // as above
        'POST /oidc/token': 1 + clientAuth,
      },
    });
  }, 60_000);

  it('the code taken as this node stored it, not read: a replayed code is refused, and so is a code whose session ended on another node', async () => {
    const official = await createOfficial(t);
    const passkey = await registerSoftPasskey(t.service.passkeys as never, official.account);
    const config = await discover(t.url, portal.id, portal.secret);
    // Replayed: the second redemption of one code is refused (RFC 6749 §4.1.2).
    const first = await passkeyLogin(config, passkey, '10.20.0.5', 'autofill', false);
    const redeem = (l: { callback: URL; verifier: string; nonce: string }) => client.authorizationCodeGrant(config, l.callback, { pkceCodeVerifier: l.verifier, expectedNonce: l.nonce, idTokenExpected: true });
    expect((await redeem(first)).claims()?.sub).toBeTruthy();
    await expect(redeem(first)).rejects.toMatchObject({ error: 'invalid_grant' });
    // A parallel burst of one code: exactly one redemption is answered with tokens.
    const burst = await passkeyLogin(config, passkey, '10.20.0.6', 'autofill', false);
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => redeem(burst)));
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected').every((o) => (o as PromiseRejectedResult).reason.error === 'invalid_grant')).toBe(true);
    // What the code gave is revoked (RFC 6749 §4.1.2): the grant ended, its access token is refused.
    const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof redeem>>>).value;
    await expect(client.fetchUserInfo(config, winner.access_token, winner.claims()!.sub)).rejects.toBeTruthy();
    // The session ended (a logout answered by another node deletes its row): the code, bound to
    // the session (no offline_access), is refused although it is unused and unexpired.
    const orphan = await passkeyLogin(config, passkey, '10.20.0.7', 'autofill', false);
    const sessions = () => t.service.db.knex('oidc_payloads').where({ model: 'Session', account_id: official.account.id });
    expect((await sessions().select('id')).length).toBeGreaterThan(0);
    await sessions().del();
    expect(await sessions().select('id')).toEqual([]);
    await expect(redeem(orphan)).rejects.toMatchObject({ error: 'invalid_grant' });
  }, 60_000);

  it('a code kept by this node is refused when, since the login, another node withdrew its grant, disabled its account, expired it or gave its session to another login', async () => {
    const official = await createOfficial(t);
    const passkey = await registerSoftPasskey(t.service.passkeys as never, official.account);
    const config = await discover(t.url, portal.id, portal.secret);
    const redeem = (l: { callback: URL; verifier: string; nonce: string }) => client.authorizationCodeGrant(config, l.callback, { pkceCodeVerifier: l.verifier, expectedNonce: l.nonce, idTokenExpected: true });
    const rows = (model: string) => t.service.db.knex('oidc_payloads').where({ model, account_id: official.account.id });
    const codeRow = (l: { callback: URL }) => t.service.db.knex('oidc_payloads').where({ model: 'AuthorizationCode', id: lookupKey(l.callback.searchParams.get('code')!) });
    const refused = async (change: (login: { callback: URL }) => Promise<unknown>, address: string) => {
      const login = await passkeyLogin(config, passkey, address, 'autofill', false);
      await change(login);
      await expect(redeem(login)).rejects.toMatchObject({ error: 'invalid_grant' });
      // Nothing was issued on it: the code is still unconsumed.
      expect((await codeRow(login).first<{ consumed_at: unknown }>())?.consumed_at ?? null).toBeNull();
    };
    // The grant withdrawn (the account page's "withdraw", on another node: its row deleted).
    await refused(() => rows('Grant').del(), '10.20.4.1');
    // The account disabled (its status, as another node's administrator set it).
    await refused(() => t.service.db.knex('accounts').where({ id: official.account.id }).update({ status: 'disabled' }), '10.20.4.2');
    await t.service.db.knex('accounts').where({ id: official.account.id }).update({ status: 'active' });
    // The code expired (its row's expiry passed: this node's copy of it is not believed).
    await refused((login) => codeRow(login).update({ expires_at: new Date(Date.now() - 1000) }), '10.20.4.3');
    // The login's session now holds another grant for this portal (a later login in that browser).
    await refused(async (login) => {
      const code = await codeRow(login).first<{ payload: Record<string, unknown> | string }>();
      const sessionUid = (typeof code!.payload === 'string' ? JSON.parse(code!.payload) : code!.payload).sessionUid as string;
      const session = await t.service.db.knex('oidc_payloads').where({ model: 'Session', uid: sessionUid }).first<{ id: string; payload: Record<string, unknown> | string }>();
      const payload = typeof session!.payload === 'string' ? (JSON.parse(session!.payload) as Record<string, unknown>) : session!.payload;
      (payload.authorizations as Record<string, { grantId: string }>)[portal.id].grantId = 'another-grant';
      await t.service.db.knex('oidc_payloads').where({ model: 'Session', id: session!.id }).update({ payload: JSON.stringify(payload) });
    }, '10.20.4.4');
    // And without any of these, the same login redeems (the checks above refused for their reason).
    const fine = await passkeyLogin(config, passkey, '10.20.4.5', 'autofill', false);
    expect((await redeem(fine)).claims()?.sub).toBe(official.account.id);
  }, 60_000);
  it('the interaction’s result is stored with the accepted assertion only: a regressed counter, a spent challenge or a burst of one assertion store none beyond the one accepted', async () => {
    const official = await createOfficial(t);
    const passkey = await registerSoftPasskey(t.service.passkeys as never, official.account);
    const config = await discover(t.url, portal.id, portal.secret);
    /** A login page and what its autofill sends (the assertion not yet made). */
    const start = (address: string) => passkeyPage(config, address);
    const resultOf = async (uid: string) => {
      const row = (await t.service.db.knex('oidc_payloads').where({ model: 'Interaction', id: lookupKey(uid) }).first('payload')) as { payload: unknown } | undefined;
      const payload = (typeof row?.payload === 'string' ? JSON.parse(row.payload) : row?.payload) as { result?: unknown } | undefined;
      return payload?.result;
    };
    const successes = async () => (await t.service.audit.list({ action: 'login.success', target: `account:${official.account.id}`, limit: 100 })).length;

    // A counter that goes backwards: refused (403, audited), no result stored.
    const first = await start('10.20.1.1');
    expect((await first.verify(passkey.get(first.options, { counter: 10 }))).status).toBe(200);
    const regressed = await start('10.20.1.2');
    expect((await regressed.verify(passkey.get(regressed.options, { counter: 5 }))).status).toBe(403);
    expect(await resultOf(regressed.uid)).toBeUndefined();

    // The challenge spent before (the same assertion sent twice): the second is refused and the
    // interaction keeps the first's result, unchanged.
    const spent = await start('10.20.1.3');
    const assertion = passkey.get(spent.options, { counter: 20 });
    expect((await spent.verify(assertion)).status).toBe(200);
    const stored = await resultOf(spent.uid);
    expect(stored).toMatchObject({ login: { accountId: official.account.id } });
    expect((await spent.verify(assertion)).status).toBe(401);
    expect(await resultOf(spent.uid)).toEqual(stored);

    // A parallel burst of one assertion: one accepted, one login.success, one result.
    const burst = await start('10.20.1.4');
    const before = await successes();
    const one = passkey.get(burst.options, { counter: 30 });
    const statuses = (await Promise.all(Array.from({ length: 6 }, () => burst.verify(one)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(await successes()).toBe(before + 1);
    expect(await resultOf(burst.uid)).toMatchObject({ login: { accountId: official.account.id, amr: ['hwk', 'user', 'mfa'] } });
  }, 60_000);

  it('the assertion is accepted only on the interaction as it was read: ended, changed or expired since (on another node), it is refused and nothing is written', async () => {
    const official = await createOfficial(t);
    const passkey = await registerSoftPasskey(t.service.passkeys as never, official.account);
    const config = await discover(t.url, portal.id, portal.secret);
    const interaction = (uid: string) => t.service.db.knex('oidc_payloads').where({ model: 'Interaction', id: lookupKey(uid) });
    const payloadOf = async (uid: string) => {
      const row = await interaction(uid).first<{ payload: Record<string, unknown> | string }>();
      return (typeof row!.payload === 'string' ? JSON.parse(row!.payload) : row!.payload) as Record<string, unknown>;
    };
    const successes = async () => (await t.service.audit.list({ action: 'login.success', target: `account:${official.account.id}`, limit: 100 })).length;
    const counter = async () => Number((await t.service.db.knex('passkeys').where({ account_id: official.account.id }).first<{ counter: string | number }>('counter'))!.counter);
    const refused = async (address: string, change: (uid: string) => Promise<unknown>, counterValue: number) => {
      const page = await passkeyPage(config, address);
      await change(page.uid);
      const [before, counted] = [await successes(), await counter()];
      const answer = await page.verifyAndResume(passkey.get(page.options, { counter: counterValue }));
      expect({ status: answer.status, detail: answer.body.detail }).toEqual({ status: 400, detail: 'the sign-in session expired: go back to the portal and sign in again' });
      // Nothing of the login: no event, the counter as it was, no code (no session of the account from it).
      expect([await successes(), await counter()]).toEqual([before, counted]);
      return page;
    };
    // Ended on another node (its resume deleted the row): not brought back by the login's result.
    const ended = await refused('10.20.5.1', (uid) => interaction(uid).del(), 100);
    expect(await interaction(ended.uid).first()).toBeUndefined();
    // Changed on another node (another login's result stored on it): that result stays.
    const other = { login: { accountId: 'another-account', acr: 'urn:tinnhiem:acr:low', amr: ['pwd'] } };
    const changed = await refused('10.20.5.2', async (uid) => interaction(uid).update({ payload: JSON.stringify({ ...(await payloadOf(uid)), result: other }) }), 101);
    expect((await payloadOf(changed.uid)).result).toEqual(other);
    // Expired (its row's expiry passed), though this node's copy of it has not.
    await refused('10.20.5.3', (uid) => interaction(uid).update({ expires_at: new Date(Date.now() - 1000) }), 102);
    // The same with the interaction read from the database (this node's copies emptied: stored by
    // another node): accepted when unchanged, refused when ended.
    clearCaches(['kept interactions']);
    const unchanged = await passkeyPage(config, '10.20.5.4');
    clearCaches(['kept interactions']);
    expect((await unchanged.verifyAndResume(passkey.get(unchanged.options, { counter: 103 }))).status).toBe(200);
    await refused('10.20.5.5', async (uid) => {
      clearCaches(['kept interactions']);
      await interaction(uid).del();
    }, 104);
    // The interaction's own address (`…/passkey/verify`, for pages served before the resume's)
    // guards it alike: changed since its page, another login's result stays.
    const old = await passkeyPage(config, '10.20.5.6');
    await interaction(old.uid).update({ payload: JSON.stringify({ ...(await payloadOf(old.uid)), result: other }) });
    expect((await old.verify(passkey.get(old.options, { counter: 105 }))).status).toBe(400);
    expect((await payloadOf(old.uid)).result).toEqual(other);
  }, 60_000);
});

describe(`the resume's account, read with its interaction (${db})`, () => {
  // Since the eighth pass the resume reads the account with the interaction, in one query
  // (docs/performance.md, "Passkey login, eighth pass"): the account it reads must be the one as
  // it is at the resume, not as it was at the assertion.
  it('an account disabled between the assertion and the resume (its status set by SQL, as another node would): no code for the portal', async () => {
    const official = await createOfficial(t);
    const passkey = await registerSoftPasskey(t.service.passkeys as never, official.account);
    const config = await discover(t.url, portal.id, portal.secret);
    const login = async (address: string, between: () => Promise<unknown>) => {
      const { browser, options, verify } = await passkeyPage(config, address);
      const verified = await verify(passkey.get(options));
      expect(verified.status).toBe(200);
      await between();
      const { stoppedAt } = await browser.follow(new URL(String(verified.body.location), t.url), portal.redirect);
      return stoppedAt?.searchParams.get('code') ?? null;
    };
    // The control: active, the resume gives the portal a code.
    expect(await login('10.20.2.1', async () => undefined)).toEqual(expect.any(String));
    // Disabled after the assertion was accepted: the resume gives none.
    expect(await login('10.20.2.2', () => t.service.db.knex('accounts').where({ id: official.account.id }).update({ status: 'disabled' }))).toBeNull();
  }, 60_000);

  it('the assertion and the resume in one request: the resume takes the account as the accepting statement read it, so an account disabled before the assertion (by SQL, as another node would) gets no code', async () => {
    const official = await createOfficial(t);
    const passkey = await registerSoftPasskey(t.service.passkeys as never, official.account);
    const config = await discover(t.url, portal.id, portal.secret);
    const login = async (address: string, before: () => Promise<unknown>) => {
      const { options, verifyAndResume } = await passkeyPage(config, address);
      const assertion = passkey.get(options);
      await before();
      const answer = await verifyAndResume(assertion);
      expect(answer.status).toBe(200);
      const location = new URL(String(answer.body.location), t.url);
      return location.href.startsWith(portal.redirect) ? location.searchParams.get('code') : null;
    };
    // The control: active, the portal gets a code from the assertion's answer.
    expect(await login('10.20.3.1', async () => undefined)).toEqual(expect.any(String));
    // Disabled once the login page was served, before the assertion: the passkey is still held by
    // this node, the assertion verifies and is accepted, but its statement reads the account as it
    // now is, and the resume gives the portal no code.
    expect(await login('10.20.3.2', () => t.service.db.knex('accounts').where({ id: official.account.id }).update({ status: 'disabled' }))).toBeNull();
  }, 60_000);
});
