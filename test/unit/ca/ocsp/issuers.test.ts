import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Buffer } from 'node:buffer';
import { createHash, X509Certificate } from 'node:crypto';
import { CERT_ID_HASHES, certIdFor, issuerFromCertificate, IssuerIndex, matchRequest, parseOcspRequest, serialContent, type OcspRequest } from '../../../../ca/status/ocsp/index.js';
import { createTestPki, type TestPki } from '../../../support/test-pki.js';
import { certIdDer, requestDer, type CertIdSpec } from './request-builder.js';

let pki: TestPki;
let foreign: TestPki;
let index: IssuerIndex;
beforeAll(async () => {
  [pki, foreign] = await Promise.all([createTestPki(), createTestPki({ label: 'Foreign' })]);
  index = new IssuerIndex([issuerFromCertificate('issuing', pki.issuing.der), issuerFromCertificate('root', pki.root.der)]);
});
afterAll(() => {
  pki.cleanup();
  foreign.cleanup();
});

function request(certIds: CertIdSpec[]): OcspRequest {
  const result = parseOcspRequest(requestDer({ certIds }));
  if (!result.ok) throw new Error(result.reason);
  return result.request;
}

describe('issuer index', () => {
  it('extracts the subject and the key bits RFC 6960 §4.1.1 hashes', () => {
    const issuer = issuerFromCertificate('x', pki.issuing.der);
    const spki = new X509Certificate(Buffer.from(pki.issuing.der)).publicKey.export({ type: 'spki', format: 'der' });
    // An uncompressed P-256 point is the last 65 bytes of the SPKI.
    expect(Buffer.from(issuer.publicKey)).toEqual(spki.subarray(spki.length - 65));
    expect(issuer.publicKey[0]).toBe(0x04);
    expect(Buffer.from(issuer.subject)[0]).toBe(0x30);
  });

  it('finds the issuer for every supported hash, not for another hierarchy', () => {
    for (const hash of CERT_ID_HASHES) {
      const req = request([{ issuerDer: pki.issuing.der, serial: '01', hash }]);
      expect(index.find(req.certIds[0])?.id).toBe('issuing');
    }
    expect(index.find(request([{ issuerDer: pki.root.der, serial: '02' }]).certIds[0])?.id).toBe('root');
    expect(index.find(request([{ issuerDer: foreign.issuing.der, serial: '01' }]).certIds[0])).toBeUndefined();
    expect(index.find(request([{ issuerDer: pki.issuing.der, serial: '01', hash: 'md5' }]).certIds[0])).toBeUndefined();
  });

  it('needs both the key hash and the name hash to match', () => {
    const id = certIdDer({ issuerDer: pki.issuing.der, serial: '01' });
    const rootNameHash = createHash('sha1').update(issuerFromCertificate('r', pki.root.der).subject).digest();
    const nameAt = id.indexOf(createHash('sha1').update(issuerFromCertificate('i', pki.issuing.der).subject).digest());
    const forged = Buffer.from(id);
    rootNameHash.copy(forged, nameAt);
    const parsed = parseOcspRequest(requestDer({ certIds: [forged] }));
    expect(parsed.ok && index.find(parsed.request.certIds[0])).toBeUndefined();
  });

  it('refuses duplicate ids', () => {
    expect(() => new IssuerIndex([issuerFromCertificate('a', pki.root.der), issuerFromCertificate('a', pki.issuing.der)])).toThrow(/duplicate/);
    expect(() => issuerFromCertificate('a', Buffer.from('3000', 'hex'))).toThrow(/not a certificate/);
  });
});

describe('matchRequest', () => {
  it('is unauthorized when no CertID names an issuer we serve (RFC 6960 §2.3)', () => {
    expect(matchRequest(request([{ issuerDer: foreign.issuing.der, serial: '01' }, { issuerDer: pki.issuing.der, serial: '01', hash: 'md5' }]), index)).toMatchObject({
      ok: false,
      status: 'unauthorized',
    });
  });

  it('answers for the first served issuer and marks the others unserved', () => {
    const result = matchRequest(
      request([
        { issuerDer: foreign.issuing.der, serial: '01' },
        { issuerDer: pki.issuing.der, serial: '1001', hash: 'sha256' },
        { issuerDer: pki.root.der, serial: '02' },
        { issuerDer: pki.issuing.der, serial: '1002' },
      ]),
      index,
    );
    if (!result.ok) throw new Error('expected a match');
    expect(result.issuer.id).toBe('issuing');
    expect(result.entries.map((e) => [e.certId.serialHex, e.served])).toEqual([
      ['01', false],
      ['1001', true],
      ['02', false],
      ['1002', true],
    ]);
  });
});

describe('certIdFor and serialContent', () => {
  it('builds the CertID a client would send', () => {
    const issuer = index.get('issuing')!;
    const fromClient = request([{ issuerDer: pki.issuing.der, serial: '00c3a1', hash: 'sha256' }]).certIds[0];
    const built = certIdFor(issuer, 'C3A1', 'sha256');
    expect(Buffer.from(built.hashAlgorithm)).toEqual(Buffer.from(fromClient.hashAlgorithm));
    expect(Buffer.from(built.issuerNameHash)).toEqual(Buffer.from(fromClient.issuerNameHash));
    expect(Buffer.from(built.issuerKeyHash)).toEqual(Buffer.from(fromClient.issuerKeyHash));
    expect(Buffer.from(built.serialNumber)).toEqual(Buffer.from(fromClient.serialNumber));
    expect(built.serialHex).toBe(fromClient.serialHex);
  });

  it('normalises serial spellings to DER INTEGER content', () => {
    expect(serialContent('c3:a1').toString('hex')).toBe('00c3a1');
    expect(serialContent('0x0001').toString('hex')).toBe('01');
    expect(serialContent('00c3').toString('hex')).toBe('00c3');
    expect(serialContent(Uint8Array.of(0, 0, 0x7f)).toString('hex')).toBe('7f');
    expect(serialContent('0').toString('hex')).toBe('00');
    expect(() => serialContent('xyz')).toThrow(/hex/);
  });
});
