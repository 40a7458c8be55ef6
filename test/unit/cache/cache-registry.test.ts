/**
 * The registry of bounded caches (ca/cache-registry.ts) that the soak's memory probe empties to
 * measure what is live outside them: it reaches the caches of ca/ and src/, empties only caches
 * (each answers again from its source), and keeps nothing alive.
 */
import { describe, expect, it } from '@jest/globals';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { cacheEntries, clearCaches, registerCache } from '../../../ca/cache-registry.js';
import { BytesMemo } from '../../../ca/asn1/memo.js';
import { BoundedLru } from '../../../src/cache/bounded-lru.js';
import { ClientRegistryService } from '../../../oidc/clients/client-registry.js';
import { RevocationChecker } from '../../../src/validation/revocation.js';
import { RegistryIndex, type IndexedRow } from '../../../src/validation/registry-index.js';

const T0 = new Date('2026-12-06T00:00:00Z');
const rows: IndexedRow[] = [
  { issuerId: 'ca1', serial: '0a', createdAt: T0, status: { derSha256: 'aa', status: 'good', revokedAt: null, revocationReason: null, invalidityDate: null, statusChangedAt: T0 } },
];

describe('the registry of bounded caches', () => {
  it('counts the entries of every registered cache by name and empties them all', () => {
    const lru = new BoundedLru<string, number>(10, 'test lru');
    const lru2 = new BoundedLru<string, number>(10, 'test lru');
    const memo = new BytesMemo<number>(10, 'test memo');
    const map = registerCache('test map', new Map<string, number>());
    lru.set('a', 1);
    lru2.set('b', 2);
    lru2.set('c', 3);
    memo.get(new Uint8Array([1, 2]), () => 12);
    map.set('x', 1);
    expect(cacheEntries()).toMatchObject({ 'test lru': 3, 'test memo': 1, 'test map': 1 });
    clearCaches();
    expect(cacheEntries()).toMatchObject({ 'test lru': 0, 'test memo': 0, 'test map': 0 });
    // Emptied, they compute again.
    let computed = 0;
    expect(memo.get(new Uint8Array([1, 2]), () => ++computed)).toBe(1);
  });

  it('empties only the caches named, when names are given (the validation bench\'s warm-up rounds)', () => {
    const kept = new BoundedLru<string, number>(10, 'test kept');
    const emptied = registerCache('test emptied', new Map<string, number>());
    kept.set('a', 1);
    emptied.set('b', 2);
    clearCaches(['test emptied']);
    expect(cacheEntries()).toMatchObject({ 'test kept': 1, 'test emptied': 0 });
  });

  it('names every cache that holds something of one signer in the validator (the probe\'s caches and the registry records)', async () => {
    const { VALIDATOR_SIGNER_CACHES } = await import('../../../src/validation/cache-probe.js');
    const checker = new RevocationChecker({} as never, { allowPrivate: false } as never, { now: () => T0 }); // its registry records
    expect(checker).toBeTruthy();
    const registered = Object.keys(cacheEntries());
    for (const name of VALIDATOR_SIGNER_CACHES) expect(registered).toContain(name);
  });

  it('the registry index, emptied, answers nothing until it has read the registry again from its first row', async () => {
    let pages = 0;
    const index = new RegistryIndex({ page: async (_ids, after) => (pages++, after ? [] : rows) }, { fresh: () => true, refreshMs: 1_000 });
    index.issuers(['ca1']);
    index.refreshIfDue(0);
    await index.settled();
    expect(index.lookup('ca1', '0a')).toEqual({ derSha256: 'aa', status: 'good' });
    clearCaches();
    expect(index.size).toBe(0);
    expect(index.lookup('ca1', '0a')).toBeUndefined(); // the caller reads the registry
    // The next refresh is due at once and reads from the first row (not only rows created since).
    index.refreshIfDue(1);
    await index.settled();
    expect(index.lookup('ca1', '0a')).toEqual({ derSha256: 'aa', status: 'good' });
    expect(pages).toBe(2);
  });

  it('registers the client cache and the revocation checker\'s fetched CRLs and OCSP answers, and empties them', async () => {
    const metadata = { client_id: 'c1', client_secret: 's' };
    const clients = new ClientRegistryService({} as never, { find: async () => ({}) } as never, {} as never, {} as never, {} as never, async () => undefined, undefined, () => true);
    const cache = (clients as unknown as { cache: { get(id: string, load: () => Promise<object>): Promise<object> } }).cache;
    await cache.get('c1', async () => metadata);
    expect(cacheEntries().clients).toBeGreaterThanOrEqual(1);
    const checker = new RevocationChecker({} as never, { allowPrivate: false } as never, { now: () => T0 });
    const fetched = checker as unknown as { crls: Map<string, unknown>; ocsp: Map<string, unknown> };
    fetched.crls.set('http://crl.example.vn/ca.crl', {});
    fetched.ocsp.set('k', {});
    expect(cacheEntries()).toMatchObject({ 'fetched CRLs': 1, 'fetched OCSP answers': 1 });
    clearCaches();
    expect(fetched.crls.size + fetched.ocsp.size).toBe(0);
    expect(cacheEntries().clients).toBe(0);
  });

  it('holds caches weakly: a collected cache leaves the registry', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    (() => {
      new BoundedLru<string, number>(10, 'test ephemeral').set('a', 1);
    })();
    await new Promise((r) => setTimeout(r, 0));
    gc();
    expect(cacheEntries()['test ephemeral']).toBeUndefined();
  });
});
