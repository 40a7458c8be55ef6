import 'reflect-metadata';
import { describe, it, expect, beforeAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { decodePem, der, encodeTime, integerFromHex } from '../../../../ca/asn1/der.js';
import { encodeExtensions, encodeExtensionsDer, subjectAltName, subjectAltNameDer } from '../../../../ca/asn1/extensions.js';
import { integerDer, timeDer } from '../../../../ca/issuance/template.js';
import { describeGeneral, describePublicKey, parseSpki, subjectPublicKeyBits } from '../../../../ca/asn1/public-key.js';
import { encodeName, encodeNameGeneral, parseName, parseNameGeneral, parseNameLean, type SubjectFields } from '../../../../ca/asn1/names.js';
import { lintCertificate, lintCertificateGeneral, readCertificate } from '../../../../ca/issuance/lint.js';
import { altNamesOf, readTbsLean, skiBytes, type LintExtension } from '../../../../ca/issuance/lint-view.js';
import { prepareCertificate } from '../../../../ca/issuance/prepare.js';
import { requestForKey } from '../../../../ca/issuance/request.js';
import { newSerial } from '../../../../ca/issuance/serial.js';
import { signCertificate } from '../../../../ca/issuance/sign.js';
import type { Issuer } from '../../../../ca/issuance/issuer.js';
import type { Profile } from '../../../../ca/profiles/profile.js';
import { makeHierarchy, officialSubject, sealSubject, t0, type Hierarchy } from '../support.js';

/**
 * The lean DER readers of the issuance path (the linter's TBS reader, names) against the general
 * path they stand in for (pkijs/asn1js): on what the CA builds they must read the same fields; on
 * every single-byte mutation of it they must reach the same verdict (the same problems, or the
 * same refusal), and never throw where the general path does not.
 */
let h: Hierarchy;
const built: { tbs: Uint8Array; profile: Profile; issuer: Issuer }[] = [];
beforeAll(async () => {
  h = await makeHierarchy();
  const ec = await h.store.generate({ type: 'ec', curve: 'P-256' }, `holder-${newSerial()}`);
  const rsa = await h.store.generate({ type: 'rsa', bits: 2048 }, `rsa-${newSerial()}`);
  for (const [profileId, spki, subject, names] of [
    ['official-signing', ec.spki, officialSubject, { emails: ['ntatuyet@soctrang.gov.vn'] }],
    ['organisation-seal', rsa.spki, sealSubject, {}],
    ['tls-server', ec.spki, { C: 'VN', CN: 'a.soctrang.gov.vn' }, { dnsNames: ['a.soctrang.gov.vn', 'b.soctrang.gov.vn'] }],
  ] as const) {
    const profile = h.profile(profileId);
    built.push({ tbs: prepareCertificate({ request: requestForKey(spki, subject, names), profile, issuer: h.issuing, now: t0, serial: newSerial() }).tbs, profile, issuer: h.issuing });
  }
  // An issuing CA's own TBS under the root, and one valid past 2049 (GeneralizedTime).
  const late = new Date('2049-06-01T00:00:00Z');
  const sub = await h.store.generate({ type: 'ec', curve: 'P-384' }, `sub-${newSerial()}`);
  built.push({ tbs: prepareCertificate({ request: requestForKey(sub.spki, { C: 'VN', O: 'Thử', CN: 'Sub CA' }), profile: h.profile('issuing-ca'), issuer: h.root, now: t0, serial: newSerial() }).tbs, profile: h.profile('issuing-ca'), issuer: h.root });
  if (late < h.issuing.notAfter) {
    built.push({ tbs: prepareCertificate({ request: requestForKey(ec.spki, officialSubject, { emails: ['ntatuyet@soctrang.gov.vn'] }), profile: h.profile('official-signing'), issuer: h.issuing, now: late, serial: newSerial() }).tbs, profile: h.profile('official-signing'), issuer: h.issuing });
  }
});

type Verdict = { problems: string[] } | { refused: string };
const verdict = (lint: () => { code: string; message: string }[]): Verdict => {
  try {
    return { problems: lint().map((p) => `${p.code}: ${p.message}`) };
  } catch (error) {
    return { refused: (error as { kind?: string }).kind ?? `threw ${(error as Error).name}` };
  }
};

/** What pkijs reads, in the lean view's terms. */
function generalView(input: Uint8Array) {
  const { certificate, raw } = readCertificate(input);
  const extensions = (certificate.extensions ?? []).map((e): LintExtension => ({ extnID: e.extnID, critical: e.critical, extnValue: e.extnValue.valueBlock.valueHexView, parsedValue: () => e.parsedValue as unknown }));
  const plain = (list: LintExtension[]) => list.map((e) => ({ extnID: e.extnID, critical: e.critical, extnValue: Buffer.from(e.extnValue).toString('hex') }));
  const san = extensions.find((e) => e.extnID === '2.5.29.17');
  return {
    version: certificate.version,
    serial: Buffer.from(certificate.serialNumber.valueBlock.valueHexView).toString('hex'),
    notBefore: certificate.notBefore.value.toISOString(),
    notAfter: certificate.notAfter.value.toISOString(),
    utc: [certificate.notBefore.type === 0, certificate.notAfter.type === 0],
    extensions: plain(extensions),
    altNames: san ? altNamesOf({ ...san, extnValue: new Uint8Array(0) }) : [],
    ski: Buffer.from(skiBytes(extensions.find((e) => e.extnID === '2.5.29.14')) ?? []).toString('hex'),
    raw: Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Buffer.from(v as Uint8Array).toString('hex')])),
    subject: parseNameGeneral(raw.subject, 'lintFailed'),
  };
}

