import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, textOf, type PageResponse } from '../../support/oidc-rp.js';
import { adminConsole, formTo } from '../../support/admin-console.js';

/**
 * Issue 21: the console's portal registration form offered private_key_jwt with no place for the
 * portal's keys (always 400), had no back-channel logout URI or grant types, and showed the
 * registry's English refusals on a Vietnamese page.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let browser: Browser;

beforeAll(async () => {
  t = await startTestService();
  const admin = adminConsole(t);
  const { who, passkey } = await admin.officer(['admin']);
  browser = new Browser();
  await admin.signInStrongly(browser, who, passkey);
});

afterAll(async () => {
  await t?.close();
});

async function register(fields: Record<string, string | string[]>, lang = 'vi'): Promise<PageResponse> {
  const page = await browser.get(`${t.url}/admin/portals?lang=${lang}`);
  expect(page.status).toBe(200);
  const form = formTo(page, '/admin/portals');
  // Checkboxes: the ones given here only (a browser sends the ticked ones).
  const body = new URLSearchParams({ csrf: form.fields.csrf });
  for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
  // Browser.request takes a record: multi-valued fields (grant types) are posted by hand, with its cookies.
  const action = new URL(form.action, page.url);
  const res = await fetch(action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'vi', origin: t.url, cookie: browser.jar.header(action) }, body, redirect: 'manual' });
  return { url: action, status: res.status, headers: res.headers, body: await res.text() };
}

describe(`console portal registration form (${db})`, () => {
  it('the form has the fields: jwks_uri, jwks, back-channel logout, grant types, PAR, acr policy', async () => {
    const page = await browser.get(`${t.url}/admin/portals`);
    const fields = formTo(page, '/admin/portals');
    for (const name of ['jwksUri', 'backchannelLogoutUri']) expect(Object.keys(fields.fields)).toContain(name);
    for (const name of ['name="jwks"', 'name="grantTypes" value="client_credentials"', 'name="requirePar"', 'name="acrValuesEssential"']) expect(page.body).toContain(name);
  });

  it('a private_key_jwt portal with a jwks_uri, back-channel logout and PAR required is registered (no secret)', async () => {
    const res = await register({
      clientId: 'cong-thue-tinh',
      name: 'Cổng thuế tỉnh',
      redirectUris: 'https://thue.soctrang.gov.vn/callback',
      scopes: 'openid profile',
      authMethod: 'private_key_jwt',
      jwksUri: 'https://thue.soctrang.gov.vn/jwks.json',
      backchannelLogoutUri: 'https://thue.soctrang.gov.vn/backchannel',
      grantTypes: ['authorization_code', 'refresh_token'],
      requirePar: 'yes',
      acrValuesEssential: 'yes',
    });
    expect([res.status, res.status === 201 ? '' : textOf(res.body)]).toEqual([201, '']);
    expect(res.body).not.toMatch(/id="client-secret"/);
    const m = (await t.service.clients.show('cong-thue-tinh')).metadata;
    expect(m).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: 'https://thue.soctrang.gov.vn/jwks.json',
      backchannel_logout_uri: 'https://thue.soctrang.gov.vn/backchannel',
      require_pushed_authorization_requests: true,
      acr_values_essential: true,
      grant_types: ['authorization_code', 'refresh_token'],
    });
  });

  it('a machine client with its keys inline (jwks) and only client_credentials', async () => {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const res = await register({ clientId: 'dong-bo-ho-tich', name: 'Đồng bộ hộ tịch', scopes: 'certs:read', authMethod: 'private_key_jwt', jwks: JSON.stringify({ keys: [{ ...jwk, kid: 'k1', use: 'sig' }] }), grantTypes: 'client_credentials' });
    expect(res.status).toBe(201);
    const m = (await t.service.clients.show('dong-bo-ho-tich')).metadata;
    expect(m.grant_types).toEqual(['client_credentials']);
    expect((m.jwks as { keys: Array<{ kid: string }> }).keys[0].kid).toBe('k1');
  });

  it('refusals are in the page’s language, field by field, the typed values kept', async () => {
    const vi = await register({ clientId: 'cong-thieu', name: 'Thiếu', scopes: 'openid', authMethod: 'private_key_jwt', grantTypes: ['authorization_code'] });
    expect(vi.status).toBe(400);
    const viText = textOf(vi.body);
    expect(viText).toMatch(/Không đăng ký được cổng dịch vụ\. Địa chỉ chuyển hướng \(mỗi dòng một địa chỉ\): bắt buộc khi cổng đăng nhập người dùng/);
    expect(viText).not.toMatch(/required for|must be/);
    expect(vi.body).toContain('value="cong-thieu"');
    const en = await register({ clientId: 'cong-thieu', name: 'Thiếu', scopes: 'openid', authMethod: 'private_key_jwt', grantTypes: ['authorization_code'], redirectUris: 'https://a.gov.vn/cb' }, 'en');
    expect(en.status).toBe(400);
    expect(textOf(en.body)).toMatch(/The portal was not registered\. Public keys URL \(jwks_uri, for private_key_jwt\): required for private_key_jwt \(or give jwks\)/);
    const json = await register({ clientId: 'cong-json', name: 'JSON', redirectUris: 'https://a.gov.vn/cb', scopes: 'openid', authMethod: 'private_key_jwt', jwks: '{not json' });
    expect(json.status).toBe(400);
    expect(textOf(json.body)).toMatch(/jwks, JSON\): không phải JSON hợp lệ/);
    const taken = await register({ clientId: 'cong-thue-tinh', name: 'Lần hai', redirectUris: 'https://a.gov.vn/cb', scopes: 'openid' });
    expect(textOf(taken.body)).toMatch(/mã ứng dụng này đã tồn tại/);
  });
});
