/**
 * Acceptance 3: malformed, truncated, oversized, wrongly typed and foreign requests get the right
 * OCSP error status or an HTTP 4xx, never a 5xx; a fast-check run over 10,000 mutated requests.
 */
import { afterAll, beforeAll, expect, it, describe } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { startTestService, type TestService } from '../../support/test-app.js';
import { inspectResponse } from '../../unit/ca/ocsp/inspect-response.js';
import { requestDer } from '../../unit/ca/ocsp/request-builder.js';
import { createTestPki, type TestPki } from '../../support/test-pki.js';
import { firstStatus, integerContent, issueLeaf, ocspFiles, requestFor } from './ocsp-support.js';

let t: TestService;
let issuerDer: Buffer;
let goodSerial: string;
let foreign: TestPki;

beforeAll(async () => {
  t = await startTestService();
  const files = await ocspFiles(t.service);
  issuerDer = (await t.service.certificates.ca.issuers()).find((i) => i.id === files.issuerId)!.certificate!;
  goodSerial = (await issueLeaf(t.service, files, 'fuzz-good')).serial;
  foreign = await createTestPki({ label: 'Foreign' });
});
afterAll(async () => {
  foreign?.cleanup();
  await t?.close();
});

const post = (body: Uint8Array, type = 'application/ocsp-request') => fetch(`${t.url}/ocsp`, { method: 'POST', headers: { 'content-type': type }, body: body as BodyInit });
const bytes = async (res: Response) => Buffer.from(await res.arrayBuffer());
const MALFORMED = 'error:1';
const UNAUTHORIZED = 'error:6';

