import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePem } from '../../../ca/asn1/der.js';
import { decodeCert, loadCert, type Cert } from '../../../src/validation/cert.js';
import { readCertificateDer, timeOf, timeOfPattern, UnusualCertificate } from '../../../src/validation/cert-der.js';
import { crossSignedMesh } from '../../support/cross-signed-mesh.js';
import { createTestPki, type TestPki } from '../../support/test-pki.js';

/** Everything the validator reads from a Cert, as plain data. */
function view(c: Cert) {
  const hex = (b: Uint8Array | null) => (b ? Buffer.from(b).toString('hex') : null);
  const { facts } = c;
  return {
    facts: { ...facts, subject: hex(facts.subject), issuer: hex(facts.issuer), spki: hex(facts.spki), subjectKeyIdentifier: hex(facts.subjectKeyIdentifier), authorityKeyIdentifier: hex(facts.authorityKeyIdentifier), notBefore: facts.notBefore.toISOString(), notAfter: facts.notAfter.toISOString() },
    version: c.version,
    tbs: hex(c.tbs),
    signatureValue: hex(c.signatureValue),
    signatureAlgorithmId: c.signatureAlgorithmId.algorithmId,
    ...Object.fromEntries(['sha256', 'subjectHex', 'issuerHex', 'subjectDn', 'issuerDn', 'identity', 'eku', 'criticalExtensions', 'selfIssued', 'keyDescription', 'keyWeak', 'signatureAlgorithm', 'signatureHashWeak'].map((k) => [k, c[k as keyof Cert]])),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-cert-der-'));
const sh = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const pemDer = (path: string) => new Uint8Array(decodePem(readFileSync(path, 'utf8'), 'badCertificate')[0].der);

/** openssl-made certificates with the extensions the reader handles, and some it does not. */
function opensslCertificates(): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  const keys = { ec: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], rsa: ['-newkey', 'rsa:2048'], ed: ['-newkey', 'ed25519'] };
  const cases: Array<[string, keyof typeof keys, string[]]> = [
    ['leaf with every extension', 'ec', ['-days', '30', '-subj', '/C=VN/ST=Sóc Trăng/L=Phường 1/O=UBND/OU=Văn phòng/CN=Trần Thị Ngọc Hân/UID=CCCD:094185000091', '-addext', 'subjectAltName=email:han@soctrang.gov.vn,DNS:soctrang.gov.vn,URI:https://x.example,IP:10.0.0.1', '-addext', 'authorityInfoAccess=OCSP;URI:http://ocsp.example/,caIssuers;URI:http://ca.example/ca.crt', '-addext', 'crlDistributionPoints=URI:http://crl.example/a.crl,URI:http://crl.example/b.crl', '-addext', 'extendedKeyUsage=critical,emailProtection,1.3.6.1.5.5.7.3.36', '-addext', 'keyUsage=critical,digitalSignature,nonRepudiation', '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'certificatePolicies=1.2.3.4', '-addext', 'nsComment=unknown to the reader']],
    ['CA with pathlen, RSA', 'rsa', ['-days', '3650', '-subj', '/CN=Test CA/O=Tinnhiem', '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:3', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']],
    ['Ed25519, GeneralizedTime after 2049', 'ed', ['-days', '15000', '-subj', '/CN=Far future']],
    ['unknown critical extension', 'ec', ['-days', '1', '-subj', '/CN=Critical', '-addext', '1.2.3.4.5=critical,DER:0500']],
  ];
  for (const [name, key, args] of cases) {
    const file = `${out.length}.pem`;
    sh('req', '-x509', ...keys[key], '-nodes', '-keyout', `${out.length}.key`, '-out', file, '-utf8', ...args);
    out.push([name, pemDer(join(dir, file))]);
  }
  return out;
}

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ signerKey: 'RSA-PSS' });
});
afterAll(() => {
  pki?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('the one-pass certificate reader (cert-der.ts) against pkijs', () => {
  it('reads every field as pkijs does: openssl, @peculiar/x509, a cross-signed mesh and the VGCA G1 sub-CAs', async () => {
    const mesh = await crossSignedMesh(2, { withRoot: true });
    const certificates: Array<[string, Uint8Array]> = [
      ...opensslCertificates(),
      ...[pki.root, pki.issuing, pki.signer, ...pki.leaves].map((e): [string, Uint8Array] => [`test PKI ${e.name}`, e.der]),
      ...[mesh.leaf, ...mesh.cas, mesh.root!, mesh.rootIssued!].map((c, i): [string, Uint8Array] => [`mesh ${i}`, new Uint8Array(c.rawData)]),
      ...['vgca-g1-chinh-phu-subca.pem', 'vgca-g1-dang-cong-san-subca.pem'].map((f): [string, Uint8Array] => [f, pemDer(new URL(`../../fixtures/vgca/${f}`, import.meta.url).pathname)]),
    ];
    let fast = 0;
    for (const [name, der] of certificates) {
      const viaPkijs = decodeCert(der, 'pkijs')!;
      const viaDer = decodeCert(der, 'der');
      if (viaDer) fast++;
      expect({ name, cert: viaDer ? view(viaDer) : view(viaPkijs) }).toEqual({ name, cert: view(viaPkijs) });
      // The lazy pkijs object is the same certificate.
      if (viaDer) expect(Buffer.from(viaDer.cert.tbsView).equals(Buffer.from(viaPkijs.tbs))).toBe(true);
    }
    // The usual profile takes the fast path (the VGCA certificates may not).
    expect(fast).toBeGreaterThanOrEqual(certificates.length - 2);
  });

  it('leaves to pkijs what is outside strict DER, and refuses what pkijs refuses', () => {
    const der = pki.leaves[0].der;
    // Trailing bytes: not one certificate; loadCert refuses as it always did.
    const trailing = Buffer.concat([der, Buffer.of(0)]);
    expect(() => readCertificateDer(trailing)).toThrow(UnusualCertificate);
    expect(() => loadCert(trailing)).toThrow(/certificate/);
    // Truncated.
    expect(() => readCertificateDer(der.subarray(0, der.length - 10))).toThrow(UnusualCertificate);
    expect(() => loadCert(der.subarray(0, der.length - 10))).toThrow();
    // A non-minimal length (BER) is not read here; pkijs decides.
    const ber = Buffer.concat([Buffer.of(0x30, 0x83, 0x00), der.subarray(2)]);
    ber.writeUInt16BE(der.length - 4, 3);
    expect(() => readCertificateDer(ber)).toThrow(UnusualCertificate);
    // A bad signature is a certificate still: read, and the chain check fails it (chain tests).
    const forged = Buffer.from(der);
    forged[forged.length - 3] ^= 1;
    expect(readCertificateDer(forged).signatureValue).not.toEqual(readCertificateDer(der).signatureValue);
  });

  it('a malformed extension value sends the certificate to pkijs, which reads it as before', () => {
    // keyUsage with an unused-bits count of 9 (X.690 §8.6.2.2 allows 0..7).
    const good = Buffer.from(pki.issuing.der);
    const ku = Buffer.from('0603551d0f0101ff040403020106', 'hex');
    const at = good.indexOf(ku);
    expect(at).toBeGreaterThan(0);
    const bad = Buffer.from(good);
    bad[at + ku.length - 2] = 0x09;
    expect(() => readCertificateDer(bad)).toThrow(UnusualCertificate);
    expect(decodeCert(bad, 'der')).toBeNull();
    expect(view(loadCert(bad)).facts.keyUsage).toEqual(view(decodeCert(bad, 'pkijs')!).facts.keyUsage);
  });
});

describe('timeOf, digit by digit, against the regular expression it replaced', () => {
  /** The Date, or "unusual", or the error's message: what each reading does with the bytes. */
  const outcome = (read: typeof timeOf, bytes: Uint8Array, tag: number) => {
    try {
      return read(bytes, { tag, start: 0, at: 0, end: bytes.length }).getTime();
    } catch (err) {
      return err instanceof UnusualCertificate ? 'unusual' : `error ${(err as Error).message}`;
    }
  };
  const forms = ['260101000000Z', '491231235959Z', '500101000000Z', '991231235959Z', '000229120000Z', '20260101000000Z', '20491231235959Z', '20500101000000Z', '99991231235959Z', '19700101000000Z', '20261306000000Z', '260132000000Z', '262401000000Z', '20260101240000Z', '260101006000Z', '260101000060Z', '2601010000Z', '20260101000000.5Z', '260101000000+0700', '00000000000000Z'];
  it('agrees on every form, every one-byte change and every truncation, under three tags', () => {
    let compared = 0;
    for (const form of forms) {
      const base = Buffer.from(form, 'latin1');
      const variants: Uint8Array[] = [base, base.subarray(0, base.length - 1), Buffer.concat([base, Buffer.of(0x5a)])];
      for (let i = 0; i < base.length; i++) {
        for (const b of [0x00, 0x2f, 0x30, 0x35, 0x39, 0x3a, 0x5a, 0x7a, 0xb0, 0xff]) {
          const v = Buffer.from(base);
          v[i] = b;
          variants.push(v);
        }
      }
      for (const v of variants) {
        for (const tag of [0x17, 0x18, 0x04]) {
          expect([form, tag, Buffer.from(v).toString('latin1'), outcome(timeOf, v, tag)]).toEqual([form, tag, Buffer.from(v).toString('latin1'), outcome(timeOfPattern, v, tag)]);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(5_000);
    // Both read these as UTC dates (a sanity check that the comparison is not of two refusals).
    expect(new Date(timeOf(Buffer.from('500101000000Z'), { tag: 0x17, start: 0, at: 0, end: 13 })).toISOString()).toBe('1950-01-01T00:00:00.000Z');
    expect(timeOf(Buffer.from('20491231235959Z'), { tag: 0x18, start: 0, at: 0, end: 15 }).toISOString()).toBe('2049-12-31T23:59:59.000Z');
  });
});
