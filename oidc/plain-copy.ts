/**
 * A deep copy of plain data (the JSON-shaped payloads, accounts and client metadata that the
 * request memo, the held writes and the client registry hand out): arrays and plain objects are
 * copied member by member, primitives kept, and anything else (a Date, a Buffer, a Map) copied by
 * `structuredClone`, as the whole value was before. About five times cheaper than
 * `structuredClone` on an interaction's payload (1.3 against 6.5 µs here; docs/performance.md,
 * "Passkey login, ninth pass"), which serialises and parses every value it copies.
 *
 * As with `structuredClone`: only own enumerable string keys are copied, and a copy shares nothing
 * with its source. Unlike it, a function is kept as it is rather than refused (none of these
 * values holds one), and the data must have no cycles (JSON cannot, and none of these values is
 * anything else).
 */
export function plainCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = plainCopy(value[i] as unknown);
    return out as T;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const member = plainCopy((value as Record<string, unknown>)[key]);
    // An own "__proto__" key (JSON.parse makes one) stays an own key, as structuredClone keeps it:
    // assigned, it would set the copy's prototype instead.
    if (key === '__proto__') Object.defineProperty(out, key, { value: member, enumerable: true, writable: true, configurable: true });
    else out[key] = member;
  }
  return out as T;
}
