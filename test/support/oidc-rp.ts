import * as client from 'openid-client';
import type { TestService } from './test-app.js';
import type { NewOfficial } from '../../src/accounts/account-service.js';
import type { Account } from '../../oidc/account.js';

/**
 * A scripted browser and relying-party helpers for the OpenID provider's integration tests. The
 * browser keeps cookies like a user agent does (path-scoped, replaced, deleted by Max-Age=0) and
 * follows redirects by hand, so a test sees every hop: authorization endpoint → /interaction/<uid>
 * → the real server-rendered login form → /oidc/auth/<uid> (resume) → the portal's redirect URI.
 */

interface StoredCookie {
  /** Host-only cookies, as browsers keep them: per host name, not per port (RFC 6265 §8.5). */
  host: string;
  name: string;
  value: string;
  path: string;
  expires: number | null;
}

export class CookieJar {
  private cookies: StoredCookie[] = [];

  store(url: URL, setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      // RFC 6265 §5.1.4: the default path is the request path up to its last "/".
      let path = url.pathname.slice(0, url.pathname.lastIndexOf('/')) || '/';
      let expires: number | null = null;
      for (const attribute of attributes) {
        const [k, v = ''] = attribute.split('=');
        const key = k.toLowerCase();
        if (key === 'path' && v.startsWith('/')) path = v;
        if (key === 'max-age') expires = Date.now() + Number(v) * 1000;
        if (key === 'expires' && expires === null) expires = Date.parse(v);
      }
      this.cookies = this.cookies.filter((c) => !(c.name === name && c.path === path && c.host === url.hostname));
      if (expires === null || expires > Date.now()) this.cookies.push({ host: url.hostname, name, value, path, expires });
    }
  }

  header(url: URL): string {
    const now = Date.now();
    const matches = (path: string) => url.pathname === path || url.pathname.startsWith(path.endsWith('/') ? path : `${path}/`);
    return this.cookies
      .filter((c) => c.host === url.hostname && (c.expires === null || c.expires > now) && matches(c.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  names(): string[] {
    return this.cookies.map((c) => c.name);
  }
}

export interface PageResponse {
  url: URL;
  status: number;
  headers: Headers;
  body: string;
  /** The absolute Location of a redirect. */
  location?: URL;
}

/** The few things of a server-rendered page a test needs: forms and their fields. */
export interface ParsedForm {
  action: string;
  method: string;
  id?: string;
  fields: Record<string, string>;
}

const decodeEntities = (s: string) =>
  s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" })[e] ?? _m);

/** One compiled expression per attribute name (the load driver reads the same few on every page). */
const attributePatterns = new Map<string, RegExp>();

const attribute = (tag: string, name: string): string | undefined => {
  let pattern = attributePatterns.get(name);
  if (!pattern) attributePatterns.set(name, (pattern = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i')));
  const m = pattern.exec(tag);
  return m ? decodeEntities(m[2] ?? m[3]) : undefined;
};

/**
 * The interaction a login page belongs to: its address (`/interaction/<uid>`) or, for the page the
 * authorization endpoint answers with itself (no redirect to it), its login form's action
 * (`/interaction/<uid>/login`).
 */
export function interactionUid(page: { url: URL; body: string }): string {
  const uid = /^\/interaction\/([^/]+)$/.exec(page.url.pathname)?.[1] ?? /action="\/interaction\/([^/"]+)\/login"/.exec(page.body)?.[1];
  if (!uid) throw new Error(`not a login page: ${page.url.pathname}`);
  return uid;
}

export function parseForms(html: string): ParsedForm[] {
  const forms: ParsedForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const fields: Record<string, string> = {};
    for (const input of m[2].matchAll(/<input\b[^>]*>/gi)) {
      const name = attribute(input[0], 'name');
      if (name) fields[name] = attribute(input[0], 'value') ?? '';
    }
    forms.push({ action: attribute(m[1], 'action') ?? '', method: (attribute(m[1], 'method') ?? 'get').toLowerCase(), id: attribute(m[1], 'id'), fields });
  }
  return forms;
}

/** One HTTP exchange as the browser needs it (redirects not followed). */
export interface BrowserExchange {
  status: number;
  headers: Headers;
  setCookies: string[];
  body: string;
}

/** How the browser sends a request: `fetch` by default; a load generator may bring a cheaper one. */
export type BrowserTransport = (url: URL, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<BrowserExchange>;

const fetchTransport: BrowserTransport = async (url, init) => {
  const res = await fetch(url, { ...init, redirect: 'manual' });
  return { status: res.status, headers: res.headers, setCookies: res.headers.getSetCookie(), body: await res.text() };
};

export class Browser {
  readonly jar = new CookieJar();
  /** Every URL requested, in order (tests check which hops happened). */
  readonly visited: string[] = [];
  private readonly send: BrowserTransport;

  constructor(private readonly defaults: { headers?: Record<string, string>; transport?: BrowserTransport } = {}) {
    this.send = defaults.transport ?? fetchTransport;
  }

  async request(url: string | URL, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<PageResponse> {
    const target = new URL(url);
    const headers: Record<string, string> = { 'accept-language': 'vi', ...this.defaults.headers, ...init.headers };
    const cookie = this.jar.header(target);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    this.visited.push(`${init.method ?? 'GET'} ${target.toString()}`);
    const res = await this.send(target, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
    this.jar.store(target, res.setCookies);
    const location = res.headers.get('location');
    return { url: target, status: res.status, headers: res.headers, body: res.body, location: location ? new URL(location, target) : undefined };
  }

  get(url: string | URL, headers?: Record<string, string>) {
    return this.request(url, { headers });
  }

  /** A same-origin fetch() of a page's script: a JSON POST with the cookies and the given headers. */
  async json(url: string | URL, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const target = new URL(url);
    const all: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', origin: target.origin, 'sec-fetch-site': 'same-origin', ...this.defaults.headers, ...headers };
    const cookie = this.jar.header(target);
    if (cookie) all.cookie = cookie;
    this.visited.push(`POST ${target.toString()}`);
    const res = await this.send(target, { method: 'POST', headers: all, body: JSON.stringify(body) });
    this.jar.store(target, res.setCookies);
    const text = res.body;
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  /** Submits a parsed form as a browser would (action resolved against the page's URL). */
  submit(page: PageResponse, form: ParsedForm, fields: Record<string, string> = {}, headers: Record<string, string> = {}) {
    const action = new URL(form.action || page.url.toString(), page.url);
    return this.request(action, { method: form.method === 'post' ? 'POST' : 'GET', form: { ...form.fields, ...fields }, headers: { origin: page.url.origin, ...headers } });
  }

  /**
   * Follows redirects with GET until one leaves for `stopAt` (a redirect URI: its URL is
   * returned, not requested) or a page answers with something other than a redirect.
   */
  async follow(start: PageResponse | string | URL, stopAt?: string, maxHops = 15): Promise<{ page?: PageResponse; stoppedAt?: URL }> {
    let page = typeof start === 'string' || start instanceof URL ? await this.get(start) : start;
    for (let hop = 0; hop < maxHops; hop++) {
      if (!page.location || page.status < 300 || page.status >= 400) return { page };
      if (stopAt && page.location.toString().startsWith(stopAt)) return { page, stoppedAt: page.location };
      page = await this.get(page.location);
    }
    throw new Error(`too many redirects: ${this.visited.slice(-maxHops).join(' → ')}`);
  }
}

/** The visible text of a page, for error messages. */
export const textOf = (html: string) =>
  decodeEntities(html.replace(/<head>[\s\S]*<\/head>/i, '').replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim();

export function loginForm(page: PageResponse): ParsedForm {
  const form = parseForms(page.body).find((f) => /\/interaction\/[^/]+\/login$/.test(f.action));
  if (!form) throw new Error(`no login form on ${page.url} (status ${page.status}): ${page.body.slice(0, 300)}`);
  return form;
}

/**
 * Runs an authorization request through the real pages: the login form (when the browser has no
 * session yet) and the consent form (when the portal is not first-party), until the provider
 * redirects to `redirectUri`. Returns that callback URL (with `code` and `state`).
 */
export async function authorize(
  browser: Browser,
  authorizationUrl: URL | string,
  redirectUri: string,
  credentials?: { login: string; password: string },
  /** Answers a passkey page (step-up) with this authenticator, as the page's script would. */
  passkey?: PasskeyAuthenticator,
): Promise<URL> {
  let { page, stoppedAt } = await browser.follow(authorizationUrl, redirectUri);
  for (let step = 0; !stoppedAt && step < 4; step++) {
    if (!page || page.status !== 200) throw new Error(`expected an interaction page, got ${page?.status} at ${page?.url}: ${textOf(page?.body ?? '')}`);
    const forms = parseForms(page.body);
    const login = forms.find((f) => f.action.endsWith('/login'));
    const consent = forms.find((f) => f.action.endsWith('/confirm'));
    const passkeyButton = /<button\b[^>]*data-passkey-login[^>]*>/.exec(page.body)?.[0];
    if (passkeyButton) {
      if (!passkey) throw new Error(`the provider asked for a passkey (step-up) and the test gave none: ${textOf(page.body)}`);
      page = await passkeyCeremony(browser, page, passkeyButton, passkey);
    } else if (login) {
      if (!credentials) throw new Error('the provider asked for a login and the test gave no credentials');
      page = await browser.submit(page, login, { login: credentials.login, password: credentials.password });
      if (page.status !== 303) throw new Error(`login refused: ${page.status} ${textOf(page.body)}`);
    } else if (consent) {
      page = await browser.submit(page, consent);
    } else {
      throw new Error(`no login or consent form at ${page.url}: ${textOf(page.body)}`);
    }
    ({ page, stoppedAt } = await browser.follow(page, redirectUri));
  }
  if (!stoppedAt) throw new Error(`the provider never redirected to ${redirectUri}: ${browser.visited.join(' → ')}`);
  return stoppedAt;
}

/** openid-client configuration for a confidential client of the test service (plain http). */
export async function discover(issuerBase: string, clientId: string, secret: string | null, metadata: Partial<client.ClientMetadata> = {}): Promise<client.Configuration> {
  return client.discovery(new URL(`${issuerBase}/oidc`), clientId, metadata, secret ? client.ClientSecretBasic(secret) : client.None(), {
    execute: [client.allowInsecureRequests],
  });
}

export interface LoginResult {
  callback: URL;
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  verifier: string;
  nonce: string;
}

/** Code + PKCE (S256) login through the pages, and the code redeemed by openid-client. */
export async function codeLogin(
  config: client.Configuration,
  browser: Browser,
  redirectUri: string,
  credentials: { login: string; password: string } | undefined,
  extra: Record<string, string> = {},
  /** Extra token request parameters (`resource` for an API token, RFC 8707 §2.2). */
  tokenParameters: Record<string, string> = {},
  /** For a step-up (administration scopes): the passkey that answers it. */
  passkey?: PasskeyAuthenticator,
): Promise<LoginResult> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email vn_identity vn_official offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  const callback = await authorize(browser, url, redirectUri, credentials, passkey);
  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true }, tokenParameters);
  return { callback, tokens, verifier, nonce };
}

let officialCounter = 0;

/** A fresh official with a password (unique username and national ID per call). */
export async function createOfficial(t: TestService, overrides: Partial<NewOfficial> = {}): Promise<{ account: Account; login: string; password: string }> {
  officialCounter += 1;
  const n = `${process.pid % 10_000}${officialCounter}`.padStart(6, '0');
  const password = overrides.password ?? `Mật-khẩu-${n}-đủ-dài`;
  const account = await t.service.accounts.createOfficial('test', {
    username: `can-bo-${n}`,
    nationalId: `001${n.padStart(9, '0')}`.slice(0, 12),
    fullName: 'Nguyễn Thị Minh Khai',
    email: `can-bo-${n}@so-tttt.gov.vn`,
    agency: 'Sở Thông tin và Truyền thông',
    unit: 'Phòng Công nghệ thông tin',
    position: 'Chuyên viên',
    roles: ['official'],
    ...overrides,
    password,
  });
  return { account, login: account.username!, password };
}

/**
 * oidc-provider guards its outgoing requests (back-channel logout, jwks_uri) with an undici
 * dispatcher that refuses special-use addresses, built from the global dispatcher of the realm
 * it runs in. Under jest's vm context that global is missing, so the guard silently switches off
 * and a test would pass where production fails. This copies the host realm's dispatcher into the
 * test realm, so outgoing requests are checked exactly as in `node bin/tinnhiem.js serve`.
 */
export async function outgoingRequestsAsInProduction(): Promise<void> {
  const key = Symbol.for('undici.globalDispatcher.1');
  // Buffer is the host realm's: its constructor is the host's Function, which sees the host global.
  const hostGlobal = (Buffer.constructor as FunctionConstructor)('return globalThis')() as Record<symbol, unknown>;
  if (!hostGlobal[key]) await fetch('http://127.0.0.1:9/').catch(() => undefined);
  if (!hostGlobal[key]) throw new Error('no global undici dispatcher in the host realm');
  (globalThis as unknown as Record<symbol, unknown>)[key] = hostGlobal[key];
}

/** What authorize() needs of a software authenticator (test/support/soft-authenticator.ts). */
export interface PasskeyAuthenticator {
  get(options: { challenge: string }): unknown;
}

/** The passkey page's script, step by step: options, the authenticator, verify, then the location it returns. */
export async function passkeyCeremony(browser: Browser, page: PageResponse, button: string, passkey: PasskeyAuthenticator): Promise<PageResponse> {
  const data = (name: string) => attribute(button, `data-${name}`) ?? '';
  const headers = { 'x-csrf-token': data('csrf') };
  // As the page's script: the options the page embeds, else (none embedded) the options call.
  const embedded = data('options-json');
  let challenge: { challenge: string };
  if (embedded) challenge = JSON.parse(embedded) as { challenge: string };
  else {
    const options = await browser.json(new URL(data('options'), page.url), {}, headers);
    if (options.status !== 200) throw new Error(`passkey options refused: ${options.status} ${JSON.stringify(options.body)}`);
    challenge = options.body as { challenge: string };
  }
  const verified = await browser.json(new URL(data('verify'), page.url), passkey.get(challenge), headers);
  if (verified.status !== 200) throw new Error(`passkey refused: ${verified.status} ${JSON.stringify(verified.body)}`);
  return scriptNavigation(new URL(data('verify'), page.url), verified.body.location);
}

/**
 * The script's `window.location.assign(location)` after an accepted assertion, as a redirect the
 * caller follows (Browser.follow): the location is the portal's redirect with the code when the
 * assertion's request ran the resume, else the resume's address.
 */
function scriptNavigation(from: URL, location: unknown): PageResponse {
  return { url: from, status: 303, headers: new Headers(), body: '', location: new URL(String(location), from) };
}

/**
 * The login page's passkey autofill (conditional UI) as its script runs it: the options the page
 * embeds on its passkey link, the authenticator, the assertion sent to the link's `data-verify`
 * (else its `/verify`) with the login form's CSRF token; returns the navigation to the location
 * it answers (a redirect to follow).
 */
export async function autofillCeremony(browser: Browser, login: PageResponse, passkey: PasskeyAuthenticator): Promise<PageResponse> {
  const link = /<a\b[^>]*data-method="passkey"[^>]*>/.exec(login.body)?.[0];
  const embedded = link ? attribute(link, 'data-options-json') : undefined;
  if (!link || !embedded) throw new Error(`no passkey autofill options on the login page (${login.status})`);
  const csrf = parseForms(login.body).find((f) => f.fields.csrf)?.fields.csrf ?? '';
  const base = new URL(attribute(link, 'href')!, login.url);
  const target = new URL(attribute(link, 'data-verify') ?? `${base.pathname}/verify`, base);
  const verified = await browser.json(target, passkey.get(JSON.parse(embedded) as { challenge: string }), { 'x-csrf-token': csrf });
  if (verified.status !== 200) throw new Error(`passkey refused: ${verified.status} ${JSON.stringify(verified.body)}`);
  return scriptNavigation(target, verified.body.location);
}

/** Signs in to the account page of the service at `baseUrl` with a password (through the provider) and returns the page. */
export async function openAccountPage(baseUrl: string, browser: Browser, official: { login: string; password: string }): Promise<PageResponse> {
  const callback = await authorize(browser, `${baseUrl}/account`, `${baseUrl}/account/callback`, official);
  const { page } = await browser.follow(callback);
  if (page?.status !== 200 || page.url.pathname !== '/account') throw new Error(`the account page did not open: ${page?.status} ${page?.url.pathname}`);
  return page;
}
