/**
 * The process's bounded in-memory caches (here, in ca/, so that ca/ and src/ both register theirs), by name, so that a memory probe can tell what they hold
 * from what is live outside them (bench/soak.ts: a leak is growth outside the caches; a cache
 * that fills towards its bound is not). Every cache registered here has a bound in entries;
 * docs/performance.md ("Soak") states each one's bound in bytes.
 *
 * Held weakly: a service made and closed (the tests make hundreds) does not stay alive through
 * its caches' registration. `clear()` must only drop what can be computed or read again: a
 * cache, never state.
 */
export interface MemoryCache {
  readonly size: number;
  clear(): void;
}

const registered = new Set<{ name: string; ref: WeakRef<MemoryCache> }>();

/** Registers `cache` under `name` (several may share a name: their entries are added up). */
export function registerCache<T extends MemoryCache>(name: string, cache: T): T {
  registered.add({ name, ref: new WeakRef(cache) });
  return cache;
}

/** Entries held now, per name (caches already collected are forgotten). */
export function cacheEntries(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of registered) {
    const cache = r.ref.deref();
    if (!cache) {
      registered.delete(r);
      continue;
    }
    out[r.name] = (out[r.name] ?? 0) + cache.size;
  }
  return out;
}

/** Empties every registered cache, or only those of `names` (a memory probe, a bench's cold pass; each fills again from its source). */
export function clearCaches(names?: readonly string[]): void {
  for (const r of registered) if (!names || names.includes(r.name)) r.ref.deref()?.clear();
}
