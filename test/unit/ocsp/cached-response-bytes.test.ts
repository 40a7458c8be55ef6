import { describe, expect, test } from '@jest/globals';
import { ownBytes } from '../../../src/cache/own-bytes.js';
import { cachedFromStored } from '../../../src/ocsp/ocsp-model.js';

const times = { statusAt: new Date('2026-12-06T10:00:00Z'), thisUpdate: new Date('2026-12-06T10:00:00Z'), nextUpdate: new Date('2026-12-13T10:00:00Z'), refreshAt: new Date('2026-12-09T22:00:00Z') };

describe('the bytes a cached OCSP response keeps', () => {
  test('a response parsed from the database (a view of an 8 KiB slab, as pg decodes bytea) keeps only its own bytes', () => {
    // pg-types decodes bytea's hex text with Buffer.from(hex, 'hex'): a small result is a view of Node's shared pool.
    const hex = Buffer.from(Array.from({ length: 471 }, (_, i) => i % 251)).toString('hex');
    const fromDb = Buffer.from(hex, 'hex');
    expect(fromDb.buffer.byteLength).toBeGreaterThan(4 * fromDb.byteLength); // the premise: a slab far larger than the response
    const entry = cachedFromStored({ der: fromDb, ...times }, { status: 'good' }, times.thisUpdate.getTime());
    expect(entry.der.equals(fromDb)).toBe(true);
    expect(entry.der.byteOffset).toBe(0);
    expect(entry.der.buffer.byteLength).toBe(471);
    expect(entry.der.buffer).not.toBe(fromDb.buffer);
  });

  test('bytes that own their whole buffer are kept as they are (no copy)', () => {
    const signed = Buffer.from(new Uint8Array(300).fill(7).buffer);
    expect(ownBytes(signed)).toBe(signed);
    const entry = cachedFromStored({ der: signed, ...times }, { status: 'good' }, times.thisUpdate.getTime());
    expect(entry.der).toBe(signed);
  });

  test('a view at an offset, or short of the end, of a larger buffer is copied', () => {
    const big = Buffer.alloc(1000, 1);
    for (const view of [big.subarray(10, 110), big.subarray(0, 100)]) {
      const own = ownBytes(view);
      expect(own.equals(view)).toBe(true);
      expect(own.buffer.byteLength).toBe(100);
    }
  });
});
