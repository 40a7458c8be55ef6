import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import type { Browser} from '../../support/oidc-rp.js';
import { codeLogin, createOfficial, loginForm, textOf, type PageResponse } from '../../support/oidc-rp.js';
import { addPortal, apiStatus, expectRefusedEverywhereWithin2s, loginForApi, startCluster, type Cluster } from './token-support.js';

/**
 * Issue 17, acceptance 3: disabling an official who has an SSO session ends it: every first-party
 * portal (a registered portal, the account page, the console) then shows the login page, never a
 * 5xx (it was a 500 with a TypeError in oidc-provider's consent check), and introspection says
 * inactive. An administrator's password reset ends the sessions too.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL, two nodes' : 'embedded, one node';
let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
});

afterAll(async () => {
  await cluster?.close();
});

/** Follows a first-party entry point until a page answers; every hop must be below 500. */
async function landing(browser: Browser, start: string, stopAt?: string): Promise<{ page?: PageResponse; stoppedAt?: URL }> {
  const result = await browser.follow(`${cluster.url}${start}`, stopAt);
  expect(result.page!.status).toBeLessThan(500);
  return result;
}

/** The SSO session: a portal login, then the account page and the console reached without a login page. */
async function signedInEverywhere(person: Awaited<ReturnType<typeof createOfficial>>) {
  const portal = await addPortal(cluster);
  const { browser, tokens } = await loginForApi(cluster, portal, person);
  const account = await landing(browser, '/account');
  expect(account.page!.status).toBe(200);
  expect(() => loginForm(account.page!)).toThrow();
  return { portal, browser, tokens };
}

async function expectLoginPageEverywhere(browser: Browser, portal: Awaited<ReturnType<typeof addPortal>>): Promise<void> {
  const url = client.buildAuthorizationUrl(portal.config, { redirect_uri: portal.redirect, scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
  for (const start of [`${url.pathname}${url.search}`, '/account', '/admin']) {
    const { page, stoppedAt } = await landing(browser, start, portal.redirect);
    expect({ start, stoppedAt: stoppedAt?.toString() }).toEqual({ start, stoppedAt: undefined });
    expect({ start, status: page!.status }).toEqual({ start, status: 200 });
    // The provider's login page, not an error page.
    expect(loginForm(page!).action).toMatch(/\/interaction\/[^/]+\/login$/);
    expect(textOf(page!.body)).not.toMatch(/server_error/);
  }
  // A portal that asks silently (prompt=none) gets the OpenID error it can act on.
  const silent = client.buildAuthorizationUrl(portal.config, { redirect_uri: portal.redirect, scope: 'openid', prompt: 'none', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
  const { stoppedAt } = await landing(browser, `${silent.pathname}${silent.search}`, portal.redirect);
  expect(stoppedAt?.searchParams.get('error')).toBe('login_required');
}

describe(`disabled accounts and password resets (${db})`, () => {
  it('disable during an SSO session: the login page on every first-party portal, tokens inactive, no 5xx', async () => {
    const person = await createOfficial(cluster.nodes[0], { roles: ['admin'] });
    const { portal, browser, tokens } = await signedInEverywhere(person);
    // An opaque token for userinfo from the same session (no resource): introspection said active.
    const opaque = await codeLogin(portal.config, browser, portal.redirect, undefined, { scope: 'openid' });
    expect((await client.tokenIntrospection(portal.config, opaque.tokens.access_token)).active).toBe(true);

    await cluster.nodes[0].service.accounts.setStatus('test', person.login, 'disabled');
    await expectLoginPageEverywhere(browser, portal);
    for (const token of [opaque.tokens.access_token, tokens.access_token, tokens.refresh_token!]) {
      expect((await client.tokenIntrospection(portal.config, token)).active).toBe(false);
    }
    await expect(client.fetchUserInfo(portal.config, opaque.tokens.access_token, person.account.id)).rejects.toBeDefined();
    await expectRefusedEverywhereWithin2s(cluster, tokens.access_token);
    // And logging in again is refused (disabled), on the page, not with a 500.
    const { page } = await landing(browser, '/account');
    const refused = await browser.submit(page!, loginForm(page!), { login: person.login, password: person.password });
    expect(refused.status).toBeLessThan(500);
    expect(refused.status).not.toBe(303);
  });

  it('a session that outlived the disabling (disabled before this release): the login page, not a 500', async () => {
    const person = await createOfficial(cluster.nodes[0]);
    const { portal, browser } = await signedInEverywhere(person);
    // Disabled behind the service's back: the session rows are still there.
    await cluster.nodes[0].service.db.knex('accounts').where({ id: person.account.id }).update({ status: 'disabled' });
    await expectLoginPageEverywhere(browser, portal);
  });

  it("an administrator's password reset ends the account's sessions and API tokens (audited)", async () => {
    const person = await createOfficial(cluster.nodes[0]);
    const { portal, browser, tokens } = await signedInEverywhere(person);
    await cluster.nodes[0].service.accounts.setPassword('test', person.login, 'Một-mật-khẩu-mới-đủ-dài-42');
    // The account's revocation refuses tokens whose `iat` (whole seconds) is at or before it: a
    // token minted within the same second cannot be told apart and is refused too.
    const resetSecondEnds = Math.ceil(Date.now() / 1000) * 1000 + 50;
    await expectLoginPageEverywhere(browser, portal);
    await expectRefusedEverywhereWithin2s(cluster, tokens.access_token);
    expect((await client.tokenIntrospection(portal.config, tokens.refresh_token!)).active).toBe(false);
    const events = await cluster.nodes[0].service.audit.list({ target: `account:${person.account.id}` });
    const reset = events.find((e) => e.action === 'account.password_set');
    expect(reset?.details).toMatchObject({ endedSessionRows: expect.any(Number) });
    expect((reset?.details as { endedSessionRows: number }).endedSessionRows).toBeGreaterThan(0);
    // With the new password the person logs in again, and gets a working API token.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, resetSecondEnds - Date.now())));
    const again = await loginForApi(cluster, portal, { ...person, password: 'Một-mật-khẩu-mới-đủ-dài-42' });
    expect(await apiStatus(cluster.nodes[0], again.tokens.access_token)).toBe(200);
  });
});