function leanView(input: Uint8Array, issuer: Issuer) {
  const lean = readTbsLean(input, issuer);
  if (!lean) return undefined;
  const { view, raw } = lean;
  const extensions = view.extensions ?? [];
  const san = extensions.find((e) => e.extnID === '2.5.29.17');
  return {
    version: view.version,
    serial: Buffer.from(view.serial).toString('hex'),
    notBefore: view.notBefore.value.toISOString(),
    notAfter: view.notAfter.value.toISOString(),
    utc: [view.notBefore.utc, view.notAfter.utc],
    extensions: extensions.map((e) => ({ extnID: e.extnID, critical: e.critical, extnValue: Buffer.from(e.extnValue).toString('hex') })),
    altNames: san ? altNamesOf(san) : [],
    ski: Buffer.from(skiBytes(extensions.find((e) => e.extnID === '2.5.29.14')) ?? []).toString('hex'),
    raw: Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Buffer.from(v as Uint8Array).toString('hex')])),
    subject: view.subjectAttributes,
  };
}

describe('the linter\'s lean TBS reader', () => {
  it('reads every TBS the CA builds, and sees what pkijs sees', () => {
    for (const { tbs, profile, issuer } of built) {
      expect(leanView(tbs, issuer)).toEqual(generalView(tbs));
      // The lean alternative names equal pkijs's (with the fast path and without it).
      const lean = readTbsLean(tbs, issuer)!;
      for (const e of lean.view.extensions!.filter((x) => x.extnID === '2.5.29.17')) {
        expect(altNamesOf(e)).toEqual(altNamesOf({ ...e, extnValue: new Uint8Array(0) }));
      }
      expect(lintCertificate(tbs, profile, issuer)).toEqual([]);
      expect(lintCertificateGeneral(tbs, profile, issuer)).toEqual([]);
    }
  });

  it('leaves signed certificates and other CAs\' certificates to pkijs', async () => {
    const { tbs, profile, issuer } = built[0];
    const signed = await signCertificate({ ...prepareCertificate({ request: requestForKey(readCertificate(tbs).raw.spki, officialSubject, { emails: ['ntatuyet@soctrang.gov.vn'] }), profile, issuer, now: t0, serial: newSerial() }) }, h.issuing, h.issuingKey);
    expect(readTbsLean(signed, issuer)).toBeUndefined();
    expect(lintCertificate(signed, profile, issuer)).toEqual(lintCertificateGeneral(signed, profile, issuer));
    const vgca = decodePem(readFileSync(new URL('../../../fixtures/vgca/vgca-g1-chinh-phu-subca.pem', import.meta.url), 'utf8'))[0]?.der;
    if (vgca) expect(readTbsLean(vgca, issuer)).toBeUndefined();
  });

  it('gives the general path\'s verdict on every single-byte mutation, and never throws where it does not', () => {
    let leanRead = 0;
    let total = 0;
    const readButRefused: string[] = [];
    // Each byte of the three kinds with its low bit flipped, and of the first with its high bit (length and tag forms).
    for (const [k, { tbs, profile, issuer }] of built.slice(0, 3).entries()) {
      for (let i = 0; i < tbs.length; i++) {
        for (const flip of k === 0 ? [0x01, 0x80] : [0x01]) {
          const mutated = tbs.slice();
          mutated[i] ^= flip;
          total++;
          const general = verdict(() => lintCertificateGeneral(mutated, profile, issuer));
          let lean: ReturnType<typeof leanView>;
          expect(() => (lean = leanView(mutated, issuer))).not.toThrow();
          if (lean !== undefined) {
            leanRead++;
            // Whatever the lean reader accepts, pkijs reads too, and the same way (a check may still throw on it, in both paths alike).
            let read: ReturnType<typeof generalView> | undefined;
            try {
              read = generalView(mutated);
            } catch (error) {
              readButRefused.push(`byte ${i} ^ ${flip.toString(16)} (${tbs[i].toString(16)}): pkijs refuses (${(error as Error).message})`);
            }
            if (read) expect(lean).toEqual(read);
          }
          expect(verdict(() => lintCertificate(mutated, profile, issuer))).toEqual(general);
        }
      }
    }
    expect(readButRefused).toEqual([]);
    // Most mutations of content bytes keep the structure: the lean reader really is exercised.
    expect(leanRead).toBeGreaterThan(total / 4);
  }, 600_000);

  it('refuses non-DER forms (long-form length, explicit FALSE) to the general path', () => {
    const { tbs, profile, issuer } = built[0];
    // A critical flag written as explicit FALSE (BER, not DER): find basicConstraints' 01 01 ff.
    const at = Buffer.from(tbs).indexOf(Buffer.from('0603551d130101ff', 'hex'));
    expect(at).toBeGreaterThan(0);
    const berFalse = tbs.slice();
    berFalse[at + 7] = 0x00;
    expect(readTbsLean(berFalse, issuer)).toBeUndefined();
    expect(lintCertificate(berFalse, profile, issuer)).toEqual(lintCertificateGeneral(berFalse, profile, issuer));
    expect(lintCertificate(berFalse, profile, issuer).map((p) => p.code)).toContain('ext.basicConstraints.critical');
  });
});

