import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Buffer } from 'node:buffer';
import { createHash, KeyObject, webcrypto } from 'node:crypto';
import {
  buildBasicResponse,
  certIdFor,
  ecdsaP1363ToDer,
  errorResponse,
  issuerFromCertificate,
  IssuerIndex,
  ocspCacheHeaders,
  parseOcspRequest,
  prepareResponder,
  presignedKey,
  presignResponse,
  presignSingleResponse,
  webCryptoSigner,
  type OcspRequest,
  type OcspResponder,
} from '../../../../ca/status/ocsp/index.js';
import { certificateNameAndKey } from '../../../../ca/status/ocsp/issuers.js';
import { createTestPki, generateKeys, type TestKeyKind, type TestPki } from '../../../support/test-pki.js';
import { inspectResponse } from './inspect-response.js';
import { nonceExtension, requestDer } from './request-builder.js';

const NOW = new Date('2026-03-01T08:00:00.000Z');
const HOUR = 3_600_000;
let pki: TestPki;
let index: IssuerIndex;
let responder: OcspResponder;

beforeAll(async () => {
  pki = await createTestPki();
  index = new IssuerIndex([issuerFromCertificate('issuing', pki.issuing.der)]);
  responder = prepareResponder({ certificate: pki.signer.der, signer: webCryptoSigner(pki.signer.keys.privateKey) });
});
afterAll(() => pki.cleanup());

function parse(der: Uint8Array): OcspRequest {
  const r = parseOcspRequest(der);
  if (!r.ok) throw new Error(r.reason);
  return r.request;
}

describe('buildBasicResponse', () => {
  it('answers good, revoked (with reason) and unknown, echoing each CertID and the nonce', async () => {
    const nonce = Buffer.alloc(32, 0x5a);
    const req = parse(
      requestDer({
        certIds: [
          { issuerDer: pki.issuing.der, serial: '1001' },
          { issuerDer: pki.issuing.der, serial: '1002', hash: 'sha256' },
          { issuerDer: pki.issuing.der, serial: '1003', hash: 'sha512', params: 'absent' },
          { issuerDer: pki.issuing.der, serial: '1004' },
        ],
        extensions: [nonceExtension(nonce)],
      }),
    );
    const [a, b, c, d] = req.certIds;
    const revokedAt = new Date(NOW.getTime() - 2 * HOUR);
    const next = new Date(NOW.getTime() + 24 * HOUR);
    const resp = await buildBasicResponse({
      responder,
      producedAt: NOW,
      nonce: req.nonce,
      responses: [
        { certId: a, status: { status: 'good' }, thisUpdate: NOW, nextUpdate: next },
        { certId: b, status: { status: 'revoked', revokedAt, reason: 'keyCompromise' }, thisUpdate: NOW, nextUpdate: next },
        { certId: c, status: { status: 'unknown' }, thisUpdate: NOW, nextUpdate: next },
        { certId: d, status: { status: 'revoked', revokedAt, reason: 'certificateHold' }, thisUpdate: NOW },
      ],
    });
    const seen = inspectResponse(resp.der, pki.signer.der);
    expect(seen.status).toBe(0);
    expect(seen.signatureValid).toBe(true);
    expect(seen.signatureOid).toBe('1.2.840.10045.4.3.2');
    expect(seen.producedAt).toEqual(NOW);
    expect(seen.responderKeyHash).toBe(createHash('sha1').update(certificateNameAndKey(pki.signer.der).publicKey).digest('hex'));
    expect(seen.certCount).toBe(1);
    expect(seen.nonce).toEqual(Buffer.from(req.nonce!.extnValue));
    expect(seen.responses.map((r) => [r.serialHex, r.hashOid, r.status, r.reason])).toEqual([
      ['1001', '1.3.14.3.2.26', 'good', undefined],
      ['1002', '2.16.840.1.101.3.4.2.1', 'revoked', 1],
      ['1003', '2.16.840.1.101.3.4.2.3', 'unknown', undefined],
      ['1004', '1.3.14.3.2.26', 'revoked', 6],
    ]);
    expect(seen.responses[1].revokedAt).toEqual(revokedAt);
    expect(seen.responses[0].nextUpdate).toEqual(next);
    expect(seen.responses[3].nextUpdate).toBeUndefined();
    // The CertIDs are the request's bytes, hash AlgorithmIdentifier included (absent parameters stay absent).
    for (const id of req.certIds) expect(resp.der.includes(Buffer.from(id.hashAlgorithm))).toBe(true);
    expect(resp).toMatchObject({ producedAt: NOW, thisUpdate: NOW, nextUpdate: undefined, hasNonce: true });
    expect(resp.etag).toBe(`"${createHash('sha256').update(resp.der).digest('base64url')}"`);
  });
});

