import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';

/**
 * Issue 20: `POST /oidc/token` is answered ahead of the host Koa application
 * (src/web/token-fast-path.ts) when the request is plain (that path, no query, a declared length
 * within the body limit, not chunked); anything else goes through the host application. Both ways
 * must give the same answer, headers, access line, metrics and throttling, behind one trusted
 * proxy (TRUST_PROXY=1) as in client-auth-throttling.test.ts.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let secret: string;
const clientId = 'may-duong-tat';

beforeAll(async () => {
  t = await startTestService({
    env: { TRUST_PROXY: '1', CLIENT_AUTH_MAX_FAILURES_PER_CLIENT_ADDRESS: '10', CLIENT_AUTH_MAX_FAILURES_PER_ADDRESS: '50', LOGIN_LOCK_SECONDS: '30', LOGIN_FAILURE_WINDOW_SECONDS: '600', BODY_LIMIT_BYTES: '4096' },
  });
  secret = (await t.service.clients.add('test', { clientId, name: 'Máy đường tắt', grantTypes: ['client_credentials'], scopes: ['certs:read'] })).secret!;
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const basic = (id: string, s: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(s)}`).toString('base64')}`;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** A POST through node:http: `chunked` sends the body without Content-Length (the host application's way). */
function post(path: string, headers: Record<string, string>, body: string, chunked = false): Promise<Answer> {
  const url = new URL(path, t.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: chunked ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
      });
    });
    req.on('error', reject);
    if (chunked) {
      // Two writes without a length: node:http sends Transfer-Encoding: chunked.
      req.write(body.slice(0, 5));
      req.end(body.slice(5));
    } else req.end(body);
  });
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const grant = (real: string, s: string, extra: Record<string, string> = {}, chunked = false, path = '/oidc/token') =>
  post(path, { ...form, authorization: basic(clientId, s), 'x-forwarded-for': real, ...extra }, 'grant_type=client_credentials&scope=certs%3Aread', chunked);

const SECURITY_HEADERS = ['x-content-type-options', 'referrer-policy', 'x-frame-options', 'cross-origin-opener-policy', 'content-security-policy', 'cache-control', 'pragma', 'content-type'];
const pick = (h: Answer['headers']) => Object.fromEntries(SECURITY_HEADERS.map((k) => [k, h[k]]));

