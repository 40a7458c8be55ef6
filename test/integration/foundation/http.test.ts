import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';

let t: TestService;

beforeAll(async () => {
  t = await startTestService({ env: { BODY_LIMIT_BYTES: '2048' } });
});
afterAll(async () => {
  await t?.close();
});

/** Sends a body without Content-Length (chunked), which only a streaming limit can stop. */
function postChunked(url: string, chunks: Buffer[]): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('HTTP front end', () => {
  it('answers liveness and readiness', async () => {
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', migrations: 'ok' } });
  });

  it('renders unknown routes as 404 problem+json', async () => {
    const res = await fetch(`${t.url}/no/such/thing?x=1`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await res.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ type: 'urn:tinnhiem:problem:not-found', status: 404, title: 'Not found', instance: '/no/such/thing' });
    expect(problem.requestId).toBe(res.headers.get('x-request-id'));
  });

  it('refuses a declared oversized body with 413 before reading it', async () => {
    const res = await fetch(`${t.url}/healthz`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(4096) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ type: 'urn:tinnhiem:problem:payload-too-large', limitBytes: 2048 });
  });

  it('stops a chunked body that grows past the limit with 413', async () => {
    const res = await postChunked(`${t.url}/anything`, [Buffer.from('['), Buffer.alloc(3000, 0x31), Buffer.from(']')]);
    expect(res.status).toBe(413);
    expect(res.type).toMatch(/problem\+json/);
  });

  it('answers malformed JSON with 400 naming the problem', async () => {
    const res = await fetch(`${t.url}/anything`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a": ' });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { type: string; detail: string };
    expect(problem.type).toBe('urn:tinnhiem:problem:malformed-json');
    expect(problem.detail).toMatch(/not valid JSON/);
  });

  it('answers a wrong method on a known route with 405 and Allow', async () => {
    const res = await fetch(`${t.url}/healthz`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toContain('GET');
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('keeps a safe incoming request id and replaces an unsafe one', async () => {
    const kept = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'lb-1234.abc' } });
    expect(kept.headers.get('x-request-id')).toBe('lb-1234.abc');
    const replaced = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'evil\tinjected value' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets protective headers on every response', async () => {
    const res = await fetch(`${t.url}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('exposes Prometheus metrics with a request histogram by route template and status', async () => {
    await fetch(`${t.url}/healthz`);
    await fetch(`${t.url}/does-not-exist-${Date.now()}`);
    const res = await fetch(`${t.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} \d+/);
    // Unknown paths share one label: no cardinality explosion from scanners.
    expect(text).toMatch(/route="unmatched",status="404"/);
    expect(text).not.toContain('does-not-exist');
  });

  it('never logs credentials or query strings', async () => {
    await fetch(`${t.url}/healthz?code=SECRET-CODE-123&access_token=tok`, {
      headers: { authorization: 'Bearer SECRET-TOKEN-456', cookie: 'session=SECRET-COOKIE' },
    });
    const logged = JSON.stringify(t.logs);
    expect(logged).toContain('"path":"/healthz"');
    for (const secret of ['SECRET-CODE-123', 'SECRET-TOKEN-456', 'SECRET-COOKIE']) expect(logged).not.toContain(secret);
  });
});

describe('readiness when the database is gone', () => {
  it('answers 503 problem+json quickly instead of hanging', async () => {
    const local = await startTestService();
    try {
      await local.service.db.knex.destroy();
      const started = Date.now();
      const res = await fetch(`${local.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ type: 'urn:tinnhiem:problem:unavailable', failing: expect.arrayContaining(['database']) });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await local.close().catch(() => undefined);
    }
  });
});