describe('names written and read directly', () => {
  const subjects: SubjectFields[] = [
    officialSubject,
    sealSubject,
    { C: 'VN', CN: 'Nguyễn Thị Ánh Tuyết'.normalize('NFD') },
    { C: 'VN', CN: 'a'.repeat(200), OU: ['x', 'y', 'z'], UID: ['CCCD:094187001234'] },
    {},
    { C: 'Việt', CN: 'non-ASCII in a PrintableString' },
    { C: 'VN', E: 'tuyết@soctrang.gov.vn' },
    { C: 'VN', CN: 'emoji 😀 and \u0000 nul' },
  ];

  it('encodes the same bytes as the ASN.1 library', () => {
    for (const subject of subjects) expect(Buffer.from(encodeName(subject)).toString('hex')).toBe(Buffer.from(encodeNameGeneral(subject)).toString('hex'));
  });

  it('refuses lone surrogates as the library does', () => {
    expect(() => encodeName({ CN: 'broken \ud800 half' })).toThrow(TypeError);
    expect(() => encodeNameGeneral({ CN: 'broken \ud800 half' })).toThrow(TypeError);
  });

  it('parses the same attributes, and the same verdict on every single-byte mutation', () => {
    for (const subject of subjects.slice(0, 4)) {
      const der = encodeName(subject);
      expect(parseNameLean(der)).toEqual(parseNameGeneral(der));
      for (let i = 0; i < der.length; i++) {
        for (const flip of [0x01, 0x80, 0xff]) {
          const mutated = der.slice();
          mutated[i] ^= flip;
          let general: unknown;
          try {
            general = parseNameGeneral(mutated, 'lintFailed');
          } catch (error) {
            general = { refused: (error as { kind: string }).kind };
          }
          let lean: unknown;
          expect(() => (lean = parseNameLean(mutated))).not.toThrow();
          if (lean !== undefined) expect(lean).toEqual(general);
          let combined: unknown;
          try {
            combined = parseName(mutated, 'lintFailed');
          } catch (error) {
            combined = { refused: (error as { kind: string }).kind };
          }
          expect(combined).toEqual(general);
        }
      }
    }
  });
});

