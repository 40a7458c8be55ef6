import type { ClientMetadata } from 'oidc-provider';
import { registerCache } from '../../ca/cache-registry.js';

/**
 * Clients as oidc-provider reads them, with their secrets opened, kept in memory: the token
 * endpoint reads its client on every request. An entry is dropped when the client changes — here
 * at once, on the other nodes through the status-change feed (ClientStore.announce) — and is used
 * only while `trusted()` says this node follows that feed (an OCSP responder that has not read it
 * for its fence time is not). A read during which any client changed is not kept (one counter:
 * nothing held per client that changed).
 */
export class ClientCache {
  private readonly entries = new Map<string, ClientMetadata | null>();
  private changes = 0;
  private static readonly MAX = 10_000;

  constructor(private readonly trusted: () => boolean) {
    registerCache('clients', this);
  }

  get size(): number {
    return this.entries.size;
  }

  /** A memory probe (ca/cache-registry.ts): every entry is read again (the change count guards reads in flight). */
  clear(): void {
    this.entries.clear();
  }

  async get(clientId: string, load: () => Promise<ClientMetadata | undefined>): Promise<ClientMetadata | undefined> {
    if (this.trusted()) {
      const hit = this.entries.get(clientId);
      if (hit) return hit;
    }
    const changes = this.changes;
    const loaded = await load();
    // Unknown client ids are not kept (anyone can send any number of them).
    if (loaded && this.changes === changes) {
      if (this.entries.size >= ClientCache.MAX) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(clientId, loaded);
    }
    return loaded;
  }

  /** The entry held for `clientId`, without reading anything (undefined when none or not trusted). */
  peek(clientId: string): ClientMetadata | undefined {
    return this.trusted() ? (this.entries.get(clientId) ?? undefined) : undefined;
  }

  forget(clientId: string): void {
    this.entries.delete(clientId);
    this.changes++;
  }
}
