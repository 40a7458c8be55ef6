/**
 * Issue 10, fault tests: an upstream identity provider that hangs. test/integration/federation/
 * upstream-failures.test.ts covers each failure of one login (clear page, OAuth error, nothing
 * written, bounded by FEDERATION_TIMEOUT_MS). This adds the other half: while many logins wait
 * on an upstream that never answers, nothing else of the service is affected — OCSP, tokens, the
 * API, password logins and logins through the healthy upstream answer as usual and quickly.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Browser, codeLogin, createOfficial, outgoingRequestsAsInProduction, textOf } from '../../support/oidc-rp.js';
import { addPortal, brokeredLogin, newCitizen, portalAuthorizationUrl, startFederation, type FederationSetup, type Portal } from '../../support/federation.js';
import { apiClient } from '../../support/ca-helpers.js';
import { dvcqgUpstreamInput } from '../../../src/dev/dvcqg-dev.js';
import { firstStatus, issueLeaf, ocspFiles, requestFor } from '../ocsp/ocsp-support.js';

// Wide enough that everything below happens while the hung logins still wait, on a loaded CI machine.
const TIMEOUT_MS = 10_000;
let f: FederationSetup;
let portal: Portal;
/** The hanging upstream: its authorize page sends the browser straight back with a code... */
let front: HttpServer;
/** ...and its token endpoint accepts connections and never says a word. */
let silent: Server;
const held: Socket[] = [];
let frontUrl = '';

beforeAll(async () => {
  await outgoingRequestsAsInProduction();
  silent = createServer((socket) => {
    held.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  front = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const back = new URL(url.searchParams.get('redirect_uri') ?? 'http://127.0.0.1:9/');
    back.searchParams.set('state', url.searchParams.get('state') ?? '');
    back.searchParams.set('code', `code-${randomBytes(4).toString('hex')}`);
    res.writeHead(302, { location: back.toString() });
    res.end();
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  f = await startFederation({
    env: { FEDERATION_TIMEOUT_MS: String(TIMEOUT_MS) },
    extraUpstreams: () => [
      {
        ...dvcqgUpstreamInput(silentUrl, { id: 'treo', label: { vi: 'Cổng đang treo', en: 'Hanging portal' }, endSessionEndpoint: undefined }),
        authorizationEndpoint: `${frontUrl}/oauth2/authorize`,
      },
    ],
  });
  portal = await addPortal(f.t, 'cong-treo');
});

afterAll(async () => {
  await f?.close();
  for (const s of held) s.destroy();
  await new Promise<void>((resolve) => silent?.close(() => resolve()));
  await new Promise<void>((resolve) => {
    front?.close(() => resolve());
    front?.closeAllConnections();
  });
});

/** Starts a login through the hanging upstream up to its callback; resolves when the page comes. */
async function hungLogin() {
  const browser = new Browser();
  const start = await portalAuthorizationUrl(portal);
  const { page: login } = await browser.follow(start.url);
  const link = /href="([^"]+)"[^>]*data-method="federation-treo"/.exec(login!.body)![1].replace(/&amp;/g, '&');
  const up = await browser.get(new URL(link, login!.url));
  expect(up.location?.origin).toBe(frontUrl);
  const began = performance.now();
  const { page } = await browser.follow(up.location!, portal.redirect);
  return { browser, start, page: page!, ms: performance.now() - began };
}

describe(`an upstream identity provider that hangs (${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded'})`, () => {
  it('its logins fail cleanly within the bound; OCSP, tokens, the API and other logins carry on meanwhile', async () => {
    const t = f.t;
    const files = await ocspFiles(t.service);
    const issuerDer = (await t.service.certificates.ca.issuers()).find((i) => i.id === files.issuerId)!.certificate!;
    const leaf = await issueLeaf(t.service, files, `hang-${randomBytes(3).toString('hex')}`);
    const reader = await apiClient(t, 'hang-reader', ['certs:read']);
    const official = await createOfficial(t);
    const citizen = newCitizen(f.sim);

    // Twelve people wait on the hanging upstream at once.
    let settled = 0;
    const hung = Array.from({ length: 12 }, () => hungLogin().finally(() => settled++));
    // Give them time to reach the upstream's token endpoint, which holds them.
    const deadline = Date.now() + TIMEOUT_MS;
    while (held.length < 12 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(held.length).toBeGreaterThanOrEqual(12);

    // Meanwhile, everything else answers, each well inside the upstream's timeout.
    const began = performance.now();
    const timings: Record<string, number> = {};
    const time = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
      const s = performance.now();
      const result = await work();
      timings[name] = performance.now() - s;
      return result;
    };
    const ocsp = await time('ocsp', async () => firstStatus(Buffer.from(await (await fetch(`${t.url}/ocsp/${encodeURIComponent(requestFor(issuerDer, leaf.serial).toString('base64'))}`)).arrayBuffer())));
    expect(ocsp).toBe('good');
    const api = await time('api', () => reader.call('GET', `/api/v1/certificates/${leaf.serial}`));
    expect(api.status).toBe(200);
    const token = await time('token', async () => (await apiClient(t, `hang-machine-${randomBytes(2).toString('hex')}`, ['certs:read'])).token);
    expect(token).toBeTruthy();
    const discovery = await time('discovery', () => fetch(`${t.url}/oidc/.well-known/openid-configuration`));
    expect(discovery.status).toBe(200);
    const passwordLogin = await time('password login', () => codeLogin(portal.config, new Browser(), portal.redirect, official));
    expect(passwordLogin.tokens.claims()?.sub).toBe(official.account.id);
    const viaDvcqg = await time('login through the healthy upstream', () => brokeredLogin(new Browser(), portal, citizen.TechID, 'LoA1'));
    expect(viaDvcqg.tokens.claims()?.amr).toEqual(['fed']);
    const meanwhile = performance.now() - began;
    // All of that happened while the twelve were still held, and nothing waited on them.
    expect(settled).toBe(0);
    expect(meanwhile).toBeLessThan(TIMEOUT_MS);
    for (const [name, ms] of Object.entries(timings)) expect([name, ms < 3_000]).toEqual([name, true]);

    // The twelve: a clear page within the bound, and the portal gets an OAuth error.
    for (const { browser, start, page, ms } of await Promise.all(hung)) {
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
      expect(ms).toBeLessThan(TIMEOUT_MS + 3_000);
      expect(page.status).toBe(502);
      expect(textOf(page.body)).toMatch(/không phản hồi kịp thời/);
      expect(textOf(page.body)).toContain('Cổng đang treo');
      const back = /href="([^"]+)" id="return-to-portal"/.exec(page.body)![1].replace(/&amp;/g, '&');
      const { stoppedAt } = await browser.follow(new URL(back, page.url), portal.redirect);
      expect(stoppedAt!.searchParams.get('error')).toBe('temporarily_unavailable');
      expect(stoppedAt!.searchParams.get('state')).toBe(start.state);
    }
  });
});
