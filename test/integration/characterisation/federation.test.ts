/**
 * Characterisation: the federation front end ("log in with DVCQG", the DVCQG simulator as the real
 * upstream): the login page's upstream button, the start redirect, the official-linking page, the
 * federation error pages, the session-expired pages, and the link form's guard matrix.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, parseForms, type PageResponse, interactionUid } from '../../support/oidc-rp.js';
import { finish, newCitizen, pickAtSimulator, toSimulator, type Portal as FedPortal } from '../../support/federation.js';
import { authUrl, firstPage, official, portal, shot, startCharacterisation, type Official, type Portal, type Setup } from './harness.js';
import { guardRow } from './guard.js';

let s: Setup;
let cong: Portal;
let linked: Official;
let citizen = 0;

beforeAll(async () => {
  s = await startCharacterisation({ federation: true });
  cong = await portal(s.t, 'cong-dvc-tinh', true, ['openid', 'profile', 'vn_identity']);
  linked = await official(s.t, 40, 'Ninh Văn Liên Kết', ['official']);
}, 120_000);

afterAll(async () => {
  await s?.close();
});

const url = (path: string) => `${s.t.url}${path}`;
const start = (extra: Record<string, string> = {}) => ({ url: authUrl(s.t, cong, { scope: 'openid profile vn_identity', ...extra }), state: '', nonce: '', verifier: '' });
const asPortal = () => ({ redirect: cong.redirect }) as FedPortal;

/** A citizen of the simulator with fixed identifiers (newCitizen's defaults carry the process id). */
function person(overrides: Record<string, string> = {}) {
  citizen += 1;
  return newCitizen(s.sim!, { TechID: `tech-dac-ta-${citizen}`, SoDinhDanh: `0941900095${String(citizen).padStart(2, '0')}`, HoVaTen: 'Công Dân Thử Nghiệm', ...overrides });
}

/** From the portal to our callback, through the simulator (person and level chosen there). */
async function toCallback(browser: Browser, who: { TechID: string }, loa: 'LoA1' | 'LoA2', extra: Record<string, string> = {}): Promise<URL> {
  return pickAtSimulator(browser, await toSimulator(browser, start(extra)), who.TechID, loa);
}

/** A browser at the official-linking page. */
async function atLinkPage(): Promise<{ browser: Browser; page: PageResponse }> {
  const browser = new Browser();
  const callback = await toCallback(browser, person({ SoDinhDanh: linked.account.nationalId!, HoVaTen: linked.account.fullName }), 'LoA2');
  const { page } = await finish(browser, callback, asPortal());
  return { browser, page: page! };
}

describe('federation pages', () => {
  it('the login page offers the upstream', async () => {
    expect(shot(await firstPage(new Browser(), start().url))).toMatchSnapshot('vi');
    expect(shot(await firstPage(new Browser({ headers: { 'accept-language': 'en' } }), start().url))).toMatchSnapshot('en');
  });

  it('the start: a redirect to the upstream with a sealed pending-login cookie', async () => {
    const browser = new Browser();
    const page = await firstPage(browser, start().url);
    const uid = interactionUid(page);
    expect(shot(await browser.get(url(`/interaction/${uid}/federation/dvcqg`)))).toMatchSnapshot('start');
    expect(shot(await browser.get(url(`/interaction/${uid}/federation/khong-co`)))).toMatchSnapshot('an unknown upstream');
  });

  it('the official-linking page, a wrong password, and the page in English', async () => {
    const { browser, page } = await atLinkPage();
    expect(shot(page)).toMatchSnapshot('link page');
    const form = parseForms(page.body).find((f) => f.action.endsWith('/federation-link'))!;
    expect(shot(await browser.submit(page, form, { password: 'không phải mật khẩu' }))).toMatchSnapshot('wrong password');
    expect(shot(await browser.get(new URL(`${page.url.pathname}?lang=en`, page.url)))).toMatchSnapshot('link page, English');
  });

  it('the error page: the upstream authenticated below the level the portal asked for', async () => {
    const browser = new Browser();
    const callback = await toCallback(browser, person(), 'LoA1', { acr_values: 'urn:tinnhiem:acr:substantial' });
    const { page } = await finish(browser, callback, asPortal());
    expect(shot(page!)).toMatchSnapshot();
  });

  it('the callback: a state that does not match, no pending login, a replay', async () => {
    const browser = new Browser();
    const callback = await toCallback(browser, person(), 'LoA1');
    const tampered = new URL(callback);
    tampered.searchParams.set('state', 'trang-thai-gia-mao');
    expect(shot(await browser.get(tampered))).toMatchSnapshot('state mismatch');
    expect(shot(await new Browser().get(callback))).toMatchSnapshot('no pending login (another browser)');
    const done = await finish(browser, callback, asPortal());
    expect(done.redirect?.searchParams.get('code')).toBeTruthy();
    expect(shot(await browser.get(callback))).toMatchSnapshot('replay');
  });

  it('back from the upstream logout with a state that is not ours', async () => {
    expect(shot(await new Browser().get(url('/federation/dvcqg/logged-out?state=khong-hop-le')))).toMatchSnapshot();
  });

  it('session expired: an unknown interaction (start, link page, link post)', async () => {
    expect(shot(await new Browser().get(url('/interaction/khong-con-ton-tai-0004/federation/dvcqg')))).toMatchSnapshot('start');
    expect(shot(await new Browser().get(url('/interaction/khong-con-ton-tai-0004/federation-link')))).toMatchSnapshot('link page');
    const post = await new Browser().request(url('/interaction/khong-con-ton-tai-0004/federation-link'), { method: 'POST', form: { csrf: 'x', password: 'y' }, headers: { origin: s.t.url, 'sec-fetch-site': 'same-origin' } });
    expect(shot(post)).toMatchSnapshot('link post');
  });
});

describe('form guard of the federation link form', () => {
  it('POST /interaction/:uid/federation-link (valid token, wrong password)', async () => {
    const mine = await atLinkPage();
    const other = await atLinkPage();
    const token = (page: PageResponse) => parseForms(page.body).find((f) => f.action.endsWith('/federation-link'))!.fields.csrf;
    const row = await guardRow({ browser: mine.browser, url: mine.page.url.toString(), fields: { password: 'không phải mật khẩu' }, token: token(mine.page), otherToken: token(other.page) }, 'form');
    expect(row).toMatchSnapshot();
  });
});
