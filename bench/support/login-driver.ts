/**
 * The login rows' driver, a process of its own (so its work is not the server's): `concurrency`
 * workers each run whole code + PKCE flows one after another for `seconds` — authorization
 * request, login step, resume, callback, code redeemed by openid-client with the ID token checked.
 * The service and the bare provider are driven by this same program. Each flow comes from an
 * address of its own (X-Forwarded-For; the service runs with TRUST_PROXY=1) and uses the next of
 * many accounts, so the login throttling never trips. Reads a JSON job on stdin, prints
 * `LOGIN-RESULT {LoadResult}`.
 * - `password`: the service's login form with an account's password;
 * - `passkey`: the service's passkey login, answered by a software authenticator
 *   (test/support/soft-authenticator.ts) restored from the state the service process registered;
 * - `bare`: the bare provider (bench/support/bare-provider.ts), whose login step finishes at once.
 */
import * as client from 'openid-client';
import { autofillCeremony, Browser, codeLogin, passkeyCeremony } from '../../test/support/oidc-rp.js';
import { SoftAuthenticator, type SoftAuthenticatorState } from '../../test/support/soft-authenticator.js';
import { closedLoop } from './bench-kit.js';
import { bareCodeFlow } from './token-rows.js';
import { httpTransport } from './http-transport.js';

export interface LoginJob {
  kind: 'password' | 'passkey' | 'bare';
  issuer: string;
  client: { clientId: string; secret: string; redirectUri: string };
  accounts: Array<{ login: string; password: string }>;
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
async function passkeyLogin(browser: Browser, passkey: SoftAuthenticator): Promise<void> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: job.client.redirectUri, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce });
  const { page: login } = await browser.follow(url);
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
  const tokens = await client.authorizationCodeGrant(config, stoppedAt, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
  if (!tokens.id_token) throw new Error('the passkey login gave no ID token');
}

const flowOnce = async (worker: number, i: number) => {
    const browser = new Browser({ headers: { 'x-forwarded-for': address() }, transport: httpTransport });
    if (job.kind === 'bare') {
      await bareCodeFlow(config, job.client.redirectUri, i, false, httpTransport);
      return;
    }
    if (job.kind === 'passkey') {
      await passkeyLogin(browser, authenticators[perWorker(worker, i, authenticators.length)]);
      return;
    }
    const account = job.accounts[i % job.accounts.length];
    const r = await codeLogin(config, browser, job.client.redirectUri, account, { prompt: 'consent' });
    if (!r.tokens.id_token || !r.tokens.refresh_token) throw new Error('the login gave no ID or refresh token');
};
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
