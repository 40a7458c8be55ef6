import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import * as asn1js from 'asn1js';
import { certificateIdentity, identityFromName } from '../../../../ca/asn1/identity.js';
import { encodeName, fieldsFromAttributes, formatName, parseName } from '../../../../ca/asn1/names.js';
import { CaError } from '../../../../ca/errors.js';
import { officialSubject, sealSubject } from '../support.js';

const vgca = (name: string) => readFileSync(new URL(`../../../fixtures/vgca/${name}`, import.meta.url), 'utf8');

describe('Vietnamese distinguished names', () => {
  it('encodes UTF-8 (NFC), PrintableString C and IA5String E, one attribute per RDN, in C…E order', () => {
    const decomposed = 'Nguyễn Thị Ánh Tuyết'.normalize('NFD');
    const attributes = parseName(encodeName({ ...officialSubject, CN: decomposed }));
    expect(attributes.map((a) => `${a.type}:${a.encoding}`)).toEqual([
      'C:printable', 'L:utf8', 'O:utf8', 'OU:utf8', 'CN:utf8', 'UID:utf8', 'UID:utf8', 'E:ia5',
    ]);
    expect(attributes.find((a) => a.type === 'CN')!.value).toBe('Nguyễn Thị Ánh Tuyết'.normalize('NFC'));
    expect(new Set(attributes.map((a) => a.rdn)).size).toBe(attributes.length);
    expect(fieldsFromAttributes(attributes)).toEqual({ fields: { ...officialSubject }, problems: [] });
  });

  it('formats names as RFC 4514 strings, escaping specials', () => {
    const attributes = parseName(encodeName({ C: 'VN', O: 'Công ty A, B', CN: 'Trần Văn B' }));
    expect(formatName(attributes)).toBe('CN=Trần Văn B,O=Công ty A\\, B,C=VN');
  });

  it('reads multi-valued RDNs, other string types and unknown attributes', () => {
    const atv = (oid: string, value: asn1js.AsnType) => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), value] });
    const name = new asn1js.Sequence({
      value: [
        new asn1js.Set({ value: [atv('2.5.4.6', new asn1js.PrintableString({ value: 'VN' }))] }),
        new asn1js.Set({ value: [atv('2.5.4.3', new asn1js.BmpString({ value: 'Lê Văn C' })), atv('2.5.4.5', new asn1js.PrintableString({ value: 'ABC' }))] }),
      ],
    });
    const attributes = parseName(new Uint8Array(name.toBER()));
    expect(attributes).toEqual([
      { type: 'C', oid: '2.5.4.6', value: 'VN', encoding: 'printable', rdn: 0 },
      { type: 'CN', oid: '2.5.4.3', value: 'Lê Văn C', encoding: 'bmp', rdn: 1 },
      { type: 'SERIALNUMBER', oid: '2.5.4.5', value: 'ABC', encoding: 'printable', rdn: 1 },
    ]);
    expect(formatName(attributes)).toBe('CN=Lê Văn C+SERIALNUMBER=ABC,C=VN');
    expect(fieldsFromAttributes(attributes).problems).toEqual(['subject attribute SERIALNUMBER (2.5.4.5) is not supported']);
    expect(fieldsFromAttributes([...attributes, { ...attributes[1], rdn: 2 }]).problems).toContain('subject attribute CN appears more than once');
  });

  it('refuses malformed name DER with the given error kind', () => {
    expect(() => parseName(Uint8Array.of(0x30, 0x05, 0x31), 'badCsr')).toThrow(CaError);
    expect(() => parseName(Uint8Array.of(0x30, 0x05, 0x31), 'badCsr')).toThrow(/distinguished name: malformed DER/);
  });
});

describe('identity extraction', () => {
  it('tells a person from an organisation by the UID prefixes', () => {
    const person = identityFromName(parseName(encodeName(officialSubject)), ['Other@SocTrang.gov.vn']);
    expect(person).toMatchObject({
      holder: 'person',
      commonName: 'Nguyễn Thị Ánh Tuyết',
      organization: 'Sở Thông tin và Truyền thông tỉnh Sóc Trăng',
      organizationalUnits: ['Phòng Công nghệ thông tin'],
      locality: 'Sóc Trăng',
      country: 'VN',
      personalId: { kind: 'CCCD', value: '094187001234' },
      taxCode: '0300588569',
      emails: ['ntatuyet@soctrang.gov.vn', 'other@soctrang.gov.vn'],
      invalidUids: [],
    });
    const seal = identityFromName(parseName(encodeName(sealSubject)));
    expect(seal).toMatchObject({ holder: 'organisation', personalId: null, budgetCode: '1234567', taxCode: '0100109106' });
  });

  it('reports malformed UIDs instead of trusting them', () => {
    const identity = identityFromName(parseName(encodeName({ CN: 'X', UID: ['CMND:12345', 'CMND:365123456'] })));
    expect(identity.personalId).toEqual({ kind: 'CMND', value: '365123456' });
    expect(identity.invalidUids).toEqual([{ raw: 'CMND:12345', problem: 'CMND must be 9 or 12 digits, got "12345"' }]);
  });

  it('parses the real VGCA G1 sub-CA certificates (SHA-1, Netscape extensions, ASCII names)', () => {
    const chinhPhu = certificateIdentity(vgca('vgca-g1-chinh-phu-subca.pem'));
    expect(chinhPhu).toMatchObject({ commonName: 'Co quan chung thuc so Chinh phu', organization: 'Ban Co yeu Chinh phu', country: 'VN', holder: 'unknown', identifiers: [] });
    const dang = certificateIdentity(vgca('vgca-g1-dang-cong-san-subca.pem'));
    expect(dang.commonName).toBe('Co quan chung thuc so Dang Cong san');
  });

  it('formats names in one pass exactly as grouping by RDN did, in any order of attributes (multi-valued, repeated, out of order, empty)', () => {
    // The grouping formatName had before its one-pass path (first appearance of each RDN, reversed).
    const grouped = (attributes: ReturnType<typeof parseName>) => {
      const byRdn = new Map<number, typeof attributes>();
      for (const a of attributes) byRdn.set(a.rdn, [...(byRdn.get(a.rdn) ?? []), a]);
      return [...byRdn.values()].reverse().map((rdn) => rdn.map((a) => `${a.type}=${a.value.replace(/([\\,+"<>;=])/g, '\\$1').replace(/^([ #])/, '\\$1').replace(/ $/, '\\ ')}`).join('+')).join(',');
    };
    const at = (type: string, value: string, rdn: number) => ({ type, oid: '2.5.4.3', value, encoding: 'utf8' as const, rdn });
    const cases = [
      [],
      [at('CN', 'A', 0)],
      [at('C', 'VN', 0), at('O', 'Sở A, B', 1), at('CN', 'x+y', 2)],
      [at('C', 'VN', 0), at('CN', 'Lê', 1), at('SERIALNUMBER', 'ABC', 1), at('UID', 'CCCD:1', 1), at('E', 'a@b', 2)],
      [at('C', 'VN', 0), at('C', 'VN', 0), at('O', ' lead', 3), at('OU', 'trail ', 7)],
      [at('CN', 'B', 2), at('O', 'A', 0), at('C', 'VN', 1)],
      [at('CN', 'B', 1), at('O', 'A', 0), at('C', 'VN', 1)],
      [at('O', 'A', 0), at('CN', 'B', 1), at('C', 'VN', 0)],
    ];
    for (const attributes of cases) expect(formatName(attributes)).toBe(grouped(attributes));
  });
});
