import { describe, expect, it } from '@jest/globals';
import { identityFromName } from '../../../../ca/asn1/identity.js';
import { formatName, type DnAttribute } from '../../../../ca/asn1/names.js';
import { parseUid, type VnIdentifier } from '../../../../ca/asn1/vn-identifiers.js';

/** identityFromName as it was before the one-pass reading (2026-12-06), the reference. */
function reference(attributes: DnAttribute[], sanEmails: readonly string[] = []) {
  const first = (type: string) => attributes.find((a) => a.type === type)?.value ?? null;
  const parsed = attributes.filter((a) => a.type === 'UID').map((a) => parseUid(a.value));
  const identifiers = parsed.flatMap((p) => (p.ok ? [p.identifier] : []));
  const valueOf = (kind: VnIdentifier['kind']) => identifiers.find((i) => i.kind === kind)?.value ?? null;
  const personalKind = (['CCCD', 'CMND', 'HC'] as const).find((kind) => valueOf(kind) !== null);
  const personalId = personalKind ? { kind: personalKind, value: valueOf(personalKind)! } : null;
  const taxCode = valueOf('MST');
  const budgetCode = valueOf('MNS');
  const emails = [...attributes.filter((a) => a.type === 'E').map((a) => a.value), ...sanEmails].map((e) => e.toLowerCase());
  return {
    commonName: first('CN'),
    organization: first('O'),
    organizationalUnits: attributes.filter((a) => a.type === 'OU').map((a) => a.value),
    locality: first('L'),
    state: first('ST'),
    country: first('C'),
    emails: [...new Set(emails)],
    personalId,
    taxCode,
    budgetCode,
    socialInsurance: valueOf('BHXH'),
    identifiers,
    invalidUids: parsed.flatMap((p) => (p.ok ? [] : [{ raw: p.raw, problem: p.problem }])),
    holder: personalId ? 'person' : taxCode || budgetCode ? 'organisation' : 'unknown',
  };
}

/** formatName's escaping as it was (three replacements on every value), the reference. */
function referenceFormat(attributes: DnAttribute[]): string {
  const escape = (value: string) => value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/^[ #]/, (c) => `\\${c}`).replace(/ $/, '\\ ');
  const byRdn = new Map<number, DnAttribute[]>();
  for (const attribute of attributes) byRdn.set(attribute.rdn, [...(byRdn.get(attribute.rdn) ?? []), attribute]);
  return [...byRdn.values()].reverse().map((rdn) => rdn.map((a) => `${a.type}=${escape(a.value)}`).join('+')).join(',');
}

describe('the holder\'s identity and the Name text, read in one pass, against the readings they replaced', () => {
  // A small deterministic generator: every attribute type, repeats, valid and invalid UIDs, e-mails in mixed case, escapes.
  let seed = 20261206;
  const next = (n: number) => {
    // xorshift32
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const types = ['C', 'ST', 'L', 'O', 'OU', 'CN', 'UID', 'E', 'SERIALNUMBER', '2.5.4.97'];
  const uids = ['CCCD:094185000091', 'CMND:123456789', 'HC:B1234567', 'MST:0100109106', 'MNS:1234567', 'BHXH:0123456789', 'CCCD:12', 'XYZ:1', 'MST:0100109107', 'nonsense'];
  const values = ['Trần Thị Ngọc Hân', 'UBND, tỉnh', ' leading', '#hash', 'trailing ', 'a+b', 'x="y"', '<a>;b', 'back\\slash', 'Han@SocTrang.gov.VN', 'han@soctrang.gov.vn', '', 'VN'];
  it('gives the same identity and text for 3,000 generated Names', () => {
    let repeatedCn = 0;
    for (let n = 0; n < 3_000; n++) {
      const attributes: DnAttribute[] = [];
      const count = next(12);
      for (let i = 0; i < count; i++) {
        const type = types[next(types.length)];
        const value = type === 'UID' ? uids[next(uids.length)] : values[next(values.length)];
        attributes.push({ type, oid: '2.5.4.3', value, encoding: 'utf8', rdn: i - (next(4) === 0 && i > 0 ? 1 : 0) });
      }
      const san = [values[next(values.length)], 'HAN@soctrang.gov.vn'].slice(0, next(3));
      expect(identityFromName(attributes, san)).toEqual(reference(attributes, san));
      expect(JSON.stringify(identityFromName(attributes, san))).toBe(JSON.stringify(reference(attributes, san)));
      expect(formatName(attributes)).toBe(referenceFormat(attributes));
      if (new Set(attributes.filter((a) => a.type === 'CN').map((a) => a.value)).size > 1) repeatedCn++;
    }
    // The generator does make the cases where order matters.
    expect(repeatedCn).toBeGreaterThan(100);
  });
});
