/**
 * The login rows' driver, a process of its own (so its work is not the server's): `concurrency`
 * workers each run whole code + PKCE flows one after another for `seconds` — authorization
 * request, login step, resume, callback, code redeemed by openid-client with the ID token checked.
 * The service and the bare provider are driven by this same program. Each flow comes from an
 * address of its own (X-Forwarded-For; the service runs with TRUST_PROXY=1) and uses the next of
 * many accounts, so the login throttling never trips. Reads a JSON job on stdin, prints
 * `LOGIN-RESULT {LoadResult}`.
 * - `password`: the service's login form with an account's password, in the portal's flow, the
 *   passkey row's (scope `openid profile`, no prompt: a first-party portal never sees a consent page);
 * - `password-consent`: the same with the consent page forced (prompt=consent, the scopes of a
 *   third-party portal and offline_access), the row's flow until 2026-12-06, a secondary row;
 * - `passkey`: the service's passkey login, answered by a software authenticator
 *   (test/support/soft-authenticator.ts) restored from the state the service process registered;
 * - `bare`: the bare provider (bench/support/bare-provider.ts), whose login step finishes at once.
 */
import * as client from 'openid-client';
import { autofillCeremony, Browser, codeLogin, parseForms, passkeyCeremony, textOf } from '../../test/support/oidc-rp.js';
import { SoftAuthenticator, type SoftAuthenticatorState } from '../../test/support/soft-authenticator.js';
import { closedLoop } from './bench-kit.js';
import { bareCodeFlow } from './token-rows.js';
import { httpFetch, httpTransport } from './http-transport.js';

export interface LoginJob {
  kind: 'password' | 'password-consent' | 'passkey' | 'bare';
  issuer: string;
  client: { clientId: string; secret: string; redirectUri: string };
  /** `sub`: the account's subject, which each flow's ID token must carry (the account did log in). */
  accounts: Array<{ login: string; password: string; sub: string }>;
  /**
   * The password rows' probe: the account whose wrong password must be refused before any flow
   * (default: the first of `accounts`). An account of its own, outside the counted rotation: the
   * failure it leaves on its per-account counter makes each later login of that account a
   * suspect in the hash queue (src/accounts/hash-queue.ts), which waits for an empty queue.
   */
  probe?: { login: string; password: string };
  passkeys: SoftAuthenticatorState[];
  concurrency: number;
  seconds: number;
  /** Seconds of flows before the measured ones (not counted but for their errors). */
  warmupSeconds?: number;
  /** Where the passkeys' signature counters start (a later turn continues above an earlier one's). */
  counterFrom?: number;
  /** `passkey`: the login page's autofill (default) or its link to the passkey page. */
  route?: 'autofill' | 'link';
}

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const job = JSON.parse(Buffer.concat(chunks).toString('utf8')) as LoginJob;
const config = await client.discovery(new URL(job.issuer), job.client.clientId, {}, client.ClientSecretBasic(job.client.secret), { execute: [client.allowInsecureRequests] });
// The token request over the driver's own kept-alive node:http connections, as its page requests
// (bench/support/http-transport.ts): the same request and checks, without undici's machinery.
config[client.customFetch] = httpFetch;
const authenticators = job.passkeys.map((s) => SoftAuthenticator.restore(s));
// The service refuses a counter that does not grow (a clone): each turn starts above the last.
for (const a of authenticators) a.counter = Math.max(a.counter, job.counterFrom ?? 0);
// Each passkey serves one worker at a time (its signature counter must only grow).
const perWorker = (worker: number, i: number, n: number) => worker + job.concurrency * (Math.floor(i / job.concurrency) % Math.max(1, Math.floor(n / job.concurrency)));
let flow = 0;
const address = () => {
  flow++;
  return `10.${(flow >> 16) & 255}.${(flow >> 8) & 255}.${flow & 255}`;
};

/**
 * The login page's passkey autofill (conditional UI: the person picks the passkey in the username
 * field; the page embeds the ceremony's options), the assertion, the resume, the callback, the
 * code redeemed. The passkey page (the link beside it, its own request) serves a person who clicks
 * it and the step-up; `test/integration/passkeys/passkey-login-queries.test.ts` counts both.
 */
async function passkeyLogin(browser: Browser, passkey: SoftAuthenticator, sub: string | undefined): Promise<void> {
  const flow = await portalAuthorization();
  const { page: login } = await browser.follow(flow.url);
  if (!login) throw new Error('the authorization request did not reach the login page');
  let next;
  if (job.route === 'link') {
    const link = /<a\b[^>]*data-method="passkey"[^>]*>/.exec(login.body)?.[0];
    if (!link) throw new Error(`no passkey link on the login page (${login.status})`);
    const page = await browser.get(new URL(/href="([^"]+)"/.exec(link)![1].replace(/&amp;/g, '&'), login.url));
    const button = /<button\b[^>]*data-passkey-login[^>]*>/.exec(page.body)?.[0];
    if (!button) throw new Error(`no passkey button on ${page.url} (${page.status})`);
    next = await passkeyCeremony(browser, page, button, passkey);
  } else next = await autofillCeremony(browser, login, passkey);
  const { stoppedAt } = await browser.follow(next, job.client.redirectUri);
  if (!stoppedAt) throw new Error('the passkey login did not return to the portal');
  await redeem(flow, stoppedAt, sub);
}

