import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Browser, codeLogin, createOfficial, outgoingRequestsAsInProduction, parseForms, textOf } from '../../support/oidc-rp.js';
import { recordingServer, type RecordingServer } from '../../support/test-servers.js';
import { addPortal, brokeredLogin, newCitizen, portalAuthorizationUrl, startFederation, type FederationSetup, type Portal } from '../../support/federation.js';

/**
 * Issue 7, acceptance 6: logging out of one portal ends the session, sends a back-channel logout
 * token to the other portal of that session, and passes through the upstream's logout.
 */
let f: FederationSetup;
let a: Portal;
let b: Portal;
let backchannel: RecordingServer;

beforeAll(async () => {
  await outgoingRequestsAsInProduction();
  f = await startFederation();
  backchannel = await recordingServer();
  a = await addPortal(f.t, 'cong-a');
  b = await addPortal(f.t, 'cong-b', { backchannelLogoutUri: `${backchannel.url}/bcl` });
});

afterAll(async () => {
  await backchannel?.close();
  await f?.close();
});

describe(`logout across the broker hop (${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded'})`, () => {
  it('acceptance 6: back-channel logout to the other portal, and a redirect through the DVCQG logout back to the portal', async () => {
    const person = newCitizen(f.sim);
    const browser = new Browser();
    const loginA = await brokeredLogin(browser, a, person.TechID, 'LoA2');

    // Single sign-on into portal B: no login page, no trip to DVCQG.
    const startB = await portalAuthorizationUrl(b);
    const upstreamLogins = f.sim.authorizations.length;
    const { stoppedAt } = await browser.follow(startB.url, b.redirect);
    expect(stoppedAt?.searchParams.get('code')).toBeTruthy();
    expect(f.sim.authorizations.length).toBe(upstreamLogins);
    const tokensB = await client.authorizationCodeGrant(b.config, stoppedAt!, { pkceCodeVerifier: startB.verifier, expectedState: startB.state, expectedNonce: startB.nonce, idTokenExpected: true });
    expect(tokensB.claims()).toMatchObject({ sub: loginA.tokens.claims()!.sub, amr: ['fed'] });

    // Portal A's RP-initiated logout, confirmed on our page.
    const confirm = await browser.get(client.buildEndSessionUrl(a.config, { id_token_hint: loginA.tokens.id_token!, post_logout_redirect_uri: a.postLogout, state: 'sau-dang-xuat' }));
    expect(confirm.status).toBe(200);
    const done = await browser.submit(confirm, parseForms(confirm.body).find((x) => x.fields.xsrf)!, { logout: 'yes' });
    expect(done.status).toBeGreaterThanOrEqual(300);
    expect(done.status).toBeLessThan(400);

    // Through the upstream's end-session endpoint (OpenID RP-Initiated Logout: client_id, post-logout URI, state).
    const upstreamLogout = done.location!;
    expect(`${upstreamLogout.origin}${upstreamLogout.pathname}`).toBe(`${f.sim.url}/oauth2/logout`);
    expect(upstreamLogout.searchParams.get('client_id')).toBe('tinnhiem-dev');
    expect(upstreamLogout.searchParams.get('post_logout_redirect_uri')).toBe(`${f.t.url}/federation/dvcqg/logged-out`);

    // The other portal got its logout token meanwhile.
    const delivered = await backchannel.next();
    expect(delivered.path).toBe('/bcl');
    const logoutToken = new URLSearchParams(delivered.body).get('logout_token')!;
    const jwks = createRemoteJWKSet(new URL(b.config.serverMetadata().jwks_uri!));
    const { payload } = await jwtVerify(logoutToken, jwks, { issuer: `${f.t.url}/oidc`, audience: b.id, typ: 'logout+jwt', maxTokenAge: '2 minutes' });
    expect(payload.sub).toBe(loginA.tokens.claims()!.sub);
    expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });

    // The simulator's own logout page, confirmed, sends the browser back to us, and we on to portal A.
    const simConfirm = await browser.get(new URL(upstreamLogout));
    expect(simConfirm.status).toBe(200);
    const simDone = await browser.submit(simConfirm, parseForms(simConfirm.body).find((x) => x.fields.xsrf)!, { logout: 'yes' });
    expect(simDone.location?.toString()).toMatch(new RegExp(`^${f.t.url}/federation/dvcqg/logged-out\\?state=`));
    const back = await browser.get(simDone.location!);
    expect(back.status).toBe(303);
    expect(back.location?.toString()).toBe(`${a.postLogout}?state=sau-dang-xuat`);

    // Both sessions are gone: portal A's next login shows our login page, and DVCQG asks again.
    const next = await portalAuthorizationUrl(a);
    const { page } = await browser.follow(next.url);
    expect(page?.status).toBe(200);
    const link = /href="([^"]+)"[^>]*data-method="federation-dvcqg"/.exec(page!.body)![1].replace(/&amp;/g, '&');
    const up = await browser.get(new URL(link, page!.url));
    const simPage = await browser.follow(new URL(up.location!));
    expect(simPage.page?.status).toBe(200);
    expect(textOf(simPage.page!.body)).toContain('Chọn tài khoản định danh điện tử');
  });

  it('a forged or stale return from the upstream logout is no open redirect', async () => {
    const res = await new Browser().get(`${f.t.url}/federation/dvcqg/logged-out?state=${encodeURIComponent('https://evil.example/')}`);
    expect(res.status).toBe(400);
    expect(res.location).toBeUndefined();
  });

  it('a password session logs out without a trip to the upstream', async () => {
    const official = await createOfficial(f.t);
    const browser = new Browser();
    const login = await codeLogin(a.config, browser, a.redirect, official);
    const confirm = await browser.get(client.buildEndSessionUrl(a.config, { id_token_hint: login.tokens.id_token!, post_logout_redirect_uri: a.postLogout }));
    const done = await browser.submit(confirm, parseForms(confirm.body).find((x) => x.fields.xsrf)!, { logout: 'yes' });
    expect(done.location?.toString()).toBe(a.postLogout);
  });
});
