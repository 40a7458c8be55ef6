import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Buffer } from 'node:buffer';
import * as pkijs from 'pkijs';
import { webcrypto } from 'node:crypto';
import { decodeGetPath, parseGetRequest, parseOcspRequest, type OcspRequest } from '../../../../ca/status/ocsp/index.js';
import { octetString } from '../../../../ca/status/ocsp/der.js';
import { createTestPki, type TestPki } from '../../../support/test-pki.js';
import { certIdDer, extension, NONCE_OID, nonceExtension, requestDer } from './request-builder.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(() => pki.cleanup());

function ok(der: Uint8Array): OcspRequest {
  const result = parseOcspRequest(der);
  if (!result.ok) throw new Error(`expected a valid request, got: ${result.reason}`);
  return result.request;
}
function malformed(der: Uint8Array): string {
  const result = parseOcspRequest(der);
  if (result.ok) throw new Error('expected malformedRequest');
  expect(result.status).toBe('malformedRequest');
  return result.reason;
}

describe('parseOcspRequest', () => {
  it('decodes a minimal SHA-1 request', () => {
    const req = ok(requestDer({ certIds: [{ issuerDer: pki.issuing.der, serial: '1001' }] }));
    expect(req.certIds).toHaveLength(1);
    const [id] = req.certIds;
    expect(id.hash).toBe('sha1');
    expect(id.hashParams).toBe('null');
    expect(id.issuerNameHash).toHaveLength(20);
    expect(id.serialHex).toBe('1001');
    expect(Buffer.from(id.serialNumber).toString('hex')).toBe('1001');
    expect(req.nonce).toBeUndefined();
    expect(req.signed).toBe(false);
  });

  it('reads several CertIDs with every supported hash, NULL or absent parameters', () => {
    const req = ok(
      requestDer({
        certIds: [
          { issuerDer: pki.issuing.der, serial: '01', hash: 'sha1', params: 'absent' },
          { issuerDer: pki.issuing.der, serial: '02', hash: 'sha256' },
          { issuerDer: pki.issuing.der, serial: '03', hash: 'sha384' },
          { issuerDer: pki.issuing.der, serial: '04', hash: 'sha512', params: 'absent' },
        ],
      }),
    );
    expect(req.certIds.map((c) => [c.hash, c.hashParams, c.issuerKeyHash.length, c.serialHex])).toEqual([
      ['sha1', 'absent', 20, '01'],
      ['sha256', 'null', 32, '02'],
      ['sha384', 'null', 48, '03'],
      ['sha512', 'absent', 64, '04'],
    ]);
  });

  it('keeps a CertID with an unsupported hash as well-formed but unmatched (hash undefined)', () => {
    const req = ok(requestDer({ certIds: [{ issuerDer: pki.issuing.der, serial: '01', hash: 'md5' }] }));
    expect(req.certIds[0].hash).toBeUndefined();
    expect(req.certIds[0].hashAlgorithm[0]).toBe(0x30);
  });

  it('strips the sign octet from the serial key and marks negative serials', () => {
    const req = ok(
      requestDer({
        certIds: [
          { issuerDer: pki.issuing.der, serial: '00c3a1' },
          { issuerDer: pki.issuing.der, serial: 'c3a1' },
          { issuerDer: pki.issuing.der, serial: '00' },
        ],
      }),
    );
    expect(req.certIds.map((c) => c.serialHex)).toEqual(['c3a1', '-c3a1', '00']);
  });

  it('extracts the nonce (RFC 8954) and keeps the exact extnValue to echo', () => {
    const nonce = Buffer.alloc(32, 7);
    const req = ok(requestDer({ certIds: [{ issuerDer: pki.issuing.der, serial: '01' }], extensions: [nonceExtension(nonce)] }));
    expect(Buffer.from(req.nonce!.value)).toEqual(nonce);
    expect(Buffer.from(req.nonce!.extnValue)).toEqual(octetString(nonce));
  });

  it('accepts 1-octet nonces and raw RFC 2560-style nonces', () => {
    expect(ok(requestDer({ certIds: [{ issuerDer: pki.issuing.der, serial: '01' }], extensions: [nonceExtension(Buffer.of(9))] })).nonce!.value).toHaveLength(1);
    const raw = Buffer.alloc(16, 0x41);
    const req = ok(requestDer({ certIds: [{ issuerDer: pki.issuing.der, serial: '01' }], extensions: [extension(NONCE_OID, raw)] }));
    expect(Buffer.from(req.nonce!.value)).toEqual(raw);
    expect(Buffer.from(req.nonce!.extnValue)).toEqual(raw);
  });
});

