import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { startTestService, type TestService } from './test-app.js';
import type { Browser} from './oidc-rp.js';
import { parseForms, textOf, type PageResponse } from './oidc-rp.js';
import { startDvcqgSimulator, type DvcqgSimulator } from '../../src/dev/dvcqg-simulator.js';
import { dvcqgUpstreamInput, DEV_DVCQG_CLIENT, registerDevClient } from '../../src/dev/dvcqg-dev.js';
import type { UpstreamInput } from '../../oidc/federation/upstreams.js';

/**
 * tinnhiem with the DVCQG simulator as its real upstream. The simulator answers on `localhost` and
 * tinnhiem on 127.0.0.1: browsers keep cookies per host name, and both name theirs `_session`.
 */
export interface FederationSetup {
  t: TestService;
  sim: DvcqgSimulator;
  close(): Promise<void>;
}

/** An upstreams file naming the simulator (and more), its secret in a file beside it. */
export function writeUpstreamsFile(simUrl: string, extra: UpstreamInput[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-upstreams-'));
  const secretFile = join(dir, 'dvcqg-secret');
  writeFileSync(secretFile, `${DEV_DVCQG_CLIENT.clientSecret}\n`, { mode: 0o600 });
  const upstreams = [dvcqgUpstreamInput(simUrl), ...extra].map((u) => ({ ...u, clientSecret: { file: secretFile } }));
  const file = join(dir, 'upstreams.json');
  writeFileSync(file, JSON.stringify({ upstreams }, null, 2));
  return file;
}

export async function startFederation(options: { extraUpstreams?: (simUrl: string) => UpstreamInput[]; env?: Record<string, string>; development?: boolean } = {}): Promise<FederationSetup> {
  const sim = await startDvcqgSimulator({ port: 0, hostname: 'localhost' });
  const simUrl = sim.url;
  const file = writeUpstreamsFile(simUrl, options.extraUpstreams?.(simUrl));
  const t = await startTestService({ env: { FEDERATION_UPSTREAMS_FILE: file, FEDERATION_TIMEOUT_MS: '1500', ...options.env }, development: options.development });
  registerDevClient(sim, t.url);
  return {
    t,
    sim,
    async close() {
      await t.close();
      await sim.close();
    },
  };
}

export interface Portal {
  id: string;
  secret: string;
  redirect: string;
  postLogout: string;
  config: client.Configuration;
}

export async function addPortal(t: TestService, id: string, extra: { backchannelLogoutUri?: string; firstParty?: boolean; origin?: string; issuerBase?: string } = {}): Promise<Portal> {
  // Nothing listens at the portal's origin: tests stop at its redirect URI (Chromium intercepts it).
  const origin = extra.origin ?? 'http://127.0.0.1:9';
  const redirect = `${origin}/${id}/callback`;
  const postLogout = `${origin}/${id}/`;
  const added = await t.service.clients.add('test', {
    clientId: id,
    name: `Cổng ${id}`,
    redirectUris: [redirect],
    postLogoutRedirectUris: [postLogout],
    scopes: ['openid', 'profile', 'email', 'vn_identity', 'vn_official', 'offline_access'],
    firstParty: extra.firstParty ?? true,
    ...(extra.backchannelLogoutUri ? { backchannelLogoutUri: extra.backchannelLogoutUri } : {}),
  });
  const config = await client.discovery(new URL(`${extra.issuerBase ?? t.url}/oidc`), id, {}, client.ClientSecretBasic(added.secret!), { execute: [client.allowInsecureRequests] });
  return { id, secret: added.secret!, redirect, postLogout, config };
}

export interface AuthorizationStart {
  url: URL;
  state: string;
  nonce: string;
  verifier: string;
}

export async function portalAuthorizationUrl(portal: Portal, extra: Record<string, string> = {}): Promise<AuthorizationStart> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(portal.config, {
    redirect_uri: portal.redirect,
    scope: 'openid profile vn_identity',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, state, nonce, verifier };
}

/** From the portal's authorization request to the simulator's login page, through our "log in with DVCQG" button. */
export async function toSimulator(browser: Browser, start: AuthorizationStart): Promise<PageResponse> {
  const { page } = await browser.follow(start.url);
  if (!page || page.status !== 200) throw new Error(`expected our login page, got ${page?.status}: ${textOf(page?.body ?? '')}`);
  const link = /href="([^"]+)"[^>]*data-method="federation-dvcqg"/.exec(page.body);
  if (!link) throw new Error(`no "log in with DVCQG" button: ${textOf(page.body)}`);
  const started = await browser.get(new URL(link[1].replace(/&amp;/g, '&'), page.url));
  if (started.status !== 303 || !started.location) throw new Error(`the federation start did not redirect: ${started.status} ${textOf(started.body)}`);
  const simPage = await browser.follow(new URL(started.location));
  if (!simPage.page || simPage.page.status !== 200) throw new Error(`expected the simulator's page, got ${simPage.page?.status}: ${textOf(simPage.page?.body ?? '')}`);
  return simPage.page;
}