describe('buildBasicResponse options and refusals', () => {
  it('omits the revocation reason when none is given and the certificates when asked', async () => {
    const certId = certIdFor(index.get('issuing')!, '1001');
    const resp = await buildBasicResponse({
      responder,
      producedAt: NOW,
      includeCerts: false,
      responses: [{ certId, status: { status: 'revoked', revokedAt: NOW }, thisUpdate: NOW, nextUpdate: new Date(NOW.getTime() + HOUR) }],
    });
    const seen = inspectResponse(resp.der, pki.signer.der);
    expect(seen.certCount).toBe(0);
    expect(seen.responses[0].status).toBe('revoked');
    expect(seen.responses[0].reason).toBeUndefined();
    expect(resp.hasNonce).toBe(false);
  });

  // `subtle` given: the path a non-native provider (PKCS#11) takes; absent: node:crypto directly.
  it.each<[TestKeyKind, 'native' | 'subtle']>([
    ['P-256', 'subtle'],
    ['P-384', 'native'],
    ['P-384', 'subtle'],
    ['RSA', 'native'],
    ['RSA', 'subtle'],
    ['RSA-PSS', 'native'],
    ['RSA-PSS', 'subtle'],
    ['Ed25519', 'native'],
    ['Ed25519', 'subtle'],
  ])('signs with a %s key (%s)', async (kind, path) => {
    const keys = await generateKeys(kind);
    const signer = webCryptoSigner(keys.privateKey, path === 'subtle' ? { subtle: webcrypto.subtle as SubtleCrypto } : {});
    // Only the signature matters here (peer tests cover certified signers): verify with the key itself.
    const r = prepareResponder({ certificate: pki.signer.der, signer });
    const resp = await buildBasicResponse({ responder: r, producedAt: NOW, responses: [{ certId: certIdFor(index.get('issuing')!, '01'), status: { status: 'good' }, thisUpdate: NOW }] });
    const seen = inspectResponse(resp.der, KeyObject.from(keys.publicKey));
    expect(seen.signatureValid).toBe(true);
    const expected = { 'P-256': '1.2.840.10045.4.3.2', 'P-384': '1.2.840.10045.4.3.3', RSA: '1.2.840.113549.1.1.11', 'RSA-PSS': '1.2.840.113549.1.1.10', Ed25519: '1.3.101.112' }[kind as string];
    expect(seen.signatureOid).toBe(expected);
  });

  it('refuses SHA-1 keys, public keys and inconsistent inputs', async () => {
    const sha1Rsa = (await crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-1' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    expect(() => webCryptoSigner(sha1Rsa.privateKey)).toThrow(/SHA-256/);
    expect(() => webCryptoSigner(sha1Rsa.publicKey)).toThrow(/private key/);
    expect(() => webCryptoSigner(pki.signer.keys.privateKey, { hash: 'SHA-1' as 'SHA-256' })).toThrow(/unsupported signature hash/);
    await expect(buildBasicResponse({ responder, producedAt: NOW, responses: [] })).rejects.toThrow(/at least one/);
    const certId = certIdFor(index.get('issuing')!, '01');
    await expect(
      buildBasicResponse({ responder, producedAt: NOW, responses: [{ certId, status: { status: 'good' }, thisUpdate: NOW, nextUpdate: new Date(NOW.getTime() - 1) }] }),
    ).rejects.toThrow(/nextUpdate before thisUpdate/);
  });
});

describe('error responses', () => {
  it('are unsigned OCSPResponses with only the status (RFC 6960 §4.2.1)', () => {
    expect(errorResponse('malformedRequest').toString('hex')).toBe('30030a0101');
    expect(errorResponse('internalError').toString('hex')).toBe('30030a0102');
    expect(errorResponse('tryLater').toString('hex')).toBe('30030a0103');
    expect(errorResponse('unauthorized').toString('hex')).toBe('30030a0106');
    expect(inspectResponse(errorResponse('unauthorized')).status).toBe(6);
    errorResponse('tryLater')[0] = 0;
    expect(errorResponse('tryLater')[0]).toBe(0x30);
  });
});

describe('pre-signed responses (RFC 5019)', () => {
  it('answers a no-nonce SHA-1 request of the same serial with the cached bytes', async () => {
    const issuer = index.get('issuing')!;
    const thisUpdate = new Date(NOW.getTime() - HOUR);
    const nextUpdate = new Date(NOW.getTime() + 3 * 24 * HOUR);
    const resp = await presignResponse({ responder, issuer, serial: pki.leaf('leaf-high').serialHex, status: { status: 'good' }, thisUpdate, nextUpdate, producedAt: NOW });
    const seen = inspectResponse(resp.der, pki.signer.der);
    expect(seen.signatureValid).toBe(true);
    expect(seen.responses[0]).toMatchObject({ serialHex: '00c3a1b2c3d4e5f60718293a4b5c6d7e8f', hashOid: '1.3.14.3.2.26', status: 'good' });

    const request = parse(requestDer({ certIds: [{ issuerDer: pki.issuing.der, serial: '00c3a1b2c3d4e5f60718293a4b5c6d7e8f' }] }));
    expect(presignedKey(request, index)).toEqual({ issuerId: 'issuing', serialHex: 'c3a1b2c3d4e5f60718293a4b5c6d7e8f', variant: 'sha1', hash: 'sha1', hashParams: 'null' });
    // The request's CertID and the pre-signed one are the same bytes.
    const single = presignSingleResponse({ issuer, serial: 'c3a1b2c3d4e5f60718293a4b5c6d7e8f', status: { status: 'good' }, thisUpdate, nextUpdate });
    expect(single.der.includes(Buffer.from(requestDer({ certIds: [{ issuerDer: pki.issuing.der, serial: '00c3a1b2c3d4e5f60718293a4b5c6d7e8f' }] }).subarray(8, 8 + 20)))).toBe(true);
  });

  it('keys other variants apart and refuses nonce, multi-CertID and foreign requests', () => {
    const one = (spec: Parameters<typeof requestDer>[0]): ReturnType<typeof presignedKey> => presignedKey(parse(requestDer(spec)), index);
    expect(one({ certIds: [{ issuerDer: pki.issuing.der, serial: '01', hash: 'sha256' }] })?.variant).toBe('sha256');
    expect(one({ certIds: [{ issuerDer: pki.issuing.der, serial: '01', params: 'absent' }] })?.variant).toBe('sha1-noparams');
    expect(one({ certIds: [{ issuerDer: pki.issuing.der, serial: '01' }], extensions: [nonceExtension(Buffer.alloc(16))] })).toBeUndefined();
    expect(one({ certIds: [{ issuerDer: pki.issuing.der, serial: '01' }, { issuerDer: pki.issuing.der, serial: '02' }] })).toBeUndefined();
    expect(one({ certIds: [{ issuerDer: pki.root.der, serial: '01' }] })).toBeUndefined();
    expect(one({ certIds: [{ issuerDer: pki.issuing.der, serial: '01', hash: 'md5' }] })).toBeUndefined();
  });
});

describe('ocspCacheHeaders (RFC 5019 §6.2)', () => {
  it('caches until nextUpdate, capped by maxAgeSeconds', async () => {
    const issuer = index.get('issuing')!;
    const thisUpdate = new Date(NOW.getTime() - HOUR);
    const nextUpdate = new Date(NOW.getTime() + 10 * HOUR);
    const resp = await presignResponse({ responder, issuer, serial: '01', status: { status: 'good' }, thisUpdate, nextUpdate, producedAt: NOW });
    expect(ocspCacheHeaders(resp, NOW)).toEqual({
      'Cache-Control': 'max-age=36000, public, no-transform, must-revalidate',
      'Last-Modified': thisUpdate.toUTCString(),
      Expires: nextUpdate.toUTCString(),
      ETag: resp.etag,
    });
    expect(ocspCacheHeaders(resp, NOW, { maxAgeSeconds: 600 })['Cache-Control']).toMatch(/^max-age=600,/);
    expect(ocspCacheHeaders(resp, new Date(nextUpdate.getTime() + 1000))['Cache-Control']).toMatch(/^max-age=0,/);
  });

  it('never caches a nonce response', async () => {
    const req = parse(requestDer({ certIds: [{ issuerDer: pki.issuing.der, serial: '01' }], extensions: [nonceExtension(Buffer.alloc(16, 1))] }));
    const resp = await buildBasicResponse({
      responder,
      producedAt: NOW,
      nonce: req.nonce,
      responses: [{ certId: req.certIds[0], status: { status: 'good' }, thisUpdate: NOW, nextUpdate: new Date(NOW.getTime() + HOUR) }],
    });
    expect(ocspCacheHeaders(resp, NOW)).toEqual({ 'Cache-Control': 'no-store', ETag: resp.etag });
  });
});

describe('ecdsaP1363ToDer', () => {
  it('encodes r and s as minimal positive INTEGERs', () => {
    const raw = Buffer.concat([Buffer.from('00'.repeat(31) + '01', 'hex'), Buffer.from('80' + '00'.repeat(31), 'hex')]);
    expect(ecdsaP1363ToDer(raw).toString('hex')).toBe('3026020101022100' + '80' + '00'.repeat(31));
  });
});
