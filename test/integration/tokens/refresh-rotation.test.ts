import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, codeLogin, createOfficial, discover } from '../../support/oidc-rp.js';
import { inRequest } from '../../../oidc/request-memo.js';
import { AccountRepository } from '../../../src/storage/account-repository.js';
import { OidcPayloadRepository, lookupKey } from '../../../src/storage/oidc-payload-repository.js';

/**
 * Issue 20: a refresh token's rotation in fewer round trips (docs/performance.md, "Token
 * endpoint"), with replay detection kept: the used token is consumed and the rotated one stored in
 * one statement, only if nobody consumed it first, so a replay that races the first use ends the
 * grant as a later replay does.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let config: client.Configuration;
let official: Awaited<ReturnType<typeof createOfficial>>;
const redirect = 'http://127.0.0.1:9/xoay-vong/cb';

beforeAll(async () => {
  t = await startTestService();
  const portal = await t.service.clients.add('test', { clientId: 'xoay-vong', name: 'Xoay vòng', redirectUris: [redirect], scopes: ['openid', 'profile', 'offline_access', 'certs:read'], firstParty: true });
  config = await discover(t.url, 'xoay-vong', portal.secret!);
  official = await createOfficial(t);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const login = async () => (await codeLogin(config, new Browser(), redirect, official, { scope: 'openid offline_access', prompt: 'consent' })).tokens;
/** A login for the API: its access tokens are JWTs, of which the database keeps no row. */
const apiLogin = async () => {
  const resource = `${t.url}/api`;
  return (await codeLogin(config, new Browser(), redirect, official, { scope: 'openid offline_access certs:read', resource, prompt: 'consent' }, { resource })).tokens;
};
const active = async (token: string) => (await client.tokenIntrospection(config, token)).active;

