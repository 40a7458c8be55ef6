/**
 * Issue 21: a NUL (which no PostgreSQL text or jsonb value holds) or a lone UTF-16 surrogate in
 * any text of a request is a 400 naming the field, refused where input is parsed (JSON bodies,
 * forms, query strings): before, a NUL in a revocation's `comment` reached the database and came
 * back a 500, and a NUL in a search text made the LIKE query fail.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { apiClient } from '../../support/ca-helpers.js';
import { startTestService, type TestService } from '../../support/test-app.js';
import { usingPostgres } from '../../support/test-db.js';
import { issueLeaf, ocspFiles, type Leaf } from '../ocsp/ocsp-support.js';

let t: TestService;
let revoker: Awaited<ReturnType<typeof apiClient>>;
let leaf: Leaf;

const post = (path: string, raw: string) =>
  fetch(`${t.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${revoker.token}`, 'content-type': 'application/json' }, body: raw });

describe(`NUL and lone surrogates in request text (${usingPostgres() ? 'PostgreSQL' : 'embedded'})`, () => {
  beforeAll(async () => {
    t = await startTestService();
    revoker = await apiClient(t, 'unsafe-text', ['certs:revoke', 'certs:read']);
    leaf = await issueLeaf(t.service, await ocspFiles(t.service), `unsafe-${randomBytes(3).toString('hex')}`);
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['a NUL', '{"comment":"on leave\\u0000"}', 'body.comment'],
    ['a lone high surrogate', '{"comment":"\\ud800 x"}', 'body.comment'],
    ['a lone low surrogate', '{"comment":"x \\udc00"}', 'body.comment'],
    ['a NUL in a field name', '{"comm\\u0000ent":"x"}', 'body.comm?ent'],
  ])('%s in a JSON body: 400 naming the field, and nothing changed', async (_name, raw, path) => {
    const res = await post(`/api/v1/certificates/${leaf.serial}/hold`, raw);
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { type: string; errors: Array<{ path: string }> };
    expect(problem).toMatchObject({ type: 'urn:tinnhiem:problem:validation-failed', errors: [{ path }] });
    const now = await revoker.call('GET', `/api/v1/certificates/${leaf.serial}`);
    expect((now.body as { status: string }).status).toBe('good');
  });

  it('a pair of surrogates (an emoji written as JSON escapes) is text, and accepted', async () => {
    const res = await post(`/api/v1/certificates/${leaf.serial}/hold`, '{"comment":"nghỉ phép \\ud83c\\udf34"}');
    expect(res.status).toBe(200);
    expect((await revoker.call('POST', `/api/v1/certificates/${leaf.serial}/release`, { comment: 'trở lại' })).status).toBe(200);
  });

  it('a NUL in a query string: 400 for the API and for the provider', async () => {
    const search = await fetch(`${t.url}/api/v1/certificates?q=nguy%00en`, { headers: { authorization: `Bearer ${revoker.token}` } });
    expect(search.status).toBe(400);
    expect(((await search.json()) as { errors: Array<{ path: string }> }).errors[0].path).toBe('query.q');
    const auth = await fetch(`${t.url}/oidc/auth?client_id=x&login_hint=a%00b`, { redirect: 'manual' });
    expect(auth.status).toBe(400);
  });

  it('a NUL in a form field: 400 before the form is used', async () => {
    // The sign-in form of a real authorization request, read by the one form reader (koa-form-guard.ts).
    await t.service.clients.add('test', { clientId: 'unsafe-portal', name: 'unsafe-portal', redirectUris: ['https://portal.example.gov.vn/cb'], grantTypes: ['authorization_code'], scopes: ['openid'], firstParty: true });
    const challenge = randomBytes(32).toString('base64url');
    const auth = await fetch(`${t.url}/oidc/auth?${new URLSearchParams({ client_id: 'unsafe-portal', redirect_uri: 'https://portal.example.gov.vn/cb', response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' })}`, { redirect: 'manual' });
    const cookie = auth.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    // The login page is the authorization endpoint's answer; its form posts under /interaction/<uid>.
    const page = await auth.text();
    const interaction = /action="(\/interaction\/[^/"]+)\/login"/.exec(page)![1];
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1];
    const submit = (login: string) =>
      fetch(`${t.url}${interaction}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url, cookie }, body: `login=${login}&password=x&csrf=${csrf}`, redirect: 'manual' });
    const refused = await submit('can%00bo');
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('form.login');
    // The same form without the NUL is read and answered (a wrong password: the login page again).
    expect((await submit('canbo')).status).not.toBe(400);
  });
});
