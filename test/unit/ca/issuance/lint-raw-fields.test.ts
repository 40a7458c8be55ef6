import 'reflect-metadata';
import { describe, it, expect, beforeAll } from '@jest/globals';
import * as asn1js from 'asn1js';
import { decodeDer, der, derTag, tlv } from '../../../../ca/asn1/der.js';
import { lintCertificate, readCertificate } from '../../../../ca/issuance/lint.js';
import { prepareCertificate } from '../../../../ca/issuance/prepare.js';
import { requestForKey } from '../../../../ca/issuance/request.js';
import { newSerial } from '../../../../ca/issuance/serial.js';
import { signCertificate } from '../../../../ca/issuance/sign.js';
import { buildTemplate } from '../../../../ca/issuance/template.js';
import { makeHierarchy, officialSubject, sealSubject, t0, type Hierarchy } from '../support.js';

/**
 * The linter reads the issuer, subject, key and signature-algorithm fields as they stand in the
 * input instead of re-encoding them from pkijs objects (the old way). On DER input both must see
 * the same bytes; on odd input the new way must refuse at least what the old one did.
 */
let h: Hierarchy;
beforeAll(async () => {
  h = await makeHierarchy();
});

const reencoded = (input: Uint8Array) => {
  const { certificate, signed } = readCertificate(input);
  return { signature: der(certificate.signature), issuer: der(certificate.issuer), subject: der(certificate.subject), spki: der(certificate.subjectPublicKeyInfo), signatureAlgorithm: signed ? der(certificate.signatureAlgorithm) : undefined };
};

/** The TBS's fields as DER pieces, so a test can re-assemble it with one field changed. */
const tbsFields = (tbs: Uint8Array) => (decodeDer(tbs, 'tbs', 'lintFailed') as asn1js.Sequence).valueBlock.value.map((b) => new Uint8Array(b.valueBeforeDecodeView));

describe('lint reads the fields as given', () => {
  it('sees exactly the bytes the re-encoding saw, for TBSs and signed certificates of every kind', async () => {
    const holder = await h.store.generate({ type: 'ec', curve: 'P-256' }, `holder-${newSerial()}`);
    const rsa = await h.store.generate({ type: 'rsa', bits: 2048 }, `rsa-${newSerial()}`);
    const inputs: Uint8Array[] = [h.root.certificate!, h.issuing.certificate!];
    for (const [profileId, spki, subject, names] of [
      ['official-signing', holder.spki, officialSubject, { emails: ['ntatuyet@soctrang.gov.vn'] }],
      ['organisation-seal', rsa.spki, sealSubject, {}],
      ['tls-server', holder.spki, { C: 'VN', CN: 'a.soctrang.gov.vn' }, { dnsNames: ['a.soctrang.gov.vn'] }],
    ] as const) {
      const prepared = prepareCertificate({ request: requestForKey(spki, subject, names), profile: h.profile(profileId), issuer: h.issuing, now: t0, serial: newSerial() });
      inputs.push(prepared.tbs, await signCertificate(prepared, h.issuing, h.issuingKey));
    }
    for (const input of inputs) {
      const { raw } = readCertificate(input);
      expect({ ...raw }).toEqual(reencoded(input));
    }
  });

  it('refuses an issuer name in a non-DER (long-form length) encoding, as the old way did (pkijs kept the name\'s bytes as given)', async () => {
    const holder = await h.store.generate({ type: 'ec', curve: 'P-256' }, `holder-${newSerial()}`);
    const profile = h.profile('official-signing');
    const { tbs } = buildTemplate(requestForKey(holder.spki, officialSubject, { emails: ['ntatuyet@soctrang.gov.vn'] }), profile, h.issuing, t0, newSerial());
    const fields = tbsFields(tbs);
    const issuer = fields[3];
    expect(issuer[1]).toBeLessThan(0x80);
    fields[3] = Uint8Array.from([issuer[0], 0x81, issuer[1], ...issuer.subarray(2)]);
    const odd = tlv(derTag.sequence, ...fields);
    expect(readCertificate(odd).raw.issuer).toEqual(fields[3]);
    expect(reencoded(odd).issuer).toEqual(fields[3]);
    expect(lintCertificate(tbs, profile, h.issuing)).toEqual([]);
    expect(lintCertificate(odd, profile, h.issuing).map((p) => p.code)).toContain('issuer.name');
  });

  it('finds the fields without the optional version (a v1 TBS), and still reports the version', async () => {
    const holder = await h.store.generate({ type: 'ec', curve: 'P-256' }, `holder-${newSerial()}`);
    const profile = h.profile('official-signing');
    const { tbs } = buildTemplate(requestForKey(holder.spki, officialSubject, { emails: ['ntatuyet@soctrang.gov.vn'] }), profile, h.issuing, t0, newSerial());
    const v1 = tlv(derTag.sequence, ...tbsFields(tbs).slice(1));
    expect({ ...readCertificate(v1).raw }).toEqual(reencoded(v1));
    expect(lintCertificate(v1, profile, h.issuing).map((p) => p.code)).toEqual(['version']);
  });

  it('throws lintFailed on truncated or foreign structures, as before', () => {
    expect(() => lintCertificate(der(new asn1js.Sequence({ value: [] })), h.profile('official-signing'), h.issuing)).toThrow(expect.objectContaining({ kind: 'lintFailed' }));
    expect(() => lintCertificate(tlv(derTag.sequence, ...tbsFields(h.issuing.certificate!).slice(0, 2)), h.profile('official-signing'), h.issuing)).toThrow(expect.objectContaining({ kind: 'lintFailed' }));
    expect(() => lintCertificate(h.issuing.certificate!.subarray(0, 40), h.profile('official-signing'), h.issuing)).toThrow(expect.objectContaining({ kind: 'lintFailed' }));
  });
});

describe('shared extensions encoded once per profile, issuer and key usages', () => {
  it('give the same TBS bytes from the cache as freshly encoded (new profile and issuer objects), for EC and RSA keys', async () => {
    for (const spec of [{ type: 'ec', curve: 'P-256' }, { type: 'rsa', bits: 2048 }] as const) {
      const key = await h.store.generate(spec, `shared-${newSerial()}`);
      for (const profileId of ['official-signing', 'tls-server', 'organisation-seal']) {
        const request = requestForKey(key.spki, { C: 'VN', CN: 'a.soctrang.gov.vn' }, profileId === 'tls-server' ? { dnsNames: ['a.soctrang.gov.vn'] } : {});
        const serial = newSerial();
        const cached = [1, 2].map(() => buildTemplate(request, h.profile(profileId), h.issuing, t0, serial).tbs);
        const fresh = buildTemplate(request, structuredClone(h.profile(profileId)), { ...h.issuing }, t0, serial).tbs;
        expect(cached[0]).toEqual(fresh);
        expect(cached[1]).toEqual(fresh);
      }
    }
  });
});