describe('bad requests', () => {
  it('answers a well-formed request first (the baseline)', async () => {
    const res = await post(requestFor(issuerDer, goodSerial));
    expect(res.status).toBe(200);
    expect(firstStatus(await bytes(res))).toBe('good');
  });

  it('malformed and truncated → malformedRequest (HTTP 200, 5 bytes)', async () => {
    const good = requestFor(issuerDer, goodSerial);
    for (const body of [Buffer.alloc(0), Buffer.from('hello'), good.subarray(0, good.length - 3), good.subarray(0, 10), Buffer.concat([good, Buffer.from([0])]), randomBytes(300)]) {
      const res = await post(body);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/ocsp-response');
      const der = await bytes(res);
      expect(firstStatus(der)).toBe(MALFORMED);
      expect(der.length).toBe(5);
    }
    for (const path of ['', '!!!', 'AAAA', '%zz', 'MA==', 'a'.repeat(5)]) {
      const res = await fetch(`${t.url}/ocsp/${path}`);
      if (path === '') {
        expect(res.status).toBeLessThan(500);
        continue;
      }
      expect(res.status).toBe(200);
      expect(firstStatus(await bytes(res))).toBe(MALFORMED);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('over 64 KiB → 413; wrong or missing content type → 415 (problem+json)', async () => {
    const big = await post(Buffer.alloc(64 * 1024 + 1, 0x30));
    expect(big.status).toBe(413);
    // A chunked body with no Content-Length that grows past the limit.
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(4096));
        controller.close();
      },
    });
    const chunked = await fetch(`${t.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: stream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    const longGet = await fetch(`${t.url}/ocsp/${'A'.repeat(100_000)}`);
    expect(longGet.status).toBeLessThan(500);
    for (const type of ['text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded']) {
      const res = await post(requestFor(issuerDer, goodSerial), type);
      expect(res.status).toBe(415);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    // JSON bodies are parsed (and refused) by the front end before any route: still a 4xx.
    expect((await post(requestFor(issuerDer, goodSerial), 'application/json')).status).toBe(400);
    const none = await fetch(`${t.url}/ocsp`, { method: 'POST', body: requestFor(issuerDer, goodSerial) as BodyInit });
    expect(none.status).toBe(415);
  });

  it('foreign issuer → unauthorized; a foreign CertID next to ours → unknown for it', async () => {
    const res = await post(requestFor(foreign.issuing.der, goodSerial));
    expect(firstStatus(await bytes(res))).toBe(UNAUTHORIZED);
    const get = await fetch(`${t.url}/ocsp/${encodeURIComponent(requestFor(foreign.issuing.der, goodSerial).toString('base64'))}`);
    expect(firstStatus(await bytes(get))).toBe(UNAUTHORIZED);
    const mixed = await post(requestDer({ certIds: [{ issuerDer, serial: integerContent(goodSerial) }, { issuerDer: foreign.issuing.der, serial: integerContent(goodSerial) }] }));
    const inspected = inspectResponse(await bytes(mixed));
    expect(inspected.responses.map((r) => r.status)).toEqual(['good', 'unknown']);
  });

  it('an imported certificate of another CA is never answered as ours', async () => {
    const leaf = foreign.leaf('leaf-good');
    const result = await t.service.certificates.importCertificates('officer-a', leaf.pem);
    expect(result.imported).toHaveLength(1);
    const res = await post(requestFor(foreign.issuing.der, leaf.serialHex));
    expect(firstStatus(await bytes(res))).toBe(UNAUTHORIZED);
  });

  it('10,000 mutated requests through HTTP: never a 5xx, always an OCSP response or a 4xx', async () => {
    const seeds = [
      requestFor(issuerDer, goodSerial),
      requestFor(issuerDer, goodSerial, { nonce: randomBytes(16) }),
      requestFor(issuerDer, goodSerial, { hash: 'sha256' }),
      requestDer({ certIds: [{ issuerDer, serial: integerContent(goodSerial) }, { issuerDer, serial: '01' }] }),
    ];
    const mutation = fc.record({
      seed: fc.integer({ min: 0, max: seeds.length - 1 }),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'truncate')), { minLength: 1, maxLength: 4 }),
      get: fc.boolean(),
    });
    const mutate = (m: { seed: number; edits: Array<[number, number, string]>; get: boolean }) => {
      let b = Buffer.from(seeds[m.seed]);
      for (const [at, value, op] of m.edits) {
        const i = b.length ? at % b.length : 0;
        if (op === 'set' && b.length) b[i] = value;
        else if (op === 'insert') b = Buffer.concat([b.subarray(0, i), Buffer.of(value), b.subarray(i)]);
        else if (op === 'delete') b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
        else b = b.subarray(0, i);
      }
      return b;
    };
    const seen = new Map<string, number>();
    const unparseable: string[] = [];
    const samples = fc.sample(mutation, { numRuns: 10_000, seed: 20261127 });
    // Eight requests in flight at a time over keep-alive connections.
    for (let i = 0; i < samples.length; i += 8) {
      await Promise.all(
        samples.slice(i, i + 8).map(async (m) => {
          const body = mutate(m);
          const res = m.get ? await fetch(`${t.url}/ocsp/${encodeURIComponent(body.toString('base64'))}`) : await post(body);
          const der = await bytes(res);
          expect(res.status).toBeLessThan(500);
          let outcome: string;
          try {
            outcome = res.status === 200 ? firstStatus(der) : `http:${res.status}`;
          } catch (err) {
            outcome = 'unparseable';
            unparseable.push(`${body.toString('hex')} → ${der.toString('hex')}: ${(err as Error).message}`);
          }
          if (res.status === 200) expect(res.headers.get('content-type')).toBe('application/ocsp-response');
          seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
        }),
      );
    }
    expect(unparseable.slice(0, 3)).toEqual([]);
    expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(10_000);
    const failures = t.logs.filter((l) => l.msg === 'OCSP request failed').map((l) => JSON.stringify(l.err).slice(0, 600));
    expect(failures.slice(0, 2)).toEqual([]);
    expect(seen.has('error:2')).toBe(false); // internalError: a bug, not the client's fault
    expect(seen.get(MALFORMED)).toBeGreaterThan(100);
  }, 180_000);
});

describe('the fast path and the Koa pipeline answer alike', () => {
  /** A chunked POST (no Content-Length) is left to Koa; the same request with a length takes the fast path. */
  const chunked = (body: Uint8Array) =>
    fetch(`${t.url}/ocsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(body);
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
  const headersOf = (res: Response) => Object.fromEntries([...(res.headers as unknown as Iterable<[string, string]>)].filter(([name]) => !['date', 'x-request-id', 'keep-alive', 'connection'].includes(name)));

  it('same bytes and the same headers, whichever path answered', async () => {
    const request = requestFor(issuerDer, goodSerial);
    const fast = await post(request);
    const koa = await chunked(request);
    // Koa writes an info access line per request (with the id it made up); the fast path neither.
    const koaId = koa.headers.get('x-request-id');
    expect(koaId).toMatch(/^[0-9a-f-]{36}$/);
    expect(t.logs.some((l) => l.msg === 'request' && l.requestId === koaId)).toBe(true);
    expect(fast.headers.get('x-request-id')).toBeNull();
    expect(fast.status).toBe(200);
    expect(koa.status).toBe(200);
    expect(await bytes(fast)).toEqual(await bytes(koa));
    expect(headersOf(fast)).toEqual(headersOf(koa));
  });

  it('echoes a safe X-Request-Id from a proxy (an unsafe one is replaced) and counts the request in /metrics', async () => {
    const res = await fetch(`${t.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request', 'x-request-id': 'edge-42' }, body: requestFor(issuerDer, goodSerial) as BodyInit });
    expect(res.headers.get('x-request-id')).toBe('edge-42');
    const unsafe = await fetch(`${t.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request', 'x-request-id': 'a b<c>' }, body: requestFor(issuerDer, goodSerial) as BodyInit });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/http_request_duration_seconds_count\{method="POST",route="\/ocsp",status="200"\} \d+/);
  });

  it('GET with If-None-Match gets 304 on the fast path', async () => {
    const path = encodeURIComponent(requestFor(issuerDer, goodSerial).toString('base64'));
    const first = await fetch(`${t.url}/ocsp/${path}`);
    const etag = first.headers.get('etag')!;
    expect(etag).toBeTruthy();
    const again = await fetch(`${t.url}/ocsp/${path}`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });
});
