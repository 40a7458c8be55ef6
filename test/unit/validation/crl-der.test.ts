import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifySignature } from '../../../ca/asn1/algorithms.js';
import { crlExtensions, readCrl, readCrlDer, readCrlPkijs, type DerCrl } from '../../../src/validation/crl-der.js';
import { UnusualCertificate } from '../../../src/validation/cert-der.js';
import { opensslCrl as opensslCrlIn } from '../../support/openssl-crl.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
let dir: string;

const opensslCrl = (count: number) => opensslCrlIn(dir, count);

const facts = (c: DerCrl) => ({
  tbs: Buffer.from(c.tbs).toString('hex'),
  signatureAlgorithm: Buffer.from(c.signatureAlgorithm).toString('hex'),
  signature: Buffer.from(c.signature).toString('hex'),
  issuer: Buffer.from(c.issuer).toString('hex'),
  thisUpdate: c.thisUpdate.toISOString(),
  nextUpdate: c.nextUpdate?.toISOString() ?? null,
  revoked: [...c.revoked].map(([serial, e]) => [serial, e.revokedAt.toISOString(), e.reason]),
  unusable: c.unusable,
  scope: c.scope,
});

const algorithm = (c: DerCrl) => new pkijs.AlgorithmIdentifier({ schema: asn1js.fromBER(c.signatureAlgorithm).result });

let keys: CryptoKeyPair;
async function generated(params: { extensions?: x509.Extension[]; entries?: x509.X509CrlEntryParams[] }): Promise<Uint8Array> {
  const crl = await x509.X509CrlGenerator.create({ issuer: 'CN=CA ngoài, C=VN', thisUpdate: new Date('2026-12-01T00:00:00Z'), nextUpdate: new Date('2026-12-08T00:00:00Z'), signingAlgorithm: ECDSA, signingKey: keys.privateKey, entries: params.entries ?? [{ serialNumber: '0a', revocationDate: new Date('2026-11-30T00:00:00Z'), reason: x509.X509CrlReason.keyCompromise }], extensions: params.extensions });
  return new Uint8Array(crl.rawData);
}
/** An extension value: the DER of `node`. */
const value = (node: asn1js.AsnType) => new Uint8Array(node.toBER(false));
const idp = (...fields: asn1js.AsnType[]) => new x509.Extension('2.5.29.28', true, value(new asn1js.Sequence({ value: fields })));
const implicitTrue = (tag: number) => new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: tag }, valueHex: new Uint8Array([0xff]).buffer });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tinnhiem-crl-der-'));
  keys = (await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readCrlDer (crl-der.ts)', () => {
  it('reads what pkijs reads from an OpenSSL CRL, and its signature verifies', () => {
    const { der, spki } = opensslCrl(40);
    const ours = readCrlDer(der);
    expect(facts(ours)).toEqual(facts(readCrlPkijs(der)));
    expect(ours.revoked.size).toBe(40);
    expect(ours.revoked.get('100007')).toEqual({ revokedAt: new Date('2026-12-01T10:10:10Z'), reason: 6 });
    expect(ours.revoked.get('100008')?.reason).toBe(1);
    expect(ours.unusable).toBeNull();
    expect(verifySignature(ours.tbs, ours.signature, algorithm(ours), spki)).toBe(true);
  });

  it('reads a CRL of 5,000 entries, which asn1js refuses (its 10,000-node limit)', () => {
    const { der, spki } = opensslCrl(5_000);
    expect(() => readCrlPkijs(der)).toThrow(/malformed CRL \(Maximum ASN.1 node count exceeded\)/);
    const ours = readCrl(der);
    expect(ours.revoked.size).toBe(5_000);
    expect(ours.revoked.get((0x100000 + 4_999).toString(16))?.reason).toBe(1);
    expect(verifySignature(ours.tbs, ours.signature, algorithm(ours), spki)).toBe(true);
  });

  it('on every one-byte change of a CRL, reads the same as pkijs or declines (then pkijs decides)', () => {
    const { der } = opensslCrl(3);
    let same = 0;
    for (let at = 0; at < der.length; at++) {
      for (const change of [0x01, 0x80, 0xff]) {
        const bytes = new Uint8Array(der);
        bytes[at] ^= change;
        let ours: DerCrl;
        try {
          ours = readCrlDer(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(UnusualCertificate);
          continue;
        }
        let theirs: DerCrl;
        try {
          theirs = readCrlPkijs(bytes);
        } catch (err) {
          throw new Error(`byte ${at} ^ ${change} (of ${der.length}): ours read it, pkijs: ${(err as Error).message}; ${Buffer.from(der.subarray(Math.max(0, at - 4), at + 4)).toString('hex')}`, { cause: err });
        }
        expect(facts(ours)).toEqual(facts(theirs));
        same++;
      }
    }
    expect(same).toBeGreaterThan(100);
  });

  it('refuses, with the reason, a CRL that is not the complete one of its issuer (RFC 5280 §5.2, §5.3)', async () => {
    const delta = new x509.Extension('2.5.29.27', true, value(new asn1js.Integer({ value: 7 })));
    const unknownCritical = new x509.Extension('1.2.3.4', true, value(new asn1js.Null()));
    const unknownInformative = new x509.Extension('1.2.3.4', false, value(new asn1js.Null()));
    const certificateIssuer = new x509.Extension('2.5.29.29', true, value(new asn1js.Sequence({ value: [] })));
    const cases: Array<[Parameters<typeof generated>[0], RegExp | null]> = [
      [{ extensions: [delta] }, /delta CRL/],
      [{ extensions: [unknownCritical] }, /critical extension 1\.2\.3\.4/],
      [{ extensions: [unknownInformative] }, null],
      [{ extensions: [idp(new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 3 }, valueHex: new Uint8Array([0x07, 0x80]).buffer }))] }, /only some revocation reasons/],
      [{ extensions: [idp(implicitTrue(4))] }, /indirect CRL/],
      [{ extensions: [idp(implicitTrue(5))] }, /attribute certificates/],
      [{ entries: [{ serialNumber: '0b', revocationDate: new Date('2026-11-30T00:00:00Z'), extensions: [certificateIssuer] }] }, /entry carries the critical extension 2\.5\.29\.29/],
    ];
    for (const [params, why] of cases) {
      const der = await generated(params);
      const ours = readCrl(der);
      if (why) expect(ours.unusable).toMatch(why);
      else expect(ours.unusable).toBeNull();
      expect(facts(ours)).toEqual(facts(readCrlPkijs(der)));
    }
  });

  it('reads the issuing distribution point\'s scope: its URLs and which certificates it covers', async () => {
    const fullName = new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 6 }, valueHex: new TextEncoder().encode('http://ca.example.vn/ee.crl').buffer })] })] });
    const der = await generated({ extensions: [idp(fullName, implicitTrue(1))] });
    expect(readCrl(der).scope).toEqual({ onlyUserCerts: true, onlyCaCerts: false, uris: ['http://ca.example.vn/ee.crl'] });
    expect(readCrl(await generated({ extensions: [idp(implicitTrue(2))] })).scope).toEqual({ onlyUserCerts: false, onlyCaCerts: true, uris: null });
    expect(crlExtensions([]).scope).toEqual({ onlyUserCerts: false, onlyCaCerts: false, uris: null });
  });
});
