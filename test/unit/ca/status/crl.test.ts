import 'reflect-metadata';
import { describe, it, expect, beforeAll } from '@jest/globals';
import * as x509 from '@peculiar/x509';
import type * as asn1js from 'asn1js';
import * as asn1 from 'asn1js';
import * as pkijs from 'pkijs';
import { hexFromInteger } from '../../../../ca/asn1/der.js';
import { buildCrl, crlEntryDer, deltaEntries, revocationReasons, signCrl, type CrlEntry, type RevocationReason } from '../../../../ca/status/crl/crl.js';
import { makeHierarchy, t0, type Hierarchy } from '../support.js';

let h: Hierarchy;
beforeAll(async () => {
  h = await makeHierarchy();
});

const day = 86_400_000;
const at = (days: number) => new Date(t0.getTime() + days * day);
const entries: CrlEntry[] = [
  { serial: 'c3a1', revokedAt: at(2), reason: 'keyCompromise', invalidityDate: at(1) },
  { serial: '0b', revokedAt: at(1), reason: 'certificateHold' },
  { serial: '7f01', revokedAt: at(3), reason: 'unspecified' },
];

function read(der: Uint8Array) {
  const crl = pkijs.CertificateRevocationList.fromBER(Uint8Array.from(der));
  const ext = (id: string, list = crl.crlExtensions?.extensions) => list?.find((e) => e.extnID === id);
  return { crl, ext };
}

describe('CRLs', () => {
  it('builds a signed full CRL with number, AKI, freshest-CRL pointer and entries with reasons', async () => {
    const der = await signCrl(buildCrl({ issuer: h.issuing, number: 7n, thisUpdate: t0, nextUpdate: at(7), entries, freshestCrl: true }), h.issuing, h.issuingKey);
    const { crl, ext } = read(der);
    expect(crl.version).toBe(1);
    expect(crl.thisUpdate.value).toEqual(t0);
    expect(crl.nextUpdate!.value).toEqual(at(7));
    expect((ext('2.5.29.20')!.parsedValue as asn1js.Integer).valueBlock.valueDec).toBe(7);
    expect(ext('2.5.29.20')!.critical).toBe(false);
    expect(ext('2.5.29.35')).toBeDefined();
    expect(ext('2.5.29.46')).toBeDefined();
    expect(ext('2.5.29.27')).toBeUndefined();
    const revoked = crl.revokedCertificates!.map((r) => ({
      serial: hexFromInteger(r.userCertificate.valueBlock.valueHexView),
      reason: (r.crlEntryExtensions?.extensions.find((e) => e.extnID === '2.5.29.21')?.parsedValue as asn1js.Enumerated | undefined)?.valueBlock.valueDec,
      invalidity: r.crlEntryExtensions?.extensions.some((e) => e.extnID === '2.5.29.24'),
    }));
    expect(revoked).toEqual([
      { serial: '0b', reason: 6, invalidity: false },
      { serial: 'c3a1', reason: 1, invalidity: true },
      { serial: '7f01', reason: undefined, invalidity: undefined }, // §5.3.1: unspecified is left out
    ]);
    const peculiar = new x509.X509Crl(Buffer.from(der));
    expect(await peculiar.verify({ publicKey: await new x509.X509Certificate(Buffer.from(h.issuing.certificate!)).publicKey.export() })).toBe(true);
  });

  it('builds an empty full CRL without a revokedCertificates list', async () => {
    const { crl } = read(await signCrl(buildCrl({ issuer: h.issuing, number: 1n, thisUpdate: t0, nextUpdate: at(1), entries: [] }), h.issuing, h.issuingKey));
    expect(crl.revokedCertificates).toBeUndefined();
  });

  it('builds a delta CRL with a critical Delta CRL Indicator naming its base', async () => {
    const der = await signCrl(
      buildCrl({ issuer: h.issuing, number: 8n, thisUpdate: at(1), nextUpdate: at(2), entries: [{ serial: '0b', revokedAt: at(1), reason: 'removeFromCRL' }], delta: { baseNumber: 7n }, freshestCrl: true }),
      h.issuing,
      h.issuingKey,
    );
    const { crl, ext } = read(der);
    expect(ext('2.5.29.27')!.critical).toBe(true);
    expect((ext('2.5.29.27')!.parsedValue as asn1js.Integer).valueBlock.valueDec).toBe(7);
    expect(ext('2.5.29.46')).toBeUndefined();
    expect(crl.revokedCertificates).toHaveLength(1);
  });

  it('refuses inconsistent input', () => {
    const base = { issuer: h.issuing, thisUpdate: t0, nextUpdate: at(1), entries: [] };
    expect(() => buildCrl({ ...base, number: 2n, entries: [{ serial: '01', revokedAt: t0, reason: 'removeFromCRL' }] })).toThrow(/removeFromCRL belongs in delta CRLs only/);
    expect(() => buildCrl({ ...base, number: 2n, delta: { baseNumber: 2n } })).toThrow(/cannot refer to base CRL 2/);
    expect(() => buildCrl({ ...base, number: 2n, nextUpdate: t0 })).toThrow(/nextUpdate must be after thisUpdate/);
    expect(() => buildCrl({ ...base, number: 1n << 160n })).toThrow(/outside 0..2\^159-1/);
    expect(() => buildCrl({ ...base, number: 2n, entries: [entries[0], entries[0]] })).toThrow(/serial c3a1 appears twice/);
    expect(() => buildCrl({ ...base, number: 2n, entries: [{ ...entries[0], serial: '00c3' }] })).toThrow(/leading zero octet/);
  });

  it('is deterministic for the same input', () => {
    const params = { issuer: h.issuing, number: 3n, thisUpdate: t0, nextUpdate: at(1), entries };
    expect(Buffer.from(buildCrl(params)).equals(Buffer.from(buildCrl({ ...params, entries: [...entries].reverse() })))).toBe(true);
  });
});

