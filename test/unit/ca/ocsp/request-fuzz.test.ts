/**
 * Hostile input: over 10,000 mutated, truncated and random requests always come back as a typed
 * result (a request, malformedRequest or unauthorized), never an exception or a hang.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import {
  decodeGetPath,
  encodeSingleResponse,
  issuerFromCertificate,
  IssuerIndex,
  matchRequest,
  parseGetRequest,
  parseOcspRequest,
  presignedKey,
} from '../../../../ca/status/ocsp/index.js';
import { createTestPki, type TestPki } from '../../../support/test-pki.js';
import { extension, nonceExtension, requestDer } from './request-builder.js';

let pki: TestPki;
let index: IssuerIndex;
let seeds: Buffer[];
const NOW = new Date('2026-03-01T00:00:00Z');

beforeAll(async () => {
  pki = await createTestPki();
  index = new IssuerIndex([issuerFromCertificate('issuing', pki.issuing.der)]);
  const issuerDer = pki.issuing.der;
  seeds = [
    requestDer({ certIds: [{ issuerDer, serial: '1001' }] }),
    requestDer({ certIds: [{ issuerDer, serial: '00c3a1b2', hash: 'sha256' }], extensions: [nonceExtension(Buffer.alloc(32, 3))] }),
    requestDer({
      certIds: [
        { issuerDer, serial: '01', hash: 'sha384', params: 'absent', singleExtensions: [extension('1.3.6.1.5.5.7.48.1.7', Buffer.from('3000', 'hex'))] },
        { issuerDer: pki.root.der, serial: '02', hash: 'sha512' },
        { issuerDer, serial: '03', hash: 'md5' },
      ],
      extensions: [nonceExtension(Buffer.alloc(16, 9)), extension('1.2.3.4', Buffer.of(5, 0))],
      version: 0,
      requestorName: true,
      signed: true,
    }),
  ];
});
afterAll(() => pki.cleanup());

/** Whatever parsing yields must be one of the typed outcomes, and usable downstream. */
function checkTyped(der: Uint8Array): void {
  const result = parseOcspRequest(der);
  if (!result.ok) {
    expect(result.status).toBe('malformedRequest');
    expect(typeof result.reason).toBe('string');
    return;
  }
  expect(result.request.certIds.length).toBeGreaterThan(0);
  const match = matchRequest(result.request, index);
  if (!match.ok) {
    expect(match.status).toBe('unauthorized');
    return;
  }
  presignedKey(result.request, index);
  for (const entry of match.entries) {
    const single = encodeSingleResponse({ certId: entry.certId, status: entry.served ? { status: 'good' } : { status: 'unknown' }, thisUpdate: NOW });
    expect(single.der[0]).toBe(0x30);
  }
}

type Mutation =
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'length'; at: number; value: number };

const position = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: position, length: fc.integer({ min: 1, max: 40 }) }),
  // Aim at length octets: the classic ways to lie about sizes.
  fc.record({ kind: fc.constant('length' as const), at: position, value: fc.constantFrom(0x00, 0x7f, 0x80, 0x81, 0x82, 0x84, 0x85, 0xff) }),
);

function apply(input: Buffer, m: Mutation): Buffer {
  const at = Math.floor(m.at * input.length);
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(input);
      if (out.length) out[at] = m.value;
      return out;
    }
    case 'truncate':
      return input.subarray(0, at);
    case 'delete':
      return Buffer.concat([input.subarray(0, at), input.subarray(at + m.length)]);
    case 'insert':
      return Buffer.concat([input.subarray(0, at), m.bytes, input.subarray(at)]);
    case 'duplicate':
      return Buffer.concat([input.subarray(0, at + m.length), input.subarray(at)]);
    case 'length': {
      const out = Buffer.from(input);
      // The octet after a tag-looking byte (0x30, 0x04, 0x02, 0xa0…) is a length.
      for (let i = at; i < out.length - 1; i++) {
        if ([0x30, 0x04, 0x02, 0x06, 0xa0, 0xa2].includes(out[i])) {
          out[i + 1] = m.value;
          break;
        }
      }
      return out;
    }
  }
}

describe('parseOcspRequest on hostile input (fast-check)', () => {
  it('types every mutated request (10,000 runs)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (seed, mutations) => {
        checkTyped(mutations.reduce(apply, seeds[seed]));
      }),
      { numRuns: 10_000 },
    );
  });

  it('types random bytes, with and without a DER-looking prefix (3,000 runs)', () => {
    fc.assert(
      fc.property(fc.constantFrom(Buffer.alloc(0), Buffer.of(0x30), Buffer.of(0x30, 0x82), Buffer.of(0x30, 0x80)), fc.uint8Array({ maxLength: 300 }), (prefix, body) => {
        checkTyped(Buffer.concat([prefix, body]));
      }),
      { numRuns: 3_000 },
    );
  });

  it('types GET paths: mutated encodings and random strings (3,000 runs)', () => {
    const encoded = (): string[] => seeds.map((s) => encodeURIComponent(s.toString('base64')));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.integer({ min: 0, max: 2 }).chain((i) => fc.nat({ max: 400 }).map((cut) => encoded()[i].slice(0, cut)))), (path) => {
        const decoded = decodeGetPath(path);
        if (!decoded.ok) expect(decoded.status).toBe('malformedRequest');
        const parsed = parseGetRequest(path);
        if (parsed.ok) checkTyped(decoded.ok ? decoded.der : Buffer.alloc(0));
        else expect(parsed.status).toBe('malformedRequest');
      }),
      { numRuns: 3_000 },
    );
  });

  it('still parses every seed unmutated', () => {
    for (const seed of seeds) expect(parseOcspRequest(seed).ok).toBe(true);
  });

  it('answers a 64 KiB request of garbage quickly', () => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < 100; i++) checkTyped(Buffer.concat([Buffer.from('3083010000', 'hex'), Buffer.alloc(65_531, 0x30)]));
    expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(2_000);
  });
});
