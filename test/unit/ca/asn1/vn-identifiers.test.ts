import { describe, it, expect } from '@jest/globals';
import { identifierProblem, mstCheckDigit, parseUid, formatUid } from '../../../../ca/asn1/vn-identifiers.js';

describe('Vietnamese identifiers in UID attributes', () => {
  it('accepts well-formed identifiers of every kind', () => {
    for (const [kind, value] of [
      ['CCCD', '094187001234'],
      ['CMND', '365123456'],
      ['CMND', '094187001234'],
      ['MST', '0300588569'],
      ['MST', '0300588569-001'],
      ['MNS', '1234567'],
      ['BHXH', '9412345678'],
      ['HC', 'C1234567'],
    ] as const) {
      expect(identifierProblem(kind, value)).toBeNull();
    }
  });

  it('names what is wrong with malformed identifiers', () => {
    expect(identifierProblem('CCCD', '09418700123')).toBe('CCCD must be 12 digits, got "09418700123"');
    expect(identifierProblem('CMND', '1234567890')).toMatch(/CMND must be 9 or 12 digits/);
    expect(identifierProblem('MNS', '123456')).toMatch(/MNS .* must be 7 digits/);
    expect(identifierProblem('BHXH', '94123456')).toMatch(/BHXH must be 10 digits/);
    expect(identifierProblem('HC', 'c-123')).toMatch(/HC \(passport number\)/);
    expect(identifierProblem('MST', '030058856')).toMatch(/MST must be 10 digits/);
    expect(identifierProblem('MST', '0300588569-000')).toMatch(/branch number must be 001-999/);
  });

  it('checks the tax code check digit against real tax codes', () => {
    // Vinamilk, FPT, Viettel: public tax codes.
    expect(mstCheckDigit('030058856')).toBe(9);
    expect(mstCheckDigit('010124814')).toBe(1);
    expect(mstCheckDigit('010010910')).toBe(6);
    expect(identifierProblem('MST', '0300588568')).toBe('MST 0300588568 fails its check digit (10th digit 8, expected 9)');
  });

  it('reads UIDs leniently and writes them canonically', () => {
    expect(parseUid(' cccd : 094187001234 ')).toEqual({ ok: true, identifier: { kind: 'CCCD', value: '094187001234' } });
    expect(parseUid('HC:c1234567')).toEqual({ ok: true, identifier: { kind: 'HC', value: 'C1234567' } });
    expect(formatUid({ kind: 'MST', value: '0300588569-002' })).toBe('MST:0300588569-002');
    expect(parseUid('SOCMND:123')).toMatchObject({ ok: false, problem: expect.stringMatching(/no known prefix/) });
    expect(parseUid('CCCD:12345')).toMatchObject({ ok: false, problem: 'CCCD must be 12 digits, got "12345"' });
  });
});
