/**
 * Shared set-up of the characterisation tests: the service in its fullest front-end configuration
 * (passkeys, certificate login behind a trusted proxy, "log in with DVCQG"), deterministic
 * officials and portals, and the summaries the snapshots record (a page, a refusal's marker).
 */
import { createHash } from 'node:crypto';
import { startTestService, type TestService } from '../../support/test-app.js';
import { authorize, createOfficial, outgoingRequestsAsInProduction, textOf, type Browser, type PageResponse } from '../../support/oidc-rp.js';
import { registerSoftPasskey, type SoftAuthenticator } from '../../support/soft-authenticator.js';
import { startFederation } from '../../support/federation.js';
import type { DvcqgSimulator } from '../../../src/dev/dvcqg-simulator.js';
import type { Role } from '../../../oidc/account.js';
import { normalise, normaliseJson, normaliseSetCookie, setLiterals } from './normalise.js';

/** Where the certificate-login listener is said to be (nothing listens: its page is served by hand). */
export const CERT_TLS_URL = 'https://cert.tinnhiem.test';
export const CERT_HEADER = 'x-ssl-client-cert';

export interface Setup {
  t: TestService;
  sim?: DvcqgSimulator;
  close(): Promise<void>;
}

/** The service with every login method; with `federation`, the DVCQG simulator as its upstream. */
export async function startCharacterisation(options: { federation?: boolean } = {}): Promise<Setup> {
  const env = { CERT_LOGIN_PROXY_HEADER: CERT_HEADER, CERT_LOGIN_TRUSTED_PROXIES: '127.0.0.1/32', CERT_LOGIN_PUBLIC_URL: CERT_TLS_URL };
  if (options.federation) {
    await outgoingRequestsAsInProduction();
    const f = await startFederation({ env });
    setLiterals([
      [f.t.url, '<origin>'],
      [f.sim.url, '<upstream>'],
    ]);
    return { t: f.t, sim: f.sim, close: () => f.close() };
  }
  const t = await startTestService({ env });
  setLiterals([[t.url, '<origin>']]);
  return { t, close: () => t.close() };
}

export type Official = Awaited<ReturnType<typeof createOfficial>>;

/** An official whose every printed value is fixed (createOfficial's defaults carry the process id). */
export function official(t: TestService, n: number, fullName: string, roles: Role[]): Promise<Official> {
  const id = String(n).padStart(3, '0');
  return createOfficial(t, {
    username: `can-bo-${id}`,
    nationalId: `094190009${id}`,
    fullName,
    email: `can-bo-${id}@soctrang.gov.vn`,
    roles,
    password: `Mật-khẩu-cố-định-${id}`,
  });
}

export async function officialWithPasskey(t: TestService, n: number, fullName: string, roles: Role[]): Promise<{ who: Official; passkey: SoftAuthenticator }> {
  const who = await official(t, n, fullName, roles);
  return { who, passkey: await registerSoftPasskey(t.service.passkeys, who.account, `Khoá của ${fullName}`) };
}

export interface Portal {
  id: string;
  redirect: string;
  postLogout: string;
}

/** A portal registered directly (its secret is never needed: tests stop at its redirect URI). */
export async function portal(t: TestService, id: string, firstParty: boolean, scopes: string[] = ['openid', 'profile', 'email', 'offline_access']): Promise<Portal> {
  const p = { id, redirect: `http://127.0.0.1:9/${id}/callback`, postLogout: `http://127.0.0.1:9/${id}/` };
  await t.service.clients.add('test', { clientId: id, name: `Cổng ${id}`, redirectUris: [p.redirect], postLogoutRedirectUris: [p.postLogout], scopes, firstParty });
  return p;
}

const VERIFIER = 'characterisation-code-verifier-0123456789-abcdefghijk';
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');