/** Picks a person and a level on the simulator's page; returns the simulator's redirect to our callback. */
export async function pickAtSimulator(browser: Browser, page: PageResponse, person: string, loa: 'LoA1' | 'LoA2'): Promise<URL> {
  const form = parseForms(page.body).find((f) => /\/interaction\/[^/]+$/.test(f.action));
  if (!form) throw new Error(`no login form at the simulator: ${textOf(page.body)}`);
  let res = await browser.submit(page, form, { person, loa });
  for (let hop = 0; hop < 6 && res.location; hop++) {
    if (res.location.pathname.startsWith('/federation/')) return res.location;
    res = await browser.get(new URL(res.location));
  }
  throw new Error(`the simulator never redirected to our callback: ${browser.visited.slice(-6).join(' → ')}`);
}

/** Follows our callback until the portal's redirect URI (returned) or a page (returned). */
export async function finish(browser: Browser, callback: URL, portal: Portal): Promise<{ page?: PageResponse; redirect?: URL }> {
  const { page, stoppedAt } = await browser.follow(callback, portal.redirect);
  return { page: stoppedAt ? undefined : page, redirect: stoppedAt };
}

export async function redeem(portal: Portal, start: AuthorizationStart, redirect: URL) {
  return client.authorizationCodeGrant(portal.config, redirect, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce, idTokenExpected: true });
}

/** The whole brokered login: portal → tinnhiem → simulator (person, level) → tinnhiem → portal → tokens. */
export async function brokeredLogin(browser: Browser, portal: Portal, person: string, loa: 'LoA1' | 'LoA2', extra: Record<string, string> = {}) {
  const start = await portalAuthorizationUrl(portal, extra);
  const simPage = await toSimulator(browser, start);
  const callback = await pickAtSimulator(browser, simPage, person, loa);
  const done = await finish(browser, callback, portal);
  if (!done.redirect) throw new Error(`no redirect to the portal: ${done.page?.status} ${textOf(done.page?.body ?? '')}`);
  if (done.redirect.searchParams.get('error')) throw new Error(`the portal got ${done.redirect.searchParams.get('error')}: ${done.redirect.searchParams.get('error_description')}`);
  return { start, callback, tokens: await redeem(portal, start, done.redirect) };
}

let personCounter = 0;

/** A fresh synthetic citizen at the simulator (unique TechID and national ID per call). */
export function newCitizen(sim: DvcqgSimulator, overrides: Record<string, string | number> = {}) {
  personCounter += 1;
  const n = `${process.pid % 100_000}${personCounter}`.padStart(7, '0').slice(-7);
  const person = {
    TechID: `tech-${process.pid}-${personCounter}-${Date.now()}`,
    LoaiTaiKhoan: 1 as const,
    SoDinhDanh: `09419${n}`,
    HoVaTen: 'Trần Văn Công Dân',
    NgayThangNamSinh: '01/01/1990',
    GioiTinh: 'Nam',
    QuocTich: 'Việt Nam',
    ThuDienTu: '',
    SoDienThoai: '',
    ...overrides,
  };
  sim.addPerson(person as never);
  return person;
}
