import { describe, expect, test } from '@jest/globals';
import { BoundedLru } from '../../../src/cache/bounded-lru.js';

const keys = (lru: BoundedLru<string, number>, all: string[]) => all.filter((k) => lru.has(k));

describe('the OCSP responder’s bounded LRU', () => {
  test('past capacity the least recently stored entry goes', () => {
    const lru = new BoundedLru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('a', 10); // a replace counts as a use
    lru.set('c', 3);
    expect(keys(lru, ['a', 'b', 'c'])).toEqual(['a', 'c']);
    expect(lru.get('a')).toBe(10);
    expect(lru.size).toBe(2);
  });

  test('a hit reorders only once the cache is full', () => {
    const notFull = new BoundedLru<string, number>(3);
    notFull.set('a', 1);
    notFull.set('b', 2);
    notFull.touch('a', 1); // not full: the order stays a, b
    notFull.set('c', 3);
    notFull.set('d', 4); // full now: the oldest, a, goes
    expect(keys(notFull, ['a', 'b', 'c', 'd'])).toEqual(['b', 'c', 'd']);

    const full = new BoundedLru<string, number>(2);
    full.set('a', 1);
    full.set('b', 2);
    full.touch('a', 1); // full: a becomes the most recent
    full.set('c', 3);
    expect(keys(full, ['a', 'b', 'c'])).toEqual(['a', 'c']);
  });

  test('get does not count as a use, and capacity 0 keeps nothing', () => {
    const lru = new BoundedLru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(lru.has('a')).toBe(false);
    const none = new BoundedLru<string, number>(0);
    none.set('a', 1);
    expect(none.size).toBe(0);
  });
});
