/**
 * Characterisation: the static assets (content type, caching, ETag and 304), a few problem+json
 * answers of the API (404, 405, 415, 413, 400, 401, 403), and the provider's discovery document
 * and key set, normalised.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { apiClient } from '../../support/ca-helpers.js';
import { normalise, normaliseJson } from './normalise.js';
import { startCharacterisation, type Setup } from './harness.js';

let s: Setup;
let reader: Awaited<ReturnType<typeof apiClient>>;
let requester: Awaited<ReturnType<typeof apiClient>>;

beforeAll(async () => {
  s = await startCharacterisation();
  reader = await apiClient(s.t, 'may-doc', ['certs:read']);
  requester = await apiClient(s.t, 'may-yeu-cau', ['certs:request']);
}, 120_000);

afterAll(async () => {
  await s?.close();
});

const STATIC_HEADERS = ['content-type', 'cache-control', 'content-security-policy', 'x-content-type-options', 'referrer-policy', 'x-frame-options'];

function staticHeaders(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STATIC_HEADERS) {
    const v = res.headers.get(name);
    if (v !== null) out[name] = v;
  }
  return out;
}

describe('static assets', () => {
  it.each(['/static/tinnhiem.css', '/static/passkeys.js', '/static/admin.css'])('%s', async (path) => {
    const first = await fetch(`${s.t.url}${path}`);
    const body = Buffer.from(await first.arrayBuffer());
    const etag = first.headers.get('etag');
    const digest = createHash('sha256').update(body).digest('base64url');
    const matching = await fetch(`${s.t.url}${path}`, { headers: { 'if-none-match': etag ?? '' } });
    const stale = await fetch(`${s.t.url}${path}`, { headers: { 'if-none-match': '"cu"' } });
    const head = await fetch(`${s.t.url}${path}`, { method: 'HEAD' });
    expect({
      status: first.status,
      headers: staticHeaders(first),
      etag: etag === `"${digest.slice(0, 22)}"` ? 'the first 22 characters of the body’s SHA-256 (base64url), quoted' : etag,
      bodyBytes: body.length,
      bodySha256: createHash('sha256').update(body).digest('hex'),
      ifNoneMatchMatching: { status: matching.status, headers: staticHeaders(matching), etag: matching.headers.get('etag') === etag, bodyBytes: (await matching.arrayBuffer()).byteLength },
      ifNoneMatchStale: stale.status,
      head: { status: head.status, headers: staticHeaders(head) },
    }).toMatchSnapshot();
  });

  it('an unknown static file', async () => {
    const res = await fetch(`${s.t.url}/static/khong-co.css`);
    expect({ status: res.status, headers: staticHeaders(res), body: normaliseJson(await res.json()) }).toMatchSnapshot();
  });
});

/** Status, the headers a client acts on, and the problem document. */
async function problem(res: Response) {
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'www-authenticate', 'allow', 'content-security-policy', 'cache-control']) {
    const v = res.headers.get(name);
    if (v !== null) headers[name] = normalise(v);
  }
  const text = await res.text();
  return { status: res.status, headers, body: /json/.test(headers['content-type'] ?? '') ? normaliseJson(JSON.parse(text)) : normalise(text) };
}

const api = (path: string, init: RequestInit = {}) => fetch(`${s.t.url}${path}`, init);
const bearer = (client: { token: string }, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${client.token}`, ...extra });

describe('API problems', () => {
  it('404 unknown route', async () => {
    expect(await problem(await api('/api/v1/khong-ton-tai'))).toMatchSnapshot();
  });

  it('405 a method the route does not have', async () => {
    expect(await problem(await api('/api/v1/certificates', { method: 'DELETE', headers: bearer(reader) }))).toMatchSnapshot();
  });

  it('415 a request body of another type', async () => {
    expect(await problem(await api('/api/v1/certificate-requests', { method: 'POST', headers: bearer(requester, { 'content-type': 'text/plain' }), body: 'csr' }))).toMatchSnapshot();
  });

  it('413 a body over the limit', async () => {
    const body = JSON.stringify({ csr: 'A'.repeat(1024 * 1024) });
    expect(await problem(await api('/api/v1/certificate-requests', { method: 'POST', headers: bearer(requester, { 'content-type': 'application/json' }), body }))).toMatchSnapshot();
  });

  it('400 malformed JSON', async () => {
    expect(await problem(await api('/api/v1/certificate-requests', { method: 'POST', headers: bearer(requester, { 'content-type': 'application/json' }), body: '{"csr":' }))).toMatchSnapshot();
  });

  it('401 without a token, with a malformed header, with a forged token', async () => {
    expect(await problem(await api('/api/v1/certificates'))).toMatchSnapshot('no token');
    expect(await problem(await api('/api/v1/certificates', { headers: { authorization: 'Basic Zm9vOmJhcg==' } }))).toMatchSnapshot('not a bearer token');
    expect(await problem(await api('/api/v1/certificates', { headers: { authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln' } }))).toMatchSnapshot('forged token');
  });

  it('403 insufficient scope', async () => {
    expect(await problem(await api('/api/v1/certificates/0123456789abcdef/revoke', { method: 'POST', headers: bearer(reader, { 'content-type': 'application/json' }), body: '{}' }))).toMatchSnapshot();
  });

  it('404 an unknown certificate, with a token', async () => {
    expect(await problem(await api('/api/v1/certificates/0123456789abcdef', { headers: bearer(reader) }))).toMatchSnapshot();
  });
});

describe('provider metadata', () => {
  it('the discovery document', async () => {
    const res = await api('/oidc/.well-known/openid-configuration');
    expect({ status: res.status, contentType: res.headers.get('content-type'), body: normaliseJson(await res.json()) }).toMatchSnapshot();
  });

  it('the key set', async () => {
    const res = await api('/oidc/jwks');
    expect({ status: res.status, contentType: res.headers.get('content-type'), cacheControl: res.headers.get('cache-control'), body: normaliseJson(await res.json()) }).toMatchSnapshot();
  });
});