describe(`the token endpoint's lean path (${db})`, () => {
  it('answers a grant as the host application does: same status, headers, request id, access line and metrics', async () => {
    const fast = await grant('198.51.100.30', secret, { 'x-request-id': 'yeu-cau-nhanh-1' });
    const slow = await grant('198.51.100.30', secret, { 'x-request-id': 'yeu-cau-cham-1' }, true);
    expect(fast.status).toBe(200);
    expect(slow.status).toBe(200);
    expect(String(fast.body.access_token).split('.')).toHaveLength(3);
    expect(pick(fast.headers)).toEqual(pick(slow.headers));
    expect(fast.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(fast.headers['x-content-type-options']).toBe('nosniff');
    expect(fast.headers['cache-control']).toBe('no-store');
    expect(fast.headers['x-request-id']).toBe('yeu-cau-nhanh-1');
    expect(slow.headers['x-request-id']).toBe('yeu-cau-cham-1');
    // An unsafe request id is replaced, not echoed.
    const unsafe = await grant('198.51.100.30', secret, { 'x-request-id': 'co khoang trang' });
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    for (const id of ['yeu-cau-nhanh-1', 'yeu-cau-cham-1']) {
      const line = t.logs.find((l) => l.msg === 'request' && l.requestId === id);
      expect(line).toMatchObject({ req: { method: 'POST', path: '/oidc/token', ip: '198.51.100.30' }, res: { status: 200 }, route: '/oidc/*' });
      expect(typeof line!.durationMs).toBe('number');
    }
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/http_request_duration_seconds_count\{method="POST",route="\/oidc\/\*",status="200"\} [3-9]/);
  });

  it('OAuth errors and refusals are the same both ways', async () => {
    for (const chunked of [false, true]) {
      const unsupported = await post('/oidc/token', { ...form, authorization: basic(clientId, secret), 'x-forwarded-for': '198.51.100.31' }, 'grant_type=password&username=a&password=b', chunked);
      expect(unsupported.status).toBe(400);
      expect(unsupported.body.error).toBe('unsupported_grant_type');
      expect(unsupported.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
      const scope = await post('/oidc/token', { ...form, authorization: basic(clientId, secret), 'x-forwarded-for': '198.51.100.31' }, 'grant_type=client_credentials&scope=certs%3Arevoke', chunked);
      expect(scope.status).toBe(400);
      expect(scope.body.error).toBe('invalid_scope');
    }
    // Not the lean path's to answer: a query string, an oversized declared body (the host's 413).
    const query = await grant('198.51.100.31', secret, {}, false, '/oidc/token?x=1');
    expect(query.status).toBe(200);
    const big = await post('/oidc/token', { ...form, authorization: basic(clientId, secret), 'x-forwarded-for': '198.51.100.31' }, `grant_type=client_credentials&pad=${'a'.repeat(5000)}`);
    expect(big.status).toBe(413);
    expect(big.headers['content-type']).toMatch(/^application\/problem\+json/);
    // The host's problem document carries the same security headers, the deny-all CSP and its request id.
    expect(pick(big.headers)).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'content-security-policy': "default-src 'none'; frame-ancestors 'none'" });
    expect(big.body.requestId).toBe(big.headers['x-request-id']);
    // A JSON answer of the lean path with the request's own logger: its access line names the request id it answered with.
    const named = await grant('198.51.100.31', secret, { 'x-request-id': 'yeu-cau-nhanh-2' });
    expect(named.headers['x-request-id']).toBe('yeu-cau-nhanh-2');
    expect(t.logs.filter((l) => l.msg === 'request' && l.requestId === 'yeu-cau-nhanh-2')).toHaveLength(1);
  });

  it('a forged X-Forwarded-For does not escape the throttle: a parallel burst of wrong secrets locks the real address', async () => {
    const real = '203.0.113.40';
    // 30 wrong secrets at once, each with a different forged entry in front of the proxy's.
    const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => grant(`10.9.0.${i}, ${real}`, `sai-${i}`)));
    const checked = burst.filter((r) => r.status === 401);
    const refused = burst.filter((r) => r.status === 429);
    expect(checked.length + refused.length).toBe(30);
    expect(checked.length).toBeLessThanOrEqual(10);
    for (const r of refused) expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // The right secret from the locked address waits too, whichever way it comes; from elsewhere it is admitted.
    expect((await grant(`10.9.1.1, ${real}`, secret)).status).toBe(429);
    expect((await grant(real, secret, {}, true)).status).toBe(429);
    expect((await grant('203.0.113.41', secret)).status).toBe(200);
    const failures = await t.service.audit.list({ action: 'client_auth.failure', target: `client:${clientId}`, limit: 100 });
    const fromReal = failures.filter((e) => (e.details as { ip: string }).ip === real);
    expect(fromReal).toHaveLength(checked.length);
    // The throttle's refusals on the lean path are counted under the route.
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/http_request_duration_seconds_count\{method="POST",route="\/oidc\/\*",status="429"\} [1-9]/);
  });

  it('a rotated secret is refused at once and the new one admitted (the kept Client follows the registry)', async () => {
    const real = '198.51.100.32';
    expect((await grant(real, secret)).status).toBe(200);
    // The registry keeps its verdict for an attempt and answers it again for the same entry
    // (oidc/clients/client-registry.ts, secretOf): a rotated secret is another entry, compared again.
    const attempt = Object.freeze({ clientId, secret, ip: real, endpoint: '/oidc/token' });
    expect(await t.service.clients.secretMatches(clientId, secret, attempt)).toBe(true);
    expect(await t.service.clients.secretMatches(clientId, secret, attempt)).toBe(true);
    const rotated = await t.service.clients.rotateSecret('test', clientId);
    expect(await t.service.clients.secretMatches(clientId, secret, attempt)).toBe(false);
    const old = await grant(real, secret);
    expect(old.status).toBe(401);
    expect(old.body.error).toBe('invalid_client');
    expect((await grant(real, rotated)).status).toBe(200);
    secret = rotated;
    // Removed: refused at once.
    const other = (await t.service.clients.add('test', { clientId: 'may-tam-thoi', name: 'Máy tạm thời', grantTypes: ['client_credentials'], scopes: ['certs:read'] })).secret!;
    const asOther = () => post('/oidc/token', { ...form, authorization: basic('may-tam-thoi', other), 'x-forwarded-for': real }, 'grant_type=client_credentials&scope=certs%3Aread');
    expect((await asOther()).status).toBe(200);
    await t.service.clients.remove('test', 'may-tam-thoi');
    expect((await asOther()).status).toBe(401);
  });
});
