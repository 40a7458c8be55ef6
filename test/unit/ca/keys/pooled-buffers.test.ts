import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { verify } from 'node:crypto';
import { publicKeyObject } from '../../../../ca/asn1/algorithms.js';
import { arrayBuffer } from '../../../../ca/asn1/der.js';
import { signWith } from '../../../../ca/keys/key-store.js';
import { keyStore } from '../support.js';

/**
 * pg returns bytea as Node Buffers cut from a shared 8 KB pool (Buffer.from(hex, 'hex')), so their
 * `.buffer` is the whole pool. Crash recovery signs a TBS read back from PostgreSQL: it must sign
 * those bytes, not the pool (found by test/integration/faults/node-kill.test.ts).
 */
describe('bytes read from the database are pooled Buffer views', () => {
  it('arrayBuffer() copies exactly the view', () => {
    const pooled = Buffer.from('3003020101', 'hex');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength); // the premise: a view into the pool
    expect(Buffer.from(arrayBuffer(pooled)).equals(pooled)).toBe(true);
  });

  it('a signature over a pooled Buffer verifies over the same bytes', async () => {
    const key = await keyStore().generate({ type: 'ec', curve: 'P-256' }, 'pooled');
    const tbs = Buffer.from('300a020101' + '0403616263' + '0500', 'hex');
    expect(tbs.byteOffset === 0 && tbs.buffer.byteLength === tbs.byteLength).toBe(false);
    const signature = await signWith(key, tbs);
    expect(verify('sha256', tbs, { key: publicKeyObject(key.spki), dsaEncoding: 'der' }, signature)).toBe(true);
  });
});
