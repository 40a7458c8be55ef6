/**
 * Characterisation: the form guard (fetch metadata / Origin, then the HMAC CSRF token) of every
 * state-changing POST of the login front ends (interaction login and consent, the passkey JSON
 * endpoints, certificate login, the account page), as a matrix: endpoint × variant → marker.
 * The federation link form's row is in federation.test.ts (it needs the upstream simulator).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, loginForm, parseForms, type PageResponse, interactionUid } from '../../support/oidc-rp.js';
import { registerSoftPasskey } from '../../support/soft-authenticator.js';
import { authUrl, firstPage, official, portal, signIn, startCharacterisation, type Official, type Portal, type Setup } from './harness.js';
import { guardRow, type Encoding, type GuardTarget } from './guard.js';

let s: Setup;
let firstParty: Portal;
let thirdParty: Portal;
let clerk: Official;
let holder: Official;

beforeAll(async () => {
  s = await startCharacterisation();
  firstParty = await portal(s.t, 'cong-mot-cua', true);
  thirdParty = await portal(s.t, 'cong-doi-tac', false);
  clerk = await official(s.t, 21, 'Trương Thị Đăng Nhập', ['official']);
  holder = await official(s.t, 22, 'Quách Văn Tài Khoản', ['official']);
}, 120_000);

afterAll(async () => {
  await s?.close();
});

const url = (path: string) => `${s.t.url}${path}`;
const uidOf = (page: PageResponse) => interactionUid(page);

/** A browser at the login page of a fresh interaction: its uid and form token. */
async function atLogin(): Promise<{ browser: Browser; uid: string; csrf: string }> {
  const browser = new Browser();
  const page = await firstPage(browser, authUrl(s.t, firstParty));
  return { browser, uid: uidOf(page), csrf: loginForm(page).fields.csrf };
}

/** Another interaction's token (valid, but not for this one). */
const otherInteractionToken = async () => (await atLogin()).csrf;

async function interactionTarget(suffix: string, fields: Record<string, string>): Promise<GuardTarget> {
  const { browser, uid, csrf } = await atLogin();
  return { browser, url: url(`/interaction/${uid}${suffix}`), fields, token: csrf, otherToken: await otherInteractionToken() };
}

async function consentTarget(): Promise<GuardTarget> {
  const browser = new Browser();
  const page = await firstPage(browser, authUrl(s.t, thirdParty, { scope: 'openid profile email' }));
  const { page: consent } = await browser.follow(await browser.submit(page, loginForm(page), { login: clerk.login, password: clerk.password }));
  const form = parseForms(consent!.body).find((f) => f.action.endsWith('/confirm'))!;
  return { browser, url: url(form.action), fields: {}, token: form.fields.csrf, otherToken: await otherInteractionToken() };
}

/** The account page of `holder` in a fresh session: its token, and a passkey's id. */
async function accountSession(): Promise<{ browser: Browser; csrf: string; passkeyId: string }> {
  const browser = new Browser();
  const page = await signIn(s.t, browser, holder, '/account');
  const csrf = /data-csrf="([^"]+)"/.exec(page.body)![1];
  const passkeyId = /data-passkey-id="([^"]+)"/.exec(page.body)?.[1] ?? '';
  return { browser, csrf, passkeyId };
}

async function accountTarget(path: (passkeyId: string) => string, fields: Record<string, string>): Promise<GuardTarget> {
  const mine = await accountSession();
  const other = await accountSession();
  return { browser: mine.browser, url: url(path(mine.passkeyId)), fields, token: mine.csrf, otherToken: other.csrf };
}

const CASES: ReadonlyArray<readonly [name: string, encoding: Encoding, target: () => Promise<GuardTarget>]> = [
  ['POST /interaction/:uid/login', 'form', () => interactionTarget('/login', { login: 'can-bo-021', password: 'Mật-khẩu-cố-định-021' })],
  ['POST /interaction/:uid/confirm', 'form', consentTarget],
  ['POST /interaction/:uid/passkey/options', 'json', () => interactionTarget('/passkey/options', {})],
  ['POST /interaction/:uid/passkey/verify', 'json', () => interactionTarget('/passkey/verify', { id: 'khong-co-khoa' })],
  ['POST /interaction/:uid/certificate (there is no POST route)', 'form', () => interactionTarget('/certificate', {})],
  ['POST /account/passkeys/options', 'json', () => accountTarget(() => '/account/passkeys/options', {})],
  ['POST /account/passkeys (register)', 'json', () => accountTarget(() => '/account/passkeys', { name: 'Khoá mới' })],
  ['POST /account/passkeys/:id/rename', 'form', () => accountTarget((id) => `/account/passkeys/${id}/rename`, { name: 'Tên mới của khoá' })],
  ['POST /account/passkeys/:id/delete', 'form', () => accountTarget((id) => `/account/passkeys/${id}/delete`, {})],
];

describe('form guard of the login front ends', () => {
  beforeAll(async () => {
    await registerSoftPasskey(s.t.service.passkeys, holder.account, 'Khoá để thử');
  });

  it.each(CASES)('%s', async (_name, encoding, target) => {
    expect(await guardRow(await target(), encoding)).toMatchSnapshot();
  });

  it('POST /account/passkeys/:id/* without a session', async () => {
    const target: GuardTarget = { browser: new Browser(), url: url('/account/passkeys/00000000-0000-4000-8000-000000000000/delete'), fields: {}, token: 'x'.repeat(43), otherToken: 'y'.repeat(43) };
    expect(await guardRow(target, 'form')).toMatchSnapshot();
  });
});