/** The portal's authorization request, as both login rows send it: `openid profile`, no prompt. */
async function portalAuthorization() {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: job.client.redirectUri, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce });
  return { url, verifier, state, nonce };
}

/**
 * The code redeemed by openid-client, which verifies the ID token (signature, issuer, audience,
 * nonce); its subject must be the account that logged in.
 */
async function redeem(flow: { verifier: string; state: string; nonce: string }, callback: URL, sub: string | undefined) {
  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
  checkSubject(tokens, sub);
}

function checkSubject(tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers, sub: string | undefined) {
  if (!tokens.id_token) throw new Error('the login gave no ID token');
  if (sub !== undefined && tokens.claims()?.sub !== sub) throw new Error(`the ID token names ${tokens.claims()?.sub}, not the account that logged in (${sub})`);
}

/**
 * The password login's step, in the portal's flow (the passkey row's, but for its login step):
 * the login page, its form submitted with the account's password (303 to the resume), the
 * resume, the callback, the code redeemed.
 */
async function passwordLogin(browser: Browser, account: LoginJob['accounts'][number]): Promise<void> {
  const flow = await portalAuthorization();
  const { page: login } = await browser.follow(flow.url);
  const form = login && parseForms(login.body).find((f) => f.action.endsWith('/login'));
  if (!login || !form) throw new Error('the authorization request did not reach the login form');
  const answer = await browser.submit(login, form, { login: account.login, password: account.password });
  if (answer.status !== 303) throw new Error(`login refused: ${answer.status} ${textOf(answer.body)}`);
  // Straight back to the portal: a consent page here would be another flow than the passkey row's.
  const { stoppedAt } = await browser.follow(answer, job.client.redirectUri);
  if (!stoppedAt) throw new Error('the password login did not return to the portal');
  await redeem(flow, stoppedAt, account.sub);
}

const flowOnce = async (worker: number, i: number) => {
    const browser = new Browser({ headers: { 'x-forwarded-for': address() }, transport: httpTransport });
    if (job.kind === 'bare') {
      await bareCodeFlow(config, job.client.redirectUri, i, false, httpTransport);
      return;
    }
    if (job.kind === 'passkey') {
      const k = perWorker(worker, i, authenticators.length);
      await passkeyLogin(browser, authenticators[k], job.accounts[k]?.sub);
      return;
    }
    const account = job.accounts[i % job.accounts.length];
    if (job.kind === 'password') return passwordLogin(browser, account);
    // The consent variant: the full scope with offline_access, the consent page forced.
    const r = await codeLogin(config, browser, job.client.redirectUri, account, { prompt: 'consent' });
    checkSubject(r.tokens, account.sub);
    if (!r.tokens.refresh_token) throw new Error('the login gave no refresh token');
};

/**
 * Before any flow: a wrong password must be refused (401, the login page again), so that the
 * row's logins are known to check the password (its hash runs in each; a success without it would
 * count here as a login). One attempt from an address of its own on the probe account: one
 * failure on its per-account counter (50 a day by default), far below its bound.
 */
async function wrongPasswordRefused(): Promise<void> {
  const account = job.probe ?? job.accounts[0];
  // An address of this process's own (198.18.0.0/15, for benchmarks): the flows' addresses start
  // again in each driver process, and the probe's failures on one (account, address) pair locked
  // it at the bound's fifth within 15 minutes: a run of three turns (six probes) stopped here with 429.
  const browser = new Browser({ headers: { 'x-forwarded-for': `198.18.${(process.pid >> 8) & 255}.${process.pid & 255}` }, transport: httpTransport });
  const flow = await portalAuthorization();
  const { page } = await browser.follow(flow.url, job.client.redirectUri);
  const form = page && parseForms(page.body).find((f) => f.action.endsWith('/login'));
  if (!page || !form) throw new Error('the authorization request did not reach the login form');
  const answer = await browser.submit(page, form, { login: account.login, password: `${account.password}-sai` });
  if (answer.status !== 401 || answer.location) throw new Error(`a wrong password was not refused (${answer.status})`);
}
if (job.kind !== 'bare' && job.kind !== 'passkey') await wrongPasswordRefused();
// A warm-up, not counted (as the token rows' turns have): this driver is a new process each turn,
// and its first flows run before the JIT compiler has done its work, in the driver and in the
// server; a turn of 40 password flows counted them against the service. Its errors still count.
let n = 0;
const warmup = job.warmupSeconds ? await closedLoop((worker) => flowOnce(worker, n++), { concurrency: job.concurrency, seconds: job.warmupSeconds }) : undefined;
process.stdout.write('LOGIN-WARM\n');
const cpuBefore = process.cpuUsage();
const measured = await closedLoop((worker) => flowOnce(worker, n++), { concurrency: job.concurrency, seconds: job.seconds });
const result = warmup?.errors ? { ...measured, errors: measured.errors + warmup.errors, errorSamples: [...warmup.errorSamples, ...measured.errorSamples].slice(0, 5) } : measured;
const cpu = process.cpuUsage(cpuBefore);
// The driver's own CPU (user + system, ms): it shares the cores with the server it drives.
process.stdout.write(`LOGIN-RESULT ${JSON.stringify({ ...result, driverCpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
