/**
 * Bounded memos of pure functions of DER bytes (a CSR, a SubjectPublicKeyInfo): the same bytes
 * come back at submission, at each approval and at issuance, and decoding them with the ASN.1
 * library costs far more than the lookup. Only successful results are kept (a failure is computed,
 * and thrown, again every time), the key is the whole input (never a hash of part of it), and the
 * oldest entry goes first when full. Callers keep results immutable (frozen or copied out).
 */
import { registerCache } from '../cache-registry.js';

export class BytesMemo<T> {
  private readonly entries = new Map<string, T>();

  /** `name`: registered as a bounded cache (ca/cache-registry.ts) under it. */
  constructor(
    private readonly limit: number,
    name?: string,
  ) {
    if (name) registerCache(name, this);
  }

  get size(): number {
    return this.entries.size;
  }

  has(bytes: Uint8Array): boolean {
    return this.entries.has(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'));
  }

  /** The memoised result for `bytes`, computing (and keeping) it the first time. */
  get(bytes: Uint8Array, compute: () => T): T {
    const id = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    if (this.entries.has(id)) return this.entries.get(id)!;
    const value = compute();
    if (this.entries.size >= this.limit) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, value);
    return value;
  }

  clear(): void {
    this.entries.clear();
  }
}
