import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import { readSignatureAlgorithm } from '../../../ca/asn1/algorithms.js';
import { decodePem } from '../../../ca/asn1/der.js';
import { algorithmOf, loadCert } from '../../../src/validation/cert.js';
import { decodeCmsDer, decodeCmsPkijs, type ParsedCms } from '../../../src/validation/cms.js';
import { octetsValue, oidValue, readSignedDataDer, sequenceDer, timeValue, type AttributesView, type AttributeValue, type SignerInfoView } from '../../../src/validation/cms-der.js';
import { verifySigners } from '../../../src/validation/cms-signers.js';

const hex = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('hex') : null);
const valueDer = (v: AttributeValue) => hex(v.der ?? new Uint8Array((v.node as asn1js.BaseBlock).toBER(false)));

function attributesView(a: AttributesView | null) {
  if (!a) return null;
  return {
    encoded: hex(a.encoded),
    attributes: a.attributes.map((x) => ({ type: x.type, values: x.values.map(valueDer), oid: x.values.map(oidValue), octets: x.values.map((v) => hex(octetsValue(v))), sequence: x.values.map((v) => hex(sequenceDer(v))) })),
  };
}

/** Everything the checks read from a SignerInfo, as plain data. */
function signerView(s: SignerInfoView) {
  const identifier = s.signatureAlgorithm.pkijs ?? algorithmOf(s.signatureAlgorithm.der!);
  return {
    sid: s.sid && ('ski' in s.sid ? { ski: hex(s.sid.ski) } : s.sid),
    digestAlgorithm: s.digestAlgorithm,
    signatureAlgorithm: { oid: s.signatureAlgorithm.oid, read: readSignatureAlgorithm(identifier) },
    signedAttrs: attributesView(s.signedAttrs),
    signature: hex(s.signature),
    unsignedAttrs: attributesView(s.unsignedAttrs),
  };
}

function parsedView(p: ParsedCms) {
  return { eContentType: p.eContentType, eContent: hex(p.eContent), certificates: p.certificates.map((c) => c.sha256), warnings: p.warnings, signers: p.signerInfos.map(signerView) };
}

/** The verdicts both readers lead to (the checks of cms-signers.ts over each reader's view). */
function verdicts(p: ParsedCms, data: Uint8Array) {
  return verifySigners(p, { data }, []).map((c) => ({ cert: c.cert?.sha256 ?? null, digest: c.digest, algorithm: c.signatureAlgorithm, attributes: c.signedAttributes, claimed: c.claimedTime?.toISOString() ?? null, verdict: c.verdict, errors: c.errors, warnings: c.warnings, timestamp: hex(c.timestampToken), counter: c.counterSignatures.length }));
}

const outcome = <T>(f: () => T): T | { error: string } => {
  try {
    return f();
  } catch (err) {
    return { error: (err as Error).constructor.name };
  }
};

const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-cms-der-'));
const sh = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const data = Buffer.from('Văn bản số 1/UBND\n'.repeat(20));
const samples: Array<[string, Uint8Array, boolean]> = [];