describe(`refresh token rotation (${db})`, () => {
  it('a refresh makes two statements: the token with its grant and account, the rotation (grant and account checked live) with the access token', async () => {
    const tokens = await login();
    const first = await client.refreshTokenGrant(config, tokens.refresh_token!);
    const queries: Array<{ name?: string; sql: string }> = [];
    const count = (q: { sql: string; options?: { name?: string } }) => {
      if (inRequest()) queries.push({ name: q.options?.name, sql: q.sql });
    };
    t.service.db.knex.on('query', count);
    let second: client.TokenEndpointResponse;
    try {
      second = await client.refreshTokenGrant(config, first.refresh_token!);
    } finally {
      t.service.db.knex.off('query', count);
    }
    // Pinned (docs/performance.md, "Refresh, sixth pass"): the token with its grant, session and
    // account in one query, then the rotation (the grant and the account checked live at commit,
    // the used token consumed, the new one and the opaque access token stored) in one statement.
    const payloadStatements = queries.filter((q) => /oidc_payloads/.test(q.sql)).map((q) => q.name);
    expect(payloadStatements).toEqual(['tinnhiem_find_with_grant', 'tinnhiem_consume_and_store_live']);
    // Beside them only the client's throttle lease (docs/security.md), taken or renewed: none, one, or
    // both on a slow machine (a lease taken at the request's start can be due for renewal by its end).
    const others = queries.filter((q) => !/oidc_payloads/.test(q.sql));
    expect(others.every((q) => /login_throttle/.test(q.sql))).toBe(true);
    expect(others.length).toBeLessThanOrEqual(2);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(await active(first.refresh_token!)).toBe(false);
    expect(await active(second.refresh_token!)).toBe(true);
    // The used one, presented again, ends the grant: the newest token goes with it.
    await expect(client.refreshTokenGrant(config, first.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await active(second.refresh_token!)).toBe(false);
    // The whole family (RFC 9700 §4.14.2): the newest access token too, and the newest refresh token is refused.
    expect(await active(second.access_token)).toBe(false);
    await expect(client.refreshTokenGrant(config, second.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it.each([
    ['an opaque access token', login, {}],
    ['an API JWT', apiLogin, { resource: 'api' }],
  ])('a replay concurrent with the first use ends the grant: no token issued from it stays usable (%s)', async (_kind, loginFor, parameters) => {
    const tokens = await loginFor();
    const extra = 'resource' in parameters ? { resource: `${t.url}/api` } : undefined;
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => client.refreshTokenGrant(config, tokens.refresh_token!, extra)));
    const issued = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<client.TokenEndpointResponse>).value);
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as { error?: string });
    // Exactly one of the six consumes it (the statement's `consumed_at IS NULL`, re-checked after a
    // concurrent consumption commits); the others are refused and end the grant (RFC 9700 §4.14.2).
    expect(issued).toHaveLength(1);
    expect(refused).toHaveLength(5);
    for (const reason of refused) expect(reason.error).toBe('invalid_grant');
    for (const response of issued) {
      expect(await active(response.refresh_token!)).toBe(false);
      await expect(client.refreshTokenGrant(config, response.refresh_token!, extra)).rejects.toMatchObject({ error: 'invalid_grant' });
    }
    expect(await active(tokens.refresh_token!)).toBe(false);
  });

  it('the account read with the token is the account as findById reads it; none when absent; not read for an id that is not a UUID', async () => {
    const tokens = await login();
    const knex = t.service.db.knex;
    const payloads = new OidcPayloadRepository(knex);
    const accounts = new AccountRepository(knex, { now: () => new Date() });
    // Every column an account has, set (the claims of an ID token come from them).
    await knex('accounts').where({ id: official.account.id }).update({ phone: '0912345678', attributes: JSON.stringify({ phoneVerified: true, taxCode: '1800000000' }), updated_at: new Date('2026-12-05T01:02:03.456789Z') });
    const found = await payloads.findWithGrant('RefreshToken', tokens.refresh_token!, new Date());
    expect(found.payload).toMatchObject({ accountId: official.account.id, jti: tokens.refresh_token });
    expect(found.grant).toMatchObject({ accountId: official.account.id });
    expect(found.account).toEqual(await accounts.findById(official.account.id));
    expect(found.account).not.toHaveProperty('passwordHash');
    expect(found.account?.updatedAt.toISOString()).toBe('2026-12-05T01:02:03.456Z');

    // A token naming an account that does not exist: null (the provider refuses it), and one
    // naming an id that is not a UUID: not read (the adapter leaves it to findById).
    const key = lookupKey(tokens.refresh_token!);
    const row = await knex('oidc_payloads').where({ model: 'RefreshToken', id: key }).first<{ payload: unknown }>('payload');
    const payload = typeof row!.payload === 'string' ? (JSON.parse(row!.payload) as Record<string, unknown>) : (row!.payload as Record<string, unknown>);
    for (const [accountId, expected] of [
      ['00000000-0000-4000-8000-000000000000', null],
      ['------------------------------------', undefined],
      ["x' OR 1=1 --", undefined],
    ] as const) {
      await knex('oidc_payloads').where({ model: 'RefreshToken', id: key }).update({ account_id: accountId, payload: JSON.stringify({ ...payload, accountId }) });
      const other = await payloads.findWithGrant('RefreshToken', tokens.refresh_token!, new Date());
      expect(other.payload).toMatchObject({ accountId });
      expect(other.account).toBe(expected);
      expect('account' in other).toBe(expected !== undefined);
    }
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('an account disabled after the token was issued stops its refresh at once (its tokens left in place)', async () => {
    const person = await createOfficial(t);
    const tokens = (await codeLogin(config, new Browser(), redirect, person, { scope: 'openid offline_access', prompt: 'consent' })).tokens;
    await client.refreshTokenGrant(config, tokens.refresh_token!).then(async (next) => {
      // Disabled behind the service's back: the rows of its grants stay, only the account read refuses.
      await t.service.db.knex('accounts').where({ id: person.account.id }).update({ status: 'disabled' });
      await expect(client.refreshTokenGrant(config, next.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    });
  });

  it('a grant withdrawn after the token was issued stops its refresh at once', async () => {
    const tokens = await login();
    const knex = t.service.db.knex;
    const row = await knex('oidc_payloads').where({ model: 'RefreshToken', id: lookupKey(tokens.refresh_token!) }).first<{ grant_id: string }>('grant_id');
    await knex('oidc_payloads').where({ model: 'Grant', id: lookupKey(row!.grant_id) }).del();
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});
