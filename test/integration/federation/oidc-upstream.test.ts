import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, outgoingRequestsAsInProduction, textOf } from '../../support/oidc-rp.js';
import { addPortal, finish, newCitizen, pickAtSimulator, portalAuthorizationUrl, redeem, startFederation, type FederationSetup, type Portal } from '../../support/federation.js';
import { dvcqgUpstreamInput, DEV_DVCQG_CLIENT } from '../../../src/dev/dvcqg-dev.js';

/**
 * The `oidc` upstream kind: discovery, ID token (signature, iss, aud, nonce), PKCE — here against
 * the simulator's own discovery document, as a VNeID-style OpenID provider. One national ID is
 * one person across upstreams.
 */
let f: FederationSetup;
let portal: Portal;

beforeAll(async () => {
  await outgoingRequestsAsInProduction();
  f = await startFederation({
    extraUpstreams: (simUrl) => [
      dvcqgUpstreamInput(simUrl, {
        id: 'vneid',
        kind: 'oidc',
        label: { vi: 'Ứng dụng VNeID', en: 'VNeID app' },
        authorizationEndpoint: undefined,
        tokenEndpoint: undefined,
        userinfoEndpoint: undefined,
        endSessionEndpoint: undefined,
        pkce: undefined,
        assurance: { claim: 'acr', levels: { LoA1: 'urn:tinnhiem:acr:low', LoA2: 'urn:tinnhiem:acr:substantial' } },
        claims: { subject: 'sub', accountType: 'LoaiTaiKhoan', nationalId: 'SoDinhDanh', fullName: 'HoVaTen', keep: [] },
      }),
    ],
  });
  f.sim.registerClient({
    ...DEV_DVCQG_CLIENT,
    redirectUris: [`${f.t.url}/federation/dvcqg/callback`, `${f.t.url}/federation/vneid/callback`],
    postLogoutRedirectUris: [`${f.t.url}/federation/dvcqg/logged-out`, `${f.t.url}/federation/vneid/logged-out`],
  });
  portal = await addPortal(f.t, 'cong-vneid');
});

afterAll(async () => {
  await f?.close();
});

async function loginWith(upstream: string, person: string, loa: 'LoA1' | 'LoA2', extra: Record<string, string> = {}) {
  const browser = new Browser();
  const start = await portalAuthorizationUrl(portal, extra);
  const { page } = await browser.follow(start.url);
  const link = new RegExp(`href="([^"]+)"[^>]*data-method="federation-${upstream}"`).exec(page!.body)![1].replace(/&amp;/g, '&');
  const up = await browser.get(new URL(link, page!.url));
  const sim = await browser.follow(new URL(up.location!));
  const callback = await pickAtSimulator(browser, sim.page!, person, loa);
  const done = await finish(browser, callback, portal);
  if (!done.redirect) throw new Error(textOf(done.page?.body ?? ''));
  return { up: up.location!, tokens: await redeem(portal, start, done.redirect) };
}

describe(`an OpenID upstream (${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded'})`, () => {
  it('discovery, PKCE S256 and nonce upstream; the level from the ID token acr', async () => {
    const person = newCitizen(f.sim);
    const { up, tokens } = await loginWith('vneid', person.TechID, 'LoA2', { acr_values: 'urn:tinnhiem:acr:substantial' });
    expect(up.searchParams.get('code_challenge_method')).toBe('S256');
    expect(up.searchParams.get('nonce')).toBeTruthy();
    expect(up.searchParams.get('acr_values')).toBe('LoA2');
    expect(f.sim.authorizations.at(-1)).toMatchObject({ codeChallenge: true, nonce: true });
    expect(tokens.claims()).toMatchObject({ acr: 'urn:tinnhiem:acr:substantial', amr: ['fed'] });
  });

  it('one national ID is one person: the same citizen through DVCQG and through VNeID is one account', async () => {
    const person = newCitizen(f.sim);
    const viaDvcqg = await loginWith('dvcqg', person.TechID, 'LoA1');
    const viaVneid = await loginWith('vneid', person.TechID, 'LoA1');
    const sub = viaDvcqg.tokens.claims()!.sub;
    expect(viaVneid.tokens.claims()!.sub).toBe(sub);
    expect((await f.t.service.federated.linksOf(sub)).map((l) => l.upstream).sort()).toEqual(['dvcqg', 'vneid']);
  });
});