beforeAll(() => {
  writeFileSync(join(dir, 'd.bin'), data);
  const keys: Record<string, string[]> = { ec: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], rsa: ['-newkey', 'rsa:2048']};
  for (const [name, key] of Object.entries(keys)) sh('req', '-x509', ...key, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-utf8', '-subj', `/C=VN/O=UBND tỉnh Sóc Trăng/CN=Ký ${name}`);
  const sign = (name: string, lean: boolean, ...args: string[]) => {
    sh('cms', '-sign', '-binary', '-in', 'd.bin', '-outform', 'DER', '-out', `${name}.der`, ...args);
    samples.push([name, new Uint8Array(readFileSync(join(dir, `${name}.der`))), lean]);
  };
  sign('ecdsa detached', true, '-signer', 'ec.pem', '-inkey', 'ec.key', '-md', 'sha256');
  sign('rsa attached, sha384', true, '-signer', 'rsa.pem', '-inkey', 'rsa.key', '-md', 'sha384', '-nodetach');
  sign('rsa without signed attributes', true, '-signer', 'rsa.pem', '-inkey', 'rsa.key', '-noattr');
  sign('rsa-pss', true, '-signer', 'rsa.pem', '-inkey', 'rsa.key', '-keyopt', 'rsa_padding_mode:pss');
  sign('two signers', true, '-signer', 'ec.pem', '-inkey', 'ec.key', '-signer', 'rsa.pem', '-inkey', 'rsa.key');
  sign('cades, subject key identifier', true, '-signer', 'ec.pem', '-inkey', 'ec.key', '-cades', '-keyid');
  sign('ecdsa sha512, extra certificate', true, '-signer', 'ec.pem', '-inkey', 'ec.key', '-md', 'sha512', '-certfile', 'rsa.pem');
  sign('no certificates', true, '-signer', 'ec.pem', '-inkey', 'ec.key', '-nocerts');
  sign('BER, indefinite lengths', false, '-signer', 'ec.pem', '-inkey', 'ec.key', '-nodetach', '-stream');
  for (const name of Object.keys(keys)) loadCert(new Uint8Array(decodePem(readFileSync(join(dir, `${name}.pem`), 'utf8'), 'badCertificate')[0].der));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the one-pass CMS reader (cms-der.ts) against pkijs', () => {
  it('reads every field as pkijs does and leads to the same verdicts; BER goes to pkijs', () => {
    for (const [name, der, lean] of samples) {
      const read = decodeCmsDer(der);
      expect([name, read !== null]).toEqual([name, lean]);
      const viaPkijs = decodeCmsPkijs(der);
      if (!read) continue;
      expect([name, parsedView(read)]).toEqual([name, parsedView(viaPkijs)]);
      const checks = verdicts(read, data);
      expect([name, checks]).toEqual([name, verdicts(viaPkijs, data)]);
      expect(checks.every((c) => c.verdict === null || name === 'no certificates')).toBe(true);
    }
  });

  it('on every one-byte change of the structure, either leaves it to pkijs or reads and judges exactly as pkijs does', () => {
    let read = 0;
    let left = 0;
    for (const [name, der] of samples.filter(([n]) => n === 'ecdsa detached' || n.startsWith('cades'))) {
      // The envelope up to the certificates, and everything after them (the certificates have a test of their own, cert-der.test.ts).
      const certificates = readSignedDataDer(new Uint8Array(der))!.certificates;
      const last = certificates[certificates.length - 1];
      const after = last.byteOffset + last.length;
      const positions = [...Array(certificates[0].byteOffset).keys(), ...Array.from({ length: der.length - after }, (_, i) => after + i)];
      for (const at of positions) {
        // Two bit flips, and the byte zeroed (a length of 0 empties a SET: the fuzz test found an
        // attribute with no values that way, which pkijs hands back without a `values` list).
        for (const flip of [0x01, 0x80, 'zero'] as const) {
          const mutated = new Uint8Array(der);
          if (flip === 'zero') mutated[at] = 0;
          else mutated[at] ^= flip;
          const viaDer = outcome(() => decodeCmsDer(mutated));
          if (viaDer === null) {
            // Left to pkijs: it refuses (AppError, CmsFormatError: a 400 problem) or its view is judged; a
            // TypeError here would be a 500 for the caller.
            left++;
            const viaPkijs = outcome(() => decodeCmsPkijs(mutated));
            const judged = 'error' in viaPkijs ? viaPkijs : outcome(() => verdicts(viaPkijs, data));
            expect([name, at, flip, 'error' in judged ? judged.error : 'judged']).toEqual([name, at, flip, expect.stringMatching(/^(AppError|CmsFormatError|judged)$/)]);
            continue;
          }
          read++;
          const viaPkijs = outcome(() => decodeCmsPkijs(mutated));
          const view = (p: ParsedCms | { error: string }) => ('error' in p ? p : { ...parsedView(p), verdicts: outcome(() => verdicts(p, data)) });
          expect([name, at, flip, view(viaDer)]).toEqual([name, at, flip, view(viaPkijs)]);
        }
      }
    }
    expect(read).toBeGreaterThan(100);
    expect(left).toBeGreaterThan(100);
  });

  it('leaves odd structures to pkijs: empty attributes, CRLs, other certificate choices, trailing fields, long forms', () => {
    const [, der] = samples[0];
    const info = readSignedDataDer(new Uint8Array(der))!;
    expect(info.signerInfos).toHaveLength(1);
    // Not SignedData, truncated, a non-minimal length: null (pkijs decides).
    expect(readSignedDataDer(der.subarray(0, der.length - 1))).toBeNull();
    expect(readSignedDataDer(Uint8Array.of(0x30, 0x81, 0x03, 0x06, 0x01, 0x00))).toBeNull();
    const other = new Uint8Array(der);
    other[other.indexOf(0x07, 4) + 1] = 0x01; // id-data in place of id-signedData
    expect(readSignedDataDer(other)).toBeNull();
    expect(() => decodeCmsPkijs(other)).toThrow(/not signedData/);
  });

  it('reads a signingTime as asn1js does, on RFC 5280 forms and every one-character change of them (timeValue)', () => {
    // What the validator read before: asn1js's node, its toDate() when it is a time, else nothing.
    const viaAsn1js = (der: Uint8Array) => {
      const node = asn1js.fromBER(der).result;
      return node instanceof asn1js.UTCTime || node instanceof asn1js.GeneralizedTime ? String(node.toDate().getTime()) : null;
    };
    const viaLean = (der: Uint8Array) => {
      const date = timeValue({ der });
      return date ? String(date.getTime()) : null;
    };
    const bases = ['261205215500Z', '491231235959Z', '500101000000Z', '20261205215500Z', '19991231235959Z', '20261205215500.5Z', '261205215500+0700', '2612052155Z', '260229120000Z', '20260431000000Z'];
    const texts = new Set<string>(bases);
    for (const base of bases) {
      for (let i = 0; i < base.length; i++) {
        for (const c of ['0', '1', '2', '3', '5', '6', '9', 'Z', '.', '+', ' ', 'a']) texts.add(base.slice(0, i) + c + base.slice(i + 1));
        texts.add(base.slice(0, i) + base.slice(i + 1));
      }
    }
    let lean = 0;
    for (const text of texts) {
      for (const tag of [0x17, 0x18, 0x13]) {
        const der = Uint8Array.of(tag, text.length, ...Buffer.from(text, 'latin1'));
        const expected = outcome(() => viaAsn1js(der));
        expect([text, tag, outcome(() => viaLean(der))]).toEqual([text, tag, expected]);
        if (expected !== null && !(typeof expected === 'object') && /^\d{12}Z$|^\d{14}Z$/.test(text)) lean++;
      }
    }
    expect(lean).toBeGreaterThan(100);
    // A value asn1js decoded (the pkijs path) is read from its node.
    const node = asn1js.fromBER(Uint8Array.of(0x17, 13, ...Buffer.from('261205215500Z'))).result;
    expect(timeValue({ node })?.toISOString()).toBe('2026-12-05T21:55:00.000Z');
  });
});