describe('parseOcspRequest refusals and other encoders', () => {
  it('rejects empty and over-long nonces as malformedRequest (RFC 8954 §2.1)', () => {
    const base = { certIds: [{ issuerDer: pki.issuing.der, serial: '01' }] };
    expect(malformed(requestDer({ ...base, extensions: [nonceExtension(Buffer.alloc(0))] }))).toMatch(/empty nonce/);
    expect(malformed(requestDer({ ...base, extensions: [nonceExtension(Buffer.alloc(33))] }))).toMatch(/nonce longer than 32/);
    expect(malformed(requestDer({ ...base, extensions: [extension(NONCE_OID, Buffer.alloc(0))] }))).toMatch(/empty nonce/);
    // RFC 9654 raises the bound to 128; the limit is configurable.
    expect(parseOcspRequest(requestDer({ ...base, extensions: [nonceExtension(Buffer.alloc(64))] }), { maxNonceLength: 128 }).ok).toBe(true);
  });

  it('ignores unknown non-critical extensions and rejects unknown critical ones (RFC 6960 §4.4)', () => {
    const base = { certIds: [{ issuerDer: pki.issuing.der, serial: '01' }] };
    expect(ok(requestDer({ ...base, extensions: [extension('1.2.3.4', Buffer.of(5, 0))] })).certIds).toHaveLength(1);
    expect(malformed(requestDer({ ...base, extensions: [extension('1.2.3.4', Buffer.of(5, 0), true)] }))).toMatch(/critical/);
    // Known ones are fine even when critical: acceptable responses (§4.4.3) naming id-pkix-ocsp-basic.
    const acceptable = extension('1.3.6.1.5.5.7.48.1.4', Buffer.from('300a06082b06010505073001', 'hex'), true);
    expect(ok(requestDer({ ...base, extensions: [acceptable] })).certIds).toHaveLength(1);
    const locator = extension('1.3.6.1.5.5.7.48.1.7', Buffer.from('3000', 'hex'));
    expect(ok(requestDer({ certIds: [{ ...base.certIds[0], singleExtensions: [locator] }] })).certIds).toHaveLength(1);
    expect(malformed(requestDer({ certIds: [{ ...base.certIds[0], singleExtensions: [extension('1.2.3', Buffer.of(5, 0), true)] }] }))).toMatch(/critical/);
    expect(malformed(requestDer({ ...base, extensions: [nonceExtension(Buffer.alloc(16)), nonceExtension(Buffer.alloc(16))] }))).toMatch(/repeated/);
  });

  it('accepts signed requests without verifying them, and a requestorName', () => {
    const req = ok(requestDer({ certIds: [{ issuerDer: pki.issuing.der, serial: '01' }], signed: true, requestorName: true, version: 0 }));
    expect(req.signed).toBe(true);
  });

  it('rejects structural errors as malformedRequest', () => {
    const good = requestDer({ certIds: [{ issuerDer: pki.issuing.der, serial: '01' }] });
    expect(malformed(requestDer({ certIds: [{ issuerDer: pki.issuing.der, serial: '01' }], version: 1 }))).toMatch(/version/);
    expect(malformed(requestDer({ certIds: [] }))).toMatch(/empty requestList/);
    expect(malformed(Buffer.concat([good, Buffer.of(0)]))).toMatch(/trailing/);
    expect(malformed(good.subarray(0, good.length - 1))).toMatch(/longer than its container|truncated/);
    expect(malformed(Buffer.alloc(0))).toMatch(/missing/);
    expect(malformed(Buffer.from('3080', 'hex'))).toMatch(/indefinite/);
    malformed(Buffer.from('GET / HTTP/1.1\r\n'));
    expect(malformed(requestDer({ certIds: [Buffer.from('3000', 'hex')] }))).toMatch(/hashAlgorithm/);
    // A serial INTEGER with a redundant leading zero is not DER.
    const id = certIdDer({ issuerDer: pki.issuing.der, serial: '0001' });
    expect(malformed(requestDer({ certIds: [id] }))).toMatch(/minimal/);
  });

  it('enforces the caller’s size and CertID limits', () => {
    const many = requestDer({ certIds: Array.from({ length: 5 }, (_, i) => ({ issuerDer: pki.issuing.der, serial: `0${i + 1}` })) });
    expect(parseOcspRequest(many, { maxCertIds: 4 })).toMatchObject({ ok: false, reason: 'more than 4 CertIDs' });
    expect(parseOcspRequest(many, { maxBytes: many.length - 1 })).toMatchObject({ ok: false, status: 'malformedRequest' });
    expect(parseOcspRequest('nope' as unknown as Uint8Array)).toMatchObject({ ok: false, status: 'malformedRequest' });
  });

  it('reads requests made by pkijs, an independent encoder', async () => {
    const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto });
    const cert = pkijs.Certificate.fromBER(pki.leaves[0].der as BufferSource);
    const issuer = pkijs.Certificate.fromBER(pki.issuing.der as BufferSource);
    const request = new pkijs.OCSPRequest();
    await request.createForCertificate(cert, { hashAlgorithm: 'SHA-256', issuerCertificate: issuer }, engine);
    const req = ok(new Uint8Array(request.toSchema(true).toBER()));
    expect(req.certIds[0].hash).toBe('sha256');
    expect(req.certIds[0].serialHex).toBe(pki.leaves[0].serialHex);
  });
});

