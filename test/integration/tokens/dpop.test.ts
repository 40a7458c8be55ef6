import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { discover } from '../../support/oidc-rp.js';
import { startCluster, type Cluster } from './token-support.js';

/**
 * Issue 17, acceptance 2: DPoP (RFC 9449) enforced at /api/v1 for DPoP-bound tokens. The happy
 * path with openid-client's DPoP support; one refused request for each broken part of a proof
 * (wrong key, htu, htm, stale iat, replayed jti — at the other node too —, missing or wrong ath)
 * and for a bound token sent as Bearer. Two nodes on PostgreSQL (one on the embedded database).
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL, two nodes' : 'embedded, one node';
let cluster: Cluster;
let config: client.Configuration;
const path = '/api/v1/certificate-requests';

interface Key {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, publicJwk: await exportJWK(publicKey) };
}

beforeAll(async () => {
  cluster = await startCluster();
  const { secret } = await cluster.nodes[0].service.clients.add('test', { clientId: 'ky-so', name: 'Ký số', grantTypes: ['client_credentials'], scopes: ['certs:read'] });
  config = await discover(cluster.url, 'ky-so', secret!);
});

afterAll(async () => {
  await cluster?.close();
});

/** A token bound to `key` (the token request carries a DPoP proof made by openid-client). */
async function boundToken(key: Key): Promise<string> {
  const handle = client.getDPoPHandle(config, { privateKey: key.privateKey, publicKey: await crypto.subtle.importKey('jwk', key.publicJwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']) });
  const tokens = await client.clientCredentialsGrant(config, { scope: 'certs:read' }, { DPoP: handle });
  expect(tokens.token_type.toLowerCase()).toBe('dpop');
  return tokens.access_token;
}

interface ProofParts {
  htm?: string;
  htu?: string;
  iat?: number;
  jti?: string;
  ath?: string | null;
  signer?: Key;
}

async function proof(key: Key, token: string, parts: ProofParts = {}): Promise<string> {
  const signer = parts.signer ?? key;
  const claims: Record<string, unknown> = {
    htm: parts.htm ?? 'GET',
    htu: parts.htu ?? `${cluster.url}${path}`,
    jti: parts.jti ?? randomUUID(),
    ...(parts.ath !== null && { ath: parts.ath ?? createHash('sha256').update(token).digest('base64url') }),
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: signer.publicJwk })
    .setIssuedAt(parts.iat ?? Math.floor(Date.now() / 1000))
    .sign(signer.privateKey);
}

async function call(node: number, token: string, dpop: string | undefined, scheme = 'DPoP'): Promise<{ status: number; challenge: string }> {
  const res = await fetch(`${cluster.nodes[node].url}${path}`, { headers: { authorization: `${scheme} ${token}`, ...(dpop && { dpop }) } });
  await res.arrayBuffer();
  return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '' };
}

function expectProofRefused(r: { status: number; challenge: string }, description: RegExp): void {
  expect(r.status).toBe(401);
  expect(r.challenge).toMatch(/^DPoP /);
  expect(r.challenge).toContain('error="invalid_dpop_proof"');
  expect(r.challenge).toMatch(description);
}

describe(`DPoP at /api/v1 (${db})`, () => {
  it("happy path: openid-client's DPoP support, on every node, each request with a fresh proof", async () => {
    const key = await newKey();
    const handle = client.getDPoPHandle(config, { privateKey: key.privateKey, publicKey: await crypto.subtle.importKey('jwk', key.publicJwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']) });
    const tokens = await client.clientCredentialsGrant(config, { scope: 'certs:read' }, { DPoP: handle });
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: await calculateJwkThumbprint(key.publicJwk) });
    for (let i = 0; i < 2 * cluster.nodes.length; i++) {
      const res = await client.fetchProtectedResource(config, tokens.access_token, new URL(`${cluster.url}${path}`), 'GET', undefined, undefined, { DPoP: handle });
      expect(res.status).toBe(200);
    }
    // Introspection says what it is bound to.
    expect(await client.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: await calculateJwkThumbprint(key.publicJwk) } });
  });

  it('a bound token sent as Bearer, or without a proof: 401', async () => {
    const key = await newKey();
    const token = await boundToken(key);
    const bearer = await call(0, token, undefined, 'Bearer');
    expect(bearer.status).toBe(401);
    expect(bearer.challenge).toMatch(/error="invalid_token"/);
    // Even with a valid proof beside it: the scheme says Bearer.
    expect((await call(0, token, await proof(key, token), 'Bearer')).status).toBe(401);
    expectProofRefused(await call(0, token, undefined), /proof is required/);
  });

  it('a proof signed with another key than the one the token names: 401 invalid_dpop_proof', async () => {
    const key = await newKey();
    const token = await boundToken(key);
    expectProofRefused(await call(0, token, await proof(key, token, { signer: await newKey() })), /not signed with the key/);
  });

  it('a wrong htu (another host, or the address the Host header names instead of PUBLIC_URL): 401', async () => {
    const key = await newKey();
    const token = await boundToken(key);
    expectProofRefused(await call(0, token, await proof(key, token, { htu: `https://evil.example${path}` })), /htu/);
    expectProofRefused(await call(0, token, await proof(key, token, { htu: `${cluster.url}/api/v1/certificates` })), /htu/);
    if (cluster.nodes[0].url !== cluster.url) expectProofRefused(await call(0, token, await proof(key, token, { htu: `${cluster.nodes[0].url}${path}` })), /htu/);
    // The query and fragment are not part of the comparison (RFC 9449 §4.3 check 9).
    expect((await call(0, token, await proof(key, token, { htu: `${cluster.url}${path}?x=1#y` }))).status).toBe(200);
  });

  it('a wrong htm: 401', async () => {
    const key = await newKey();
    const token = await boundToken(key);
    expectProofRefused(await call(0, token, await proof(key, token, { htm: 'POST' })), /htm/);
  });

  it('a stale iat (or one from the future): 401', async () => {
    const key = await newKey();
    const token = await boundToken(key);
    const now = Math.floor(Date.now() / 1000);
    expectProofRefused(await call(0, token, await proof(key, token, { iat: now - 120 })), /iat/);
    expectProofRefused(await call(0, token, await proof(key, token, { iat: now + 120 })), /iat/);
  });

  it('a missing or wrong ath: 401', async () => {
    const key = await newKey();
    const token = await boundToken(key);
    expectProofRefused(await call(0, token, await proof(key, token, { ath: null })), /ath/);
    expectProofRefused(await call(0, token, await proof(key, token, { ath: createHash('sha256').update('another token').digest('base64url') })), /ath/);
  });

  it('a replayed jti: refused at the same node and at the other node', async () => {
    const key = await newKey();
    const token = await boundToken(key);
    const once = await proof(key, token);
    expect((await call(0, token, once)).status).toBe(200);
    for (let node = 0; node < cluster.nodes.length; node++) expectProofRefused(await call(node, token, once), /used before/);
    // A new proof with the same jti is the same replay.
    const jti = randomUUID();
    expect((await call(cluster.nodes.length - 1, token, await proof(key, token, { jti }))).status).toBe(200);
    expectProofRefused(await call(0, token, await proof(key, token, { jti })), /used before/);
  });

  it('a proof MACed with a shared secret, or carrying a private key: 401', async () => {
    const key = await newKey();
    const token = await boundToken(key);
    const ath = createHash('sha256').update(token).digest('base64url');
    const claims = { htm: 'GET', htu: `${cluster.url}${path}`, jti: randomUUID(), ath };
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.publicJwk }).setIssuedAt().sign(new TextEncoder().encode('a-shared-secret-of-32-bytes-long!'));
    expectProofRefused(await call(0, token, hs), /algorithm/);
    const privateJwk = await exportJWK(key.privateKey);
    const withD = await new SignJWT({ ...claims, jti: randomUUID() }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: privateJwk }).setIssuedAt().sign(key.privateKey);
    expectProofRefused(await call(0, token, withD), /public key/);
    // Two DPoP headers (RFC 9449 §4.3 check 1).
    const res = await fetch(`${cluster.nodes[0].url}${path}`, { headers: [['authorization', `DPoP ${token}`], ['dpop', await proof(key, token)], ['dpop', await proof(key, token)]] });
    await res.arrayBuffer();
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/invalid_dpop_proof.*more than one/);
  });

  it('the DPoP scheme with a token that is not bound: 401', async () => {
    const plain = (await client.clientCredentialsGrant(config, { scope: 'certs:read' })).access_token;
    expect(decodeJwt(plain).cnf).toBeUndefined();
    const key = await newKey();
    const r = await call(0, plain, await proof(key, plain));
    expect(r.status).toBe(401);
    expect(r.challenge).toMatch(/error="invalid_token"/);
  });
});
