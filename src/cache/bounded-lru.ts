/**
 * A map of at most `capacity` entries that evicts the least recently used one. A Map iterates in
 * insertion order, so its first key is the oldest: an insert goes to the end, a hit moves there
 * (see `touch`), and past capacity the first key goes. Capacity 0 keeps nothing.
 *
 * The OCSP responder keeps three of them, each of OCSP_CACHE_ENTRIES: signed responses, registry
 * statuses for live answers, and the requests it has answered from a pre-signed response.
 */
import { registerCache } from '../../ca/cache-registry.js';

export class BoundedLru<K, V> {
  private readonly map = new Map<K, V>();

  /** `name`: registered as a bounded cache (ca/cache-registry.ts) under it. */
  constructor(
    readonly capacity: number,
    name?: string,
  ) {
    if (name) registerCache(name, this);
  }

  /** Empties the cache (a memory probe: everything in it can be computed or read again). */
  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, without counting as a use (a hit is recorded with `touch`). */
  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Stores `value` as the most recently used; past capacity the least recently used goes. */
  set(key: K, value: V): void {
    if (this.capacity <= 0) return;
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }

  /**
   * A hit on `key` (holding `value`): it moves to the end, but only once the cache is full, when
   * the order decides what is evicted (a delete and re-insert per hit costs more than the lookup).
   */
  touch(key: K, value: V): void {
    if (this.map.size < this.capacity) return;
    this.map.delete(key);
    this.map.set(key, value);
  }
}
