/**
 * Characterisation: the OCSP responder's answers over HTTP, GET and POST, through the fast path
 * (well-formed requests, before Koa) and through Koa (a chunked POST, a GET with a query string):
 * good, revoked with a reason, on hold, unknown serial, foreign issuer, malformed, nonce, SHA-256
 * CertID. Each answer is recorded decoded, without its volatile values (times become relations).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestPki, type TestPki } from '../../support/test-pki.js';
import { inspectResponse } from '../../unit/ca/ocsp/inspect-response.js';
import { issueLeaf, ocspFiles, requestFor } from '../ocsp/ocsp-support.js';
import { octetString } from '../../../ca/status/ocsp/der.js';
import { normalise } from './normalise.js';
import { startCharacterisation, type Setup } from './harness.js';

let s: Setup;
let issuerDer: Buffer;
let foreign: TestPki;
const serials = { good: '', revoked: '', hold: '' };
const NONCE = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

beforeAll(async () => {
  s = await startCharacterisation();
  const files = await ocspFiles(s.t.service);
  issuerDer = (await s.t.service.certificates.ca.issuers()).find((i) => i.id === files.issuerId)!.certificate!;
  for (const name of ['good', 'revoked', 'hold'] as const) serials[name] = (await issueLeaf(s.t.service, files, name)).serial;
  await s.t.service.certificates.ca.changeStatus({ actor: 'test', serial: serials.revoked, action: 'revoke', reason: 'keyCompromise' });
  await s.t.service.certificates.ca.changeStatus({ actor: 'test', serial: serials.hold, action: 'hold' });
  foreign = await createTestPki({ label: 'Foreign' });
}, 120_000);

afterAll(async () => {
  foreign?.cleanup();
  await s?.close();
});

const HEADERS = ['content-type', 'cache-control', 'last-modified', 'expires', 'x-ocsp-outcome', 'content-security-policy', 'x-content-type-options', 'referrer-policy', 'x-frame-options', 'cross-origin-opener-policy'];

/** Whether the response's nonce extension carries the request's (its extnValue, an OCTET STRING). */
function nonceOf(echoed: Buffer | undefined, sent: Buffer | undefined): string {
  if (!echoed) return sent ? 'asked, absent' : 'absent';
  if (!sent) return 'present, never asked';
  return echoed.equals(octetString(sent)) ? 'echoed (same extnValue)' : echoed.equals(sent) ? 'echoed (bare value)' : 'different';
}

/** The answer without its volatile values: header presence for ETag and request id, times as relations. */
function describeAnswer(res: Response, der: Buffer, nonce?: Buffer) {
  const headers: Record<string, string> = {};
  for (const name of HEADERS) {
    const v = res.headers.get(name);
    if (v !== null) headers[name] = normalise(v);
  }
  const etag = res.headers.get('etag');
  headers.etag = etag === null ? '(none)' : /^"[A-Za-z0-9_-]{10,}"$/.test(etag) ? '(quoted token)' : etag;
  headers['x-request-id'] = res.headers.get('x-request-id') === null ? '(none)' : '(present)';
  if (!der.length || !/ocsp-response/.test(res.headers.get('content-type') ?? '')) return { status: res.status, headers };
  const r = inspectResponse(der);
  const seconds = (a?: Date, b?: Date) => (a && b ? Math.round((a.getTime() - b.getTime()) / 1000) : null);
  return {
    status: res.status,
    headers,
    ocsp: {
      responseStatus: r.status,
      responderId: r.status !== 0 ? null : r.responderKeyHash ? 'byKey' : 'byName',
      // Pre-signed answers were produced before this request (at issuance or a status change), live ones during it.
      producedAtNotInFuture: r.producedAt ? r.producedAt.getTime() <= Date.now() + 1000 : null,
      nonce: nonceOf(r.nonce, nonce),
      certsIncluded: r.certCount,
      signatureAlgorithm: r.signatureOid ?? null,
      responses: r.responses.map((x) => ({
        certStatus: x.status,
        reason: x.reason ?? null,
        hashAlgorithm: x.hashOid,
        nextUpdateMinusThisUpdateSeconds: seconds(x.nextUpdate, x.thisUpdate),
        producedAtMinusThisUpdateSeconds: seconds(r.producedAt, x.thisUpdate),
        revokedBeforeProducedAt: x.revokedAt ? x.revokedAt.getTime() <= r.producedAt!.getTime() : null,
      })),
    },
  };
}