describe('decodeGetPath (RFC 6960 appendix A.1)', () => {
  const der = (): Buffer => requestDer({ certIds: [{ issuerDer: pki.issuing.der, serial: '00fbff' }], extensions: [nonceExtension(Buffer.alloc(16, 0xfb))] });

  it('decodes URL-encoded base64 with %2F, %2B, %3D in either case', () => {
    const b64 = der().toString('base64');
    expect(b64).toMatch(/[+/]/);
    for (const path of [encodeURIComponent(b64), encodeURIComponent(b64).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()), b64, '/' + b64, '//' + encodeURIComponent(b64)]) {
      const result = decodeGetPath(path);
      expect(result.ok && result.der.equals(der())).toBe(true);
    }
  });

  it('tolerates + turned into a space, base64url and missing padding', () => {
    const b64 = der().toString('base64');
    for (const path of [b64.replace(/\+/g, ' '), der().toString('base64url'), b64.replace(/=+$/, '')]) {
      const result = decodeGetPath(path);
      expect(result.ok && result.der.equals(der())).toBe(true);
    }
  });

  it('parses the decoded request', () => {
    const result = parseGetRequest(encodeURIComponent(der().toString('base64')));
    expect(result.ok && result.request.certIds[0].serialHex).toBe('fbff');
  });

  it('rejects what is not base64 or too large', () => {
    for (const path of ['', '/', 'abc$', '%zz', '%25', 'A', 'ab%2', '\u00e9']) expect(decodeGetPath(path)).toMatchObject({ ok: false, status: 'malformedRequest' });
    expect(decodeGetPath('A'.repeat(400), { maxBytes: 100 })).toMatchObject({ ok: false, status: 'malformedRequest' });
    expect(decodeGetPath('A'.repeat(1_000_000))).toMatchObject({ ok: false, status: 'malformedRequest' });
  });
});
