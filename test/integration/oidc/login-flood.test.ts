import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, createOfficial, discover, loginForm, type PageResponse } from '../../support/oidc-rp.js';

/**
 * A flood of wrong passwords cannot starve a legitimate login (issue 16, acceptance 4;
 * docs/security.md, "Login throttling"). 24 threads post wrong passwords for other accounts from
 * 24 other (proxied) addresses, without pause; the throttling bounds are raised out of reach so
 * that every flood request costs a real scrypt verification and only the bounded hash queue
 * stands between the flood and the official. The official logs in from a clean address while the
 * flood runs: the acceptance bound is 2 s; on a machine where one login alone takes more than a
 * quarter of that (a loaded CI runner), the bound is four times the login measured alone in the
 * same run. Without the queue's reserved slot and its ordering by suspicion, the official's login
 * would queue behind the flood's (and be told to come back, 429).
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
const FLOOD_THREADS = 24;
let t: TestService;
let config: client.Configuration;
const redirect = 'http://127.0.0.1:9/dvc/callback';

beforeAll(async () => {
  t = await startTestService({
    env: {
      TRUST_PROXY: '1',
      LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS: '100000',
      LOGIN_MAX_FAILURES_PER_ADDRESS: '100000',
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '100000',
      // The defaults of the queue: 2 verifications at once, 32 waiting, 1.5 s at most.
    },
  });
  const { secret } = await t.service.clients.add('test', { clientId: 'dvc', name: 'Cổng dịch vụ công', redirectUris: [redirect], scopes: ['openid', 'profile'], firstParty: true });
  config = await discover(t.url, 'dvc', secret);
}, 180_000); // the embedded database starts in seconds alone, in minutes beside a loaded machine

afterAll(async () => {
  await t?.close();
});

async function atLoginPage(real: string): Promise<{ browser: Browser; page: PageResponse }> {
  const browser = new Browser({ headers: { 'x-forwarded-for': real } });
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirect,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const { page } = await browser.follow(url, redirect);
  expect(page?.status).toBe(200);
  return { browser, page: page! };
}

/** Milliseconds and status of one password login from a fresh login page. */
async function timedLogin(real: string, login: string, password: string): Promise<{ ms: number; status: number }> {
  const s = await atLoginPage(real);
  const started = performance.now();
  const res = await s.browser.submit(s.page, loginForm(s.page), { login, password });
  return { ms: performance.now() - started, status: res.status };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`password login under a flood (${db})`, () => {
  it('a legitimate login from its own address succeeds within the bound while 24 threads post wrong passwords', async () => {
    const official = await createOfficial(t);
    const targets = [await createOfficial(t), await createOfficial(t)];
    const home = '192.0.2.50';
    // The login alone, on this machine, now (the first one warms the paths up).
    await timedLogin(home, official.login, official.password);
    const alone = await timedLogin(home, official.login, official.password);
    expect(alone.status).toBe(303);

    // The attacked accounts have failures already: the flood is what it is after its first seconds.
    for (const target of targets) expect((await timedLogin('198.51.100.200', target.login, 'sai-mat-khau-mo-dau')).status).toBe(401);

    // The flood, from its own process: 24 threads, each its own address and login page.
    const threads = await Promise.all(
      Array.from({ length: FLOOD_THREADS }, async (_, i) => {
        const address = `198.51.100.${i + 1}`;
        const s = await atLoginPage(address);
        const form = loginForm(s.page);
        const url = new URL(form.action, s.page.url);
        return { url: url.toString(), fields: form.fields, login: targets[i % targets.length].login, headers: { 'x-forwarded-for': address, origin: url.origin, cookie: s.browser.jar.header(url) } };
      }),
    );
    const flood = spawn(process.execPath, [fileURLToPath(new URL('../../support/login-flood-process.mjs', import.meta.url))], { env: { ...process.env, FLOOD: JSON.stringify({ threads }) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let answered = 0;
    let summary = '';
    flood.stdout.setEncoding('utf8');
    flood.stdout.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (line.startsWith('answered ')) answered = Number(line.slice(9));
        if (line.startsWith('statuses ')) summary = line.slice(9);
      }
    });
    const exited = new Promise((resolve) => flood.on('exit', resolve));
    let during!: { ms: number; status: number };
    let answeredDuring!: number;
    try {
      // The flood is established once every thread has had answers (verifications running, the
      // queue full, the rest turned away), and a little more.
      const deadline = performance.now() + 120_000;
      while (answered < 2 * FLOOD_THREADS && performance.now() < deadline) await sleep(100);
      expect(answered).toBeGreaterThanOrEqual(2 * FLOOD_THREADS);
      const answeredBefore = answered;
      during = await timedLogin(home, official.login, official.password);
      answeredDuring = answered - answeredBefore;
    } finally {
      flood.kill('SIGTERM');
      await exited;
    }
    const statuses = JSON.parse(summary) as Record<string, number>;

    // The embedded database has one connection for every request: the login's statements queue
    // behind those of the flood's answers in flight (about 30 while it runs, at worst 1.5–2.3 s on
    // a loaded 2-core machine, before and after issue 20's changes). Starvation would still show:
    // a starved login waits for the flood to end, or is turned away (429).
    const bound = db === 'embedded' ? Math.max(4_000, 6 * alone.ms) : Math.max(2_000, 4 * alone.ms);
    process.stdout.write(`login alone ${Math.round(alone.ms)} ms, during the flood ${Math.round(during.ms)} ms (bound ${Math.round(bound)} ms); flood answers ${JSON.stringify(statuses)}, ${answeredDuring} while the login ran\n`);
    expect(during.status).toBe(303);
    expect(during.ms).toBeLessThan(bound);
    // It was a flood: wrong passwords were checked, and the queue turned some away (429, busy).
    expect(Object.keys(statuses).sort()).toEqual(['401', '429']);
    expect(answeredDuring).toBeGreaterThan(0);
    expect(await t.service.audit.list({ action: 'login.success', target: `account:${official.account.id}`, limit: 10 })).toHaveLength(3);
  });
});