/** An authorization request with fixed state, nonce and PKCE challenge (nothing random in it). */
export function authUrl(t: TestService, p: Portal, extra: Record<string, string> = {}): URL {
  const url = new URL(`${t.url}/oidc/auth`);
  const params = { client_id: p.id, response_type: 'code', redirect_uri: p.redirect, scope: 'openid profile', state: 'trang-thai-co-dinh', nonce: 'nonce-co-dinh', code_challenge: CHALLENGE, code_challenge_method: 'S256', ...extra };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url;
}

/** Follows an authorization request to the first page (the login page of a fresh browser). */
export async function firstPage(browser: Browser, url: URL | string): Promise<PageResponse> {
  const { page } = await browser.follow(url);
  if (!page) throw new Error(`no page at ${url}`);
  return page;
}

/** Signs in to the console or the account page with a password; returns the page it lands on. */
export async function signIn(t: TestService, browser: Browser, who: Official, path = '/admin'): Promise<PageResponse> {
  const callback = path.startsWith('/account') ? `${t.url}/account/callback` : `${t.url}/admin/callback`;
  const back = await authorize(browser, `${t.url}${path}`, callback, who);
  return (await browser.follow(back)).page!;
}

/** Password, then the console's step-up answered with the passkey: a high-assurance console session. */
export async function signInStrongly(t: TestService, browser: Browser, who: Official, passkey: SoftAuthenticator): Promise<PageResponse> {
  await signIn(t, browser, who);
  const back = await authorize(browser, `${t.url}/admin/step-up?return=%2Fadmin`, `${t.url}/admin/callback`, undefined, passkey);
  return (await browser.follow(back)).page!;
}

const PAGE_HEADERS = ['content-type', 'content-security-policy', 'cache-control', 'x-frame-options', 'referrer-policy', 'x-content-type-options', 'retry-after', 'www-authenticate'];

/** What a snapshot records of a response: status, the security headers, the redirect, cookies, the body. */
export function shot(res: PageResponse): Record<string, unknown> {
  const headers: Record<string, string> = {};
  for (const name of PAGE_HEADERS) {
    const v = res.headers.get(name);
    if (v !== null) headers[name] = normalise(v);
  }
  const cookies = res.headers.getSetCookie().map(normaliseSetCookie);
  const type = res.headers.get('content-type') ?? '';
  const body = /json/.test(type) && res.body ? normaliseJson(JSON.parse(res.body)) : normalise(res.body);
  return { status: res.status, headers, ...(res.location && { location: normalise(res.location.toString()) }), ...(cookies.length && { cookies }), body };
}

/** A stable one-line marker of a page: its h1 and its alert, or a problem's type and title. */
export function marker(res: { status: number; headers: Headers; body: string; location?: URL }): string {
  const type = (res.headers.get('content-type') ?? '').split(';')[0];
  const head = `${res.status} ${type || '-'}`;
  if (res.location) return `${head} → ${normalise(res.location.pathname + res.location.search)}`;
  if (/problem\+json/.test(type)) {
    const body = JSON.parse(res.body || '{}') as Record<string, unknown>;
    return `${head} ${[body.type, body.title, body.detail].filter(Boolean).map((x) => normalise(String(x))).join(' | ')}`;
  }
  if (/json/.test(type)) return `${head} keys: ${Object.keys(JSON.parse(res.body || '{}') as object).sort().join(', ')}`;
  if (/html/.test(type)) {
    const h1 = /<h1\b[^>]*>([\s\S]*?)<\/h1>/.exec(res.body);
    // The page's alert, else the paragraph after the title (the console's message pages).
    const alert = [...res.body.matchAll(/<p\b[^>]*role="alert"[^>]*>([\s\S]*?)<\/p>/g)].map((m) => m[1]).find((x) => x.trim());
    const after = h1 ? /<p\b[^>]*>([\s\S]*?)<\/p>/.exec(res.body.slice(h1.index + h1[0].length))?.[1] : undefined;
    return `${head} ${[h1?.[1], alert ?? after].filter(Boolean).map((x) => normalise(textOf(x!))).join(' | ')}`;
  }
  return `${head} ${normalise(res.body.slice(0, 80))}`;
}