describe('deltaEntries', () => {
  it('lists new and changed entries, and removeFromCRL for released holds and dropped entries', () => {
    const base: CrlEntry[] = [
      { serial: '01', revokedAt: at(1), reason: 'certificateHold' },
      { serial: '02', revokedAt: at(1), reason: 'certificateHold' },
      { serial: '03', revokedAt: at(1), reason: 'superseded' },
      { serial: '04', revokedAt: at(1), reason: 'keyCompromise' },
    ];
    const current: CrlEntry[] = [
      { serial: '02', revokedAt: at(2), reason: 'keyCompromise' }, // hold made permanent
      { serial: '03', revokedAt: at(1), reason: 'superseded' }, // unchanged
      { serial: '05', revokedAt: at(3), reason: 'affiliationChanged' }, // new
    ];
    expect(deltaEntries(base, current)).toEqual([
      current[0],
      current[2],
      { serial: '01', revokedAt: at(1), reason: 'removeFromCRL' },
      { serial: '04', revokedAt: at(1), reason: 'removeFromCRL' },
    ]);
  });

  it('lists removeFromCRL for a hold placed after the base and released since (never on the base)', () => {
    const base: CrlEntry[] = [{ serial: '01', revokedAt: at(1), reason: 'superseded' }];
    const current: CrlEntry[] = [
      base[0],
      { serial: '07', revokedAt: at(4), reason: 'certificateHold' }, // released, then held again: held now
    ];
    const released = [
      { serial: '06', releasedAt: at(3) }, // held at 2 (a full CRL listed it), released at 3
      { serial: '07', releasedAt: at(3) },
    ];
    expect(deltaEntries(base, current, released)).toEqual([current[1], { serial: '06', revokedAt: at(3), reason: 'removeFromCRL' }]);
    // The base's own released holds are not listed twice.
    expect(deltaEntries([{ serial: '06', revokedAt: at(1), reason: 'certificateHold' }], [], released.slice(0, 1))).toEqual([{ serial: '06', revokedAt: at(1), reason: 'removeFromCRL' }]);
  });

  it('encodes each entry by hand exactly as pkijs encodes the same RevokedCertificate (every reason, both time forms)', () => {
    const reference = (e: CrlEntry) => {
      const extensions = [
        ...(e.reason === 'unspecified' ? [] : [new pkijs.Extension({ extnID: '2.5.29.21', critical: false, extnValue: new asn1.Enumerated({ value: revocationReasons[e.reason] }).toBER(false) })]),
        ...(e.invalidityDate ? [new pkijs.Extension({ extnID: '2.5.29.24', critical: false, extnValue: new asn1.GeneralizedTime({ valueDate: e.invalidityDate }).toBER(false) })] : []),
      ];
      const serial = Buffer.from(e.serial, 'hex');
      return new Uint8Array(new pkijs.RevokedCertificate({
        userCertificate: new asn1.Integer({ valueHex: serial[0] & 0x80 ? Buffer.concat([Buffer.of(0), serial]) : serial }),
        revocationDate: new pkijs.Time({ type: e.revokedAt.getUTCFullYear() < 2050 ? 0 : 1, value: e.revokedAt }),
        ...(extensions.length ? { crlEntryExtensions: new pkijs.Extensions({ extensions }) } : {}),
      }).toSchema().toBER(false));
    };
    const reasons = Object.keys(revocationReasons).filter((r) => r !== 'removeFromCRL') as RevocationReason[];
    const serials = ['01', '7f', '80', 'ff01', '6b' + 'a5'.repeat(19), 'c3' + '00'.repeat(15)];
    const times = [new Date('2026-12-03T10:11:12Z'), new Date('2049-12-31T23:59:59Z'), new Date('2050-01-01T00:00:00Z')];
    for (const [i, reason] of reasons.entries()) {
      for (const revokedAt of times) {
        for (const invalidity of [null, new Date('2026-11-30T01:02:03Z')]) {
          const e: CrlEntry = { serial: serials[i % serials.length], revokedAt, reason, invalidityDate: invalidity };
          expect(Buffer.from(crlEntryDer(e)).toString('hex')).toBe(Buffer.from(reference(e)).toString('hex'));
        }
      }
    }
  });

  it('uses a stored entry of the same serial and re-encodes one that names another serial', () => {
    const e: CrlEntry = { serial: 'c3a1', revokedAt: at(2), reason: 'keyCompromise' };
    const tbs = (entry: CrlEntry) => buildCrl({ issuer: h.issuing, number: 2n, thisUpdate: t0, nextUpdate: at(1), entries: [entry] });
    const fresh = tbs(e);
    expect(tbs({ ...e, der: crlEntryDer(e) })).toEqual(fresh);
    // A row whose stored entry belongs to another certificate (copied by hand) is not trusted.
    expect(tbs({ ...e, der: crlEntryDer({ ...e, serial: '0b' }) })).toEqual(fresh);
  });
});
