import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import * as client from 'openid-client';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, codeLogin, createOfficial, discover } from '../../support/oidc-rp.js';

/**
 * Issue 3, acceptance 2: the service's own REST API accepts only JWT access tokens of this
 * provider for the API resource (RFC 9068), with the route's scope (RFC 6750 errors otherwise).
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let api: string;
let issuer: string;
const admin = { id: 'he-thong-quan-tri', secret: '' };
const reader = { id: 'he-thong-tra-cuu', secret: '' };

beforeAll(async () => {
  t = await startTestService();
  api = `${t.url}/api`;
  issuer = `${t.url}/oidc`;
  admin.secret = (await t.service.clients.add('test', { clientId: admin.id, name: 'Hệ thống quản trị', grantTypes: ['client_credentials'], scopes: ['certs:read', 'admin'] })).secret!;
  reader.secret = (await t.service.clients.add('test', { clientId: reader.id, name: 'Hệ thống tra cứu', grantTypes: ['client_credentials'], scopes: ['certs:read'] })).secret!;
});

afterAll(async () => {
  await t?.close();
});

async function machineToken(c: { id: string; secret: string }, scope: string): Promise<string> {
  const config = await discover(t.url, c.id, c.secret);
  const tokens = await client.clientCredentialsGrant(config, { scope });
  return tokens.access_token;
}

const auditEvents = (token?: string) => fetch(`${t.url}/api/v1/audit/events?limit=5`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

/** Parses `Bearer realm="…", error="…", …` (RFC 6750 §3). */
function challenge(res: Response): Record<string, string> {
  const header = res.headers.get('www-authenticate') ?? '';
  expect(header).toMatch(/^Bearer /);
  return Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

async function expectInvalidToken(res: Response, description?: RegExp): Promise<void> {
  expect(res.status).toBe(401);
  const c = challenge(res);
  expect(c.error).toBe('invalid_token');
  if (description) expect(c.error_description).toMatch(description);
  await res.arrayBuffer();
}

describe(`API access tokens (${db})`, () => {
  it('client credentials: a JWT access token for the API resource reaches a route that needs its scope', async () => {
    const token = await machineToken(admin, 'certs:read admin');
    const header = decodeProtectedHeader(token);
    expect(header.typ).toBe('at+jwt');
    // It verifies against the published JWKS, with the API as audience (RFC 9068 §2.2).
    const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));
    const { payload } = await jwtVerify(token, jwks, { issuer, audience: api, typ: 'at+jwt' });
    expect(payload.client_id).toBe(admin.id);
    expect(String(payload.scope).split(' ').sort()).toEqual(['admin', 'certs:read']);

    const res = await auditEvents(token);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { events: Array<{ action: string }> };
    expect(body.events.length).toBeGreaterThan(0);
    // The scheme name is case-insensitive (RFC 7235 §2.1).
    const lower = await fetch(`${t.url}/api/v1/audit/events?limit=1`, { headers: { authorization: `bearer ${token}` } });
    expect(lower.status).toBe(200);
    await lower.arrayBuffer();
  });

  it('a client gets no API scope it is not registered for: invalid_scope (RFC 6749 §5.2, issue 21), and its own scope says what was granted', async () => {
    const config = await discover(t.url, reader.id, reader.secret);
    await expect(client.clientCredentialsGrant(config, { scope: 'certs:read admin' })).rejects.toMatchObject({ error: 'invalid_scope' });
    const tokens = await client.clientCredentialsGrant(config, { scope: 'certs:read' });
    expect(tokens.scope).toBe('certs:read');
    expect(decodeJwt(tokens.access_token).scope).toBe('certs:read');
  });

  it('a requested scope found within one registration is not taken as found within another, and a refusal follows accepted requests (the scope check kept per registration, docs/performance.md)', async () => {
    const wide = await discover(t.url, admin.id, admin.secret);
    const narrow = await discover(t.url, reader.id, reader.secret);
    for (let i = 0; i < 3; i++) expect((await client.clientCredentialsGrant(wide, { scope: 'admin certs:read' })).scope?.split(' ').sort()).toEqual(['admin', 'certs:read']);
    await expect(client.clientCredentialsGrant(narrow, { scope: 'admin certs:read' })).rejects.toMatchObject({ error: 'invalid_scope' });
    for (let i = 0; i < 3; i++) expect((await client.clientCredentialsGrant(narrow, { scope: 'certs:read' })).scope).toBe('certs:read');
    await expect(client.clientCredentialsGrant(narrow, { scope: 'certs:read admin' })).rejects.toMatchObject({ error: 'invalid_scope' });
    await expect(client.clientCredentialsGrant(wide, { scope: 'admin certs:read certs:nonexistent' })).rejects.toMatchObject({ error: 'invalid_scope' });
  });

  it('a valid token without the route’s scope gets 403 insufficient_scope', async () => {
    const token = await machineToken(reader, 'certs:read');
    const res = await auditEvents(token);
    expect(res.status).toBe(403);
    const c = challenge(res);
    expect(c.error).toBe('insufficient_scope');
    expect(c.scope).toBe('admin');
    await res.arrayBuffer();
  });

  it('no token: 401 with a bare Bearer challenge (RFC 6750 §3.1)', async () => {
    const res = await auditEvents();
    expect(res.status).toBe(401);
    const c = challenge(res);
    expect(c.realm).toBe('tinnhiem');
    expect(c.error).toBeUndefined();
    await res.arrayBuffer();
  });

  it('a token signed with a foreign key (same kid, claims and header) gets 401 invalid_token', async () => {
    const real = decodeJwt(await machineToken(admin, 'certs:read admin'));
    const realHeader = decodeProtectedHeader(await machineToken(admin, 'admin'));
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ ...real }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: realHeader.kid }).sign(privateKey);
    await expectInvalidToken(await auditEvents(forged), /signature/);
  });

  it('a real token whose payload was altered gets 401 invalid_token', async () => {
    const reading = await machineToken(reader, 'certs:read');
    const [h, p, s] = reading.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    const tampered = [h, Buffer.from(JSON.stringify({ ...payload, scope: 'certs:read admin' })).toString('base64url'), s].join('.');
    await expectInvalidToken(await auditEvents(tampered), /signature/);
    // The untouched token is fine (only its scope is short).
    expect((await auditEvents(reading)).status).toBe(403);
  });

  it('tokens for another audience get 401 invalid_token: the login’s userinfo token, an ID token, a JWT for another resource', async () => {
    const portal = await t.service.clients.add('test', { clientId: 'cong-thong-tin', name: 'Cổng thông tin', redirectUris: ['http://127.0.0.1:9/cb'], scopes: ['openid', 'profile'], firstParty: true });
    const official = await createOfficial(t, { roles: ['admin'] });
    const config = await discover(t.url, 'cong-thong-tin', portal.secret!);
    const { tokens } = await codeLogin(config, new Browser(), 'http://127.0.0.1:9/cb', official, { scope: 'openid profile' });
    // Without resource=…/api the login's access token is an opaque token for userinfo only.
    await expectInvalidToken(await auditEvents(tokens.access_token));
    await expectInvalidToken(await auditEvents(tokens.id_token!));

    // Signed with the provider's own active key, right issuer and type, another audience: only
    // the audience check can refuse it.
    const keys = await t.service.signingKeys.load();
    const jwk = keys.privateJwks.find((k) => k.kty === 'EC') as JWK;
    const now = Math.floor(Date.now() / 1000);
    const other = await new SignJWT({ client_id: admin.id, scope: 'admin certs:read' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: jwk.kid })
      .setIssuer(issuer)
      .setSubject(admin.id)
      .setAudience('https://another-service.example.gov.vn/api')
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .setJti('x')
      .sign(await importJWK(jwk, 'ES256'));
    await expectInvalidToken(await auditEvents(other), /aud/);
  });

  it('a real token is refused once it expired (the clock moved past exp + tolerance)', async () => {
    const token = await machineToken(admin, 'certs:read admin');
    const { exp } = decodeJwt(token);
    expect((await auditEvents(token)).status).toBe(200);
    // Move only Date (timers and I/O run normally) just past exp and the verifier's 5 s of skew.
    jest.useFakeTimers({
      doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
      now: (exp! + 6) * 1000,
    });
    try {
      await expectInvalidToken(await auditEvents(token), /expired/);
    } finally {
      jest.useRealTimers();
    }
    expect((await auditEvents(token)).status).toBe(200);
  });
});