describe('the TBS written directly', () => {
  it('has the bytes the ASN.1 library writes: serials, times, extensions, alternative names', () => {
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    for (let i = 0; i < 200; i++) {
      const serial = newSerial();
      expect(hex(integerDer(serial))).toBe(hex(der(integerFromHex(serial))));
    }
    for (const serial of ['01', '7f', '80', 'ff', '00ff'.slice(2), '0100']) expect(hex(integerDer(serial))).toBe(hex(der(integerFromHex(serial))));
    for (const iso of ['1950-01-01T00:00:00Z', '2025-07-01T08:00:00.999Z', '2049-12-31T23:59:59Z', '2050-01-01T00:00:00Z', '2100-02-28T12:34:56Z', '9999-12-31T23:59:59Z']) {
      expect(hex(timeDer(new Date(iso)))).toBe(hex(der(encodeTime(new Date(iso)))));
    }
    expect(() => timeDer(new Date('1949-12-31T23:59:59Z'))).toThrow(RangeError);
    const specs = [
      { oid: '2.5.29.19', critical: true, value: Uint8Array.of(0x30, 0x00) },
      { oid: '2.5.29.14', critical: false, value: Uint8Array.from({ length: 22 }, (_, k) => (k ? k : 4)) },
      { oid: '1.3.6.1.5.5.7.1.1', critical: false, value: new Uint8Array(300) },
    ];
    expect(hex(encodeExtensionsDer(specs))).toBe(hex(der(encodeExtensions(specs))));
    for (const names of [{ emails: ['a@b.vn'], dnsNames: [] }, { emails: [], dnsNames: ['a.soctrang.gov.vn', 'b.soctrang.gov.vn'] }, { emails: ['x'.repeat(200) + '@b.vn'], dnsNames: ['c.vn'] }, { emails: ['tuyết@b.vn'], dnsNames: [] }]) {
      expect(hex(subjectAltNameDer(names))).toBe(hex(der(subjectAltName(names))));
    }
  });
});

describe('keys read directly', () => {
  it('describes keys and finds their bits as pkijs does, on real keys and every single-byte mutation', async () => {
    const keys = [
      (await h.store.generate({ type: 'ec', curve: 'P-256' }, `k-${newSerial()}`)).spki,
      (await h.store.generate({ type: 'ec', curve: 'P-384' }, `k-${newSerial()}`)).spki,
      (await h.store.generate({ type: 'rsa', bits: 2048 }, `k-${newSerial()}`)).spki,
    ];
    const outcome = (f: () => unknown) => {
      try {
        const value = f();
        return { value: value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value };
      } catch (error) {
        return { refused: (error as { kind?: string }).kind };
      }
    };
    for (const spki of keys) {
      expect(describePublicKey(spki)).toEqual(describeGeneral(spki));
      expect(subjectPublicKeyBits(spki)).toEqual(parseSpki(spki).subjectPublicKey.valueBlock.valueHexView);
    }
    for (const spki of keys.slice(0, 2)) {
      for (let i = 0; i < spki.length; i++) {
        for (const flip of [0x01, 0x80]) {
          const mutated = spki.slice();
          mutated[i] ^= flip;
          expect(outcome(() => describePublicKey(mutated))).toEqual(outcome(() => describeGeneral(mutated)));
          expect(outcome(() => subjectPublicKeyBits(mutated))).toEqual(outcome(() => parseSpki(mutated).subjectPublicKey.valueBlock.valueHexView));
        }
      }
    }
  });
});