async function post(body: Uint8Array, options: { chunked?: boolean; nonce?: Buffer } = {}) {
  const init: RequestInit & { duplex?: string } = { method: 'POST', headers: { 'content-type': 'application/ocsp-request' } };
  if (options.chunked) {
    init.body = new ReadableStream({
      start(c) {
        c.enqueue(new Uint8Array(body));
        c.close();
      },
    });
    init.duplex = 'half';
  } else init.body = body as BodyInit;
  const res = await fetch(`${s.t.url}/ocsp`, init);
  return describeAnswer(res, Buffer.from(await res.arrayBuffer()), options.nonce);
}

async function get(body: Uint8Array, options: { query?: string; headers?: Record<string, string>; nonce?: Buffer } = {}) {
  const res = await fetch(`${s.t.url}/ocsp/${encodeURIComponent(Buffer.from(body).toString('base64'))}${options.query ?? ''}`, { headers: options.headers });
  return { res, answer: describeAnswer(res, Buffer.from(await res.arrayBuffer()), options.nonce) };
}

/** GET then POST of the same request. */
async function both(body: Uint8Array, nonce?: Buffer) {
  return { GET: (await get(body, { nonce })).answer, POST: await post(body, { nonce }) };
}

describe('OCSP answers', () => {
  it('good', async () => {
    expect(await both(requestFor(issuerDer, serials.good))).toMatchSnapshot();
  });

  it('revoked (keyCompromise)', async () => {
    expect(await both(requestFor(issuerDer, serials.revoked))).toMatchSnapshot();
  });

  it('on hold', async () => {
    expect(await both(requestFor(issuerDer, serials.hold))).toMatchSnapshot();
  });

  it('unknown serial', async () => {
    expect(await both(requestFor(issuerDer, '7f0123456789abcdef'))).toMatchSnapshot();
  });

  it('foreign issuer: unauthorized', async () => {
    expect(await both(requestFor(foreign.issuing.der, serials.good))).toMatchSnapshot();
  });

  it('malformed request', async () => {
      const res = await fetch(`${s.t.url}/ocsp/!!!`);
    expect({ GET: describeAnswer(res, Buffer.from(await res.arrayBuffer())), POST: await post(Buffer.from('hello')) }).toMatchSnapshot();
  });

  it('with a nonce: echoed, signed live', async () => {
    expect(await both(requestFor(issuerDer, serials.good, { nonce: NONCE }), NONCE)).toMatchSnapshot();
  });

  it('SHA-256 CertID', async () => {
    expect(await both(requestFor(issuerDer, serials.revoked, { hash: 'sha256' }))).toMatchSnapshot();
  });

  it('GET with a matching If-None-Match: 304', async () => {
    const body = requestFor(issuerDer, serials.good);
    const first = await get(body);
    const etag = first.res.headers.get('etag')!;
    const again = await get(body, { headers: { 'if-none-match': etag } });
    const other = await get(body, { headers: { 'if-none-match': '"khac"' } });
    expect({ matching: again.answer, other: other.answer.status }).toMatchSnapshot();
  });

  it('through Koa instead of the fast path: a chunked POST, a GET with a query string', async () => {
    const body = requestFor(issuerDer, serials.revoked);
    expect({ chunkedPost: await post(body, { chunked: true }), getWithQuery: (await get(body, { query: '?x=1' })).answer }).toMatchSnapshot();
  });

  it('HTTP errors: wrong media type (415), too large (413)', async () => {
    const wrongType = await fetch(`${s.t.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: requestFor(issuerDer, serials.good) as BodyInit });
    const tooLarge = await fetch(`${s.t.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: Buffer.alloc(64 * 1024 + 1, 0x30) as BodyInit });
    const problem = async (r: Response) => ({ status: r.status, type: r.headers.get('content-type'), body: JSON.parse(normalise(await r.text())) as unknown });
    const shown = { wrongType: await problem(wrongType), tooLarge: await problem(tooLarge) };
    for (const p of Object.values(shown)) (p.body as Record<string, unknown>).requestId = '<requestId>';
    expect(shown).toMatchSnapshot();
  });
});
