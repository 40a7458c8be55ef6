import 'reflect-metadata';
import { describe, it, expect, beforeAll } from '@jest/globals';
import { decodePem } from '../../../../ca/asn1/der.js';
import { parseCsr, parseCsrGeneral, readCsrLean } from '../../../../ca/issuance/csr.js';
import { csrFor } from '../../../../src/dev/seed-registry.js';
import { opensslCsr } from '../support.js';

/**
 * The lean CSR reader against pkijs: the same parsed request on what token tools write, the same
 * verdict (the same result, or the same refusal and message) on every single-byte mutation.
 */
const ders: Uint8Array[] = [];
beforeAll(async () => {
  for (const pem of [await csrFor(false), await csrFor(true), opensslCsr(['EC', 'ec_paramgen_curve:P-256'], '/C=VN/O=Sở Tài chính/CN=Nguyễn Văn A'), opensslCsr(['EC', 'ec_paramgen_curve:P-256'], '/CN=x', ['-addext', 'subjectAltName=email:a@b.vn']), opensslCsr(['RSA-PSS', 'rsa_keygen_bits:2048'], '/CN=pss', ['-sigopt', 'rsa_padding_mode:pss'])]) {
    ders.push(decodePem(pem)[0].der);
  }
});

const outcome = (parse: () => unknown) => {
  try {
    return { parsed: parse() };
  } catch (error) {
    return { refused: `${(error as { kind?: string }).kind}: ${(error as Error).message}` };
  }
};

describe('the lean CSR reader', () => {
  it('reads plain CSRs (no attributes) and gives what pkijs gives; leaves extensionRequest to pkijs', () => {
    expect(readCsrLean(ders[0])).toBeDefined();
    expect(readCsrLean(ders[1])).toBeDefined();
    expect(readCsrLean(ders[3])).toBeUndefined();
    for (const der of ders) expect(parseCsr(der)).toEqual(parseCsrGeneral(der));
  });

  it('gives pkijs\'s verdict on every single-byte mutation, and never throws outside a badCsr', () => {
    let leanRead = 0;
    for (const [k, der] of ders.slice(0, 2).entries()) {
      for (let i = 0; i < der.length; i++) {
        for (const flip of k === 0 ? [0x01, 0x80] : [0x01]) {
          const mutated = der.slice();
          mutated[i] ^= flip;
          expect(() => readCsrLean(mutated)).not.toThrow();
          if (readCsrLean(mutated)) leanRead++;
          const general = outcome(() => parseCsrGeneral(mutated));
          expect(outcome(() => parseCsr(mutated))).toEqual(general);
          if ('refused' in general) expect(general.refused).toMatch(/^badCsr: /);
        }
      }
    }
    expect(leanRead).toBeGreaterThan(100);
  }, 600_000);
});
