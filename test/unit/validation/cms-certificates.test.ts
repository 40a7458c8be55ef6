import { describe, expect, it } from '@jest/globals';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCmsDer, decodeCmsPkijs, parseCms } from '../../../src/validation/cms.js';
import { embeddedCertificates, preloadCertificates, splitCms } from '../../../src/validation/cms-certificates.js';
import { cachedCert, loadCert } from '../../../src/validation/cert.js';
import { crossSignedMesh } from '../../support/cross-signed-mesh.js';
import { opensslCrl } from '../../support/openssl-crl.js';
import { children as derChildren, tlv as derTlv } from '../../../src/validation/cert-der.js';

/** A SignedData (no signers) carrying `certs`, as DER. */
function signedDataWith(certs: Uint8Array[]): Uint8Array {
  const signedData = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: '1.2.840.113549.1.7.1', eContent: new asn1js.OctetString({ valueHex: new Uint8Array([1, 2, 3]) }) }),
    certificates: certs.map((der) => new pkijs.Certificate({ schema: asn1js.fromBER(der).result })),
    signerInfos: [],
  });
  const info = new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: signedData.toSchema(true) });
  return new Uint8Array(info.toSchema().toBER(false));
}

/** `cms` (a DER ContentInfo(SignedData)) with `crl` put in its `crls [1]` field, before the signerInfos (RFC 5652 §5.1). */
function withCrls(cms: Uint8Array, crl: Uint8Array): Uint8Array {
  const wrap = (tag: number, ...parts: Uint8Array[]): Uint8Array => {
    const body = Buffer.concat(parts);
    const n = body.length;
    const length = n < 0x80 ? [n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
    return new Uint8Array(Buffer.concat([Buffer.from([tag, ...length]), body]));
  };
  const info = derTlv(cms, 0, cms.length);
  const [oid, explicit] = derChildren(cms, info);
  const fields = derChildren(cms, derChildren(cms, explicit)[0]).map((f) => cms.subarray(f.start, f.end));
  fields.splice(fields.length - 1, 0, wrap(0xa1, crl));
  return wrap(0x30, cms.subarray(oid.start, oid.end), wrap(0xa0, wrap(0x30, ...fields)));
}

describe('the certificates of a CMS read apart (cms-certificates.ts)', () => {
  it('splits a DER SignedData into its certificates and the rest, which parses to the same SignedData', async () => {
    const mesh = await crossSignedMesh(3);
    const ders = [mesh.leaf, ...mesh.cas].map((c) => new Uint8Array(c.rawData));
    const cms = signedDataWith(ders);
    const split = splitCms(cms)!;
    expect(split.certificates.map((c) => Buffer.from(c).toString('hex'))).toEqual(ders.map((c) => Buffer.from(c).toString('hex')));
    expect(split.rest.byteLength).toBeLessThan(cms.byteLength - ders.reduce((n, d) => n + d.byteLength, 0) + 16);
    const parsed = parseCms(cms);
    expect(parsed.certificates.map((c) => c.sha256)).toHaveLength(7);
    expect(parsed.certificates.map((c) => c.cert)).toHaveLength(7);
    expect(Buffer.from(parsed.eContent!)).toEqual(Buffer.from([1, 2, 3]));
    expect(parsed.warnings).toEqual([]);
  });

  it('keeps what follows the structure: zero padding is silent, other bytes are a warning', async () => {
    const mesh = await crossSignedMesh(1);
    const cms = signedDataWith([new Uint8Array(mesh.leaf.rawData)]);
    expect(parseCms(new Uint8Array([...cms, 0, 0, 0])).warnings).toEqual([]);
    expect(parseCms(new Uint8Array([...cms, 7])).warnings).toEqual(['1 byte(s) after the CMS structure are ignored']);
    // Counted for the validator, which refuses a standalone signature followed by any (cms-api.test.ts runs the one-pass reader too).
    expect(decodeCmsPkijs(new Uint8Array([...cms, 0, 0, 0])).trailingData).toBe(0);
    expect(decodeCmsPkijs(new Uint8Array([...cms, 0, 7])).trailingData).toBe(2);
    expect(decodeCmsPkijs(cms).trailingData).toBe(0);
  });

  it('reads a signature carrying a CRL of 5,000 entries (crls [1]) as the same signature without it, in both readers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-cms-crls-'));
    try {
      const ca = opensslCrl(dir, 5_000);
      writeFileSync(join(dir, 'data.txt'), 'Quyết định số 7');
      const plain = new Uint8Array(execFileSync('openssl', ['cms', '-sign', '-binary', '-nodetach', '-in', join(dir, 'data.txt'), '-signer', ca.cert, '-inkey', ca.key, '-outform', 'DER']));
      const withCrl = withCrls(plain, ca.der);
      expect(withCrl.length).toBeGreaterThan(plain.length + ca.der.length);
      const same = (p: ReturnType<typeof decodeCmsPkijs>) => ({ signers: p.signerInfos.map((i) => Buffer.from(i.signature).toString('hex')), certs: p.certificates.map((c) => c.sha256), content: Buffer.from(p.eContent!).toString() });
      const expected = same(decodeCmsPkijs(plain));
      expect(same(decodeCmsDer(withCrl)!)).toEqual(expected);
      expect(same(decodeCmsPkijs(withCrl))).toEqual(expected);
      expect(same(parseCms(withCrl))).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('preloads the certificates into the cache, yielding between them', async () => {
    const mesh = await crossSignedMesh(2);
    const ders = mesh.cas.map((c) => new Uint8Array(c.rawData));
    let pauses = 0;
    expect(ders.some((d) => cachedCert(d))).toBe(false);
    await preloadCertificates(signedDataWith(ders), async () => {
      pauses++;
    });
    expect(pauses).toBe(ders.length);
    expect(ders.every((d) => cachedCert(d))).toBe(true);
  });

  it('leaves BER with indefinite lengths to the full parser; a malformed certificate is still a format error', async () => {
    expect(splitCms(new Uint8Array([0x30, 0x80, 0x06, 0x00, 0x00, 0x00]))).toBeNull();
    expect(splitCms(signedDataWith([]))?.certificates ?? []).toEqual([]);
    const mesh = await crossSignedMesh(1);
    const leaf = new Uint8Array(mesh.leaf.rawData);
    const cms = signedDataWith([leaf]);
    const at = Buffer.from(cms).indexOf(Buffer.from(leaf));
    cms[at + 4] = 0x31; // the TBSCertificate SEQUENCE made a SET: same lengths, not a certificate
    expect(splitCms(cms)?.certificates).toHaveLength(1);
    expect(() => parseCms(cms)).toThrow(/malformed SignedData/);
  });

  it('finds the same certificates without building the rest as splitCms does, on every byte zeroed or flipped', async () => {
    const mesh = await crossSignedMesh(1);
    const cms = signedDataWith([new Uint8Array(mesh.leaf.rawData), ...mesh.cas.map((c) => new Uint8Array(c.rawData))]);
    const hex = (list: Uint8Array[] | undefined | null) => list?.map((c) => Buffer.from(c).toString('hex')) ?? null;
    expect(hex(embeddedCertificates(cms))).toEqual(hex(splitCms(cms)?.certificates));
    for (let i = 0; i < cms.length; i += cms.length > 600 ? 3 : 1) {
      for (const mutate of [(_b: number) => 0, (b: number) => b ^ 0xff]) {
        const bad = new Uint8Array(cms);
        bad[i] = mutate(bad[i]);
        expect(hex(embeddedCertificates(bad))).toEqual(hex(splitCms(bad)?.certificates));
      }
    }
  });

  it('hands its certificates to the one-pass reader by their bytes only: a look-alike of the same length is never taken for the embedded one', async () => {
    // A signature the one-pass reader takes (openssl: a signer and an extra certificate).
    const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-cms-preload-'));
    try {
      const sh = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      for (const name of ['a', 'b']) sh('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=preload ${name}`);
      writeFileSync(join(dir, 'doc'), 'Văn bản\n');
      sh('cms', '-sign', '-binary', '-in', 'doc', '-signer', 'a.pem', '-inkey', 'a.key', '-certfile', 'b.pem', '-outform', 'DER', '-out', 'sig', '-md', 'sha256');
      const cms = new Uint8Array(readFileSync(join(dir, 'sig')));
      const ders = embeddedCertificates(cms)!.map((d) => new Uint8Array(d));
      expect(ders).toHaveLength(2);
      const preloaded = await preloadCertificates(cms, async () => {});
      expect(preloaded!.map((c) => c!.sha256)).toEqual(ders.map((d) => cachedCert(d)!.sha256));
      const fromPreload = decodeCmsDer(cms, preloaded);
      expect(fromPreload).not.toBeNull();
      expect(fromPreload!.certificates).toEqual(preloaded);
      // A forged preload (one byte of each certificate's signature changed: same lengths, other
      // bytes) and an empty slot are ignored: the embedded bytes decide.
      const forged = ders.map((d) => {
        const f = new Uint8Array(d);
        f[f.length - 2] ^= 0x01;
        return loadCert(f);
      });
      expect(forged.every((f, i) => f.der.byteLength === ders[i].byteLength && f.sha256 !== cachedCert(ders[i])!.sha256)).toBe(true);
      const parsed = decodeCmsDer(cms, [null, ...forged.reverse()])!;
      expect(parsed.certificates.map((c) => c.sha256)).toEqual(ders.map((d) => cachedCert(d)!.sha256));
      expect(parsed.certificates.every((c, i) => Buffer.compare(c.der, ders[i]) === 0)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
