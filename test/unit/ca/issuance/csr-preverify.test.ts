import 'reflect-metadata';
import { describe, it, expect, beforeAll } from '@jest/globals';
import * as pkijs from 'pkijs';
import { decodePem } from '../../../../ca/asn1/der.js';
import { verifySignature, verifySignatureInPool } from '../../../../ca/asn1/algorithms.js';
import { parseCsr, parseCsrGeneral, preverifyCsrs, readCsrLean } from '../../../../ca/issuance/csr.js';
import { csrFor } from '../../../../src/dev/seed-registry.js';
import { opensslCsr } from '../support.js';

/**
 * A batch's proofs of possession verified in the thread pool (docs/ca.md, "Batch issuance"): what
 * the pool lets through must be exactly what the synchronous check accepts, on good CSRs and on
 * every single-byte mutation of one, and a CSR the pool refuses is refused afterwards with the
 * synchronous check's own problem.
 */
const pems: string[] = [];
const ders: Uint8Array[] = [];
beforeAll(async () => {
  pems.push(await csrFor(false), await csrFor(true), opensslCsr(['RSA-PSS', 'rsa_keygen_bits:2048'], '/CN=pss', ['-sigopt', 'rsa_padding_mode:pss']), opensslCsr(['EC', 'ec_paramgen_curve:P-384'], '/CN=p384'));
  for (const pem of pems) ders.push(decodePem(pem)[0].der);
});

const outcome = async (check: () => unknown) => {
  try {
    return { value: await check() };
  } catch (error) {
    return { refused: `${(error as { kind?: string }).kind}: ${(error as Error).message}` };
  }
};

describe('CSRs verified in the thread pool', () => {
  it('gives the synchronous verdict for every signature: good, altered, malformed, unsupported', async () => {
    for (const der of ders) {
      const lean = readCsrLean(der);
      if (!lean) continue;
      const signatures = [lean.signature, Uint8Array.from(lean.signature, (b, i) => (i === 10 ? b ^ 1 : b)), lean.signature.subarray(0, 5), new Uint8Array(0)];
      for (const signature of signatures) {
        const sync = await outcome(() => verifySignature(lean.tbs, signature, lean.signatureAlgorithm, lean.spki));
        expect(await outcome(() => verifySignatureInPool(lean.tbs, signature, lean.signatureAlgorithm, lean.spki))).toEqual(sync);
      }
      const unknown = new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.3.4' });
      const sync = await outcome(() => verifySignature(lean.tbs, lean.signature, unknown, lean.spki));
      expect(sync).toEqual({ refused: expect.stringContaining('unsupported signature algorithm') });
      expect(await outcome(() => verifySignatureInPool(lean.tbs, lean.signature, unknown, lean.spki))).toEqual(sync);
    }
  });

  it('lets through exactly what parseCsr accepts, on every single-byte mutation of a CSR', async () => {
    const mutated: Uint8Array[] = [];
    for (const der of ders.slice(0, 2)) {
      for (let i = 0; i < der.length; i++) {
        const m = der.slice();
        m[i] ^= 0x01;
        mutated.push(m);
      }
    }
    await preverifyCsrs([...mutated, ...pems]);
    let refused = 0;
    for (const m of [...mutated, ...ders]) {
      const general = await outcome(() => parseCsrGeneral(m));
      expect(await outcome(() => parseCsr(m))).toEqual(general);
      if ('refused' in general) refused++;
    }
    expect(refused).toBeGreaterThan(100);
  }, 600_000);

  it('refuses, with its precise problem, a CSR whose signature the pool found wrong; refuses nothing itself', async () => {
    const der = decodePem(await csrFor(false))[0].der;
    const altered = der.slice();
    altered[altered.length - 3] ^= 0x01;
    await expect(preverifyCsrs([altered, 'not a CSR', new Uint8Array([0x30, 0x00])])).resolves.toBeUndefined();
    expect(() => parseCsr(altered)).toThrow('CSR signature does not verify with its public key');
    await preverifyCsrs([der]);
    expect(parseCsr(der).der).toEqual(der);
  });
});
