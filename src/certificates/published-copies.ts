import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownBytes } from '../cache/own-bytes.js';
import { isDatabaseUnavailable } from '../errors/dependency-unavailable.js';

/** A published PKI object: its DER and, for a CRL, its validity. */
export interface PublishedCopy {
  der: Buffer;
  thisUpdate?: Date;
  nextUpdate?: Date;
}

/**
 * The last published copy of every CRL and CA certificate this node served, in memory and in
 * DATA_DIR/published (so a node restarted during an outage has them too). When the database is
 * unavailable, relying parties still get them: a CRL is signed and carries its own nextUpdate,
 * and a CA certificate does not change, so an old copy is exactly what was published (RFC 5280
 * §5: CRLs may come from untrusted servers). Only objects served at least once are kept.
 */
export class PublishedCopies {
  private readonly memory = new Map<string, PublishedCopy>();
  private readonly dir: string | null;

  constructor(dataDir: string | null) {
    this.dir = dataDir ? join(dataDir, 'published') : null;
  }

  /** `fetch` from the database and remember the answer; the last copy when the database is unavailable. */
  async through(key: string, fetch: () => Promise<PublishedCopy | null>): Promise<PublishedCopy | null> {
    if (!/^[a-z0-9][a-z0-9.-]{0,80}$/.test(key)) throw new Error(`bad published copy key ${key}`);
    try {
      const fresh = await fetch();
      if (fresh) this.remember(key, fresh);
      return fresh;
    } catch (err) {
      const copy = isDatabaseUnavailable(err) ? this.recall(key) : null;
      if (!copy) throw err;
      return copy;
    }
  }

  private remember(key: string, copy: PublishedCopy): void {
    const known = this.memory.get(key);
    if (known && known.der.equals(copy.der)) return;
    // Held until the next one is published: bytes of its own, never a view of the 8 KiB slab pg
    // decodes a small bytea into (docs/architecture.md, convention 14).
    this.memory.set(key, { ...copy, der: ownBytes(copy.der) });
    if (!this.dir) return;
    try {
      mkdirSync(this.dir, { recursive: true });
      const file = join(this.dir, `${key}.json`);
      writeFileSync(`${file}.tmp`, JSON.stringify({ der: copy.der.toString('base64'), thisUpdate: copy.thisUpdate?.toISOString(), nextUpdate: copy.nextUpdate?.toISOString() }));
      renameSync(`${file}.tmp`, file);
    } catch {
      // A read-only DATA_DIR keeps the copy in memory only: serving goes on.
    }
  }

  private recall(key: string): PublishedCopy | null {
    const known = this.memory.get(key);
    if (known || !this.dir) return known ?? null;
    try {
      const stored = JSON.parse(readFileSync(join(this.dir, `${key}.json`), 'utf8')) as { der: string; thisUpdate?: string; nextUpdate?: string };
      const copy = { der: Buffer.from(stored.der, 'base64'), thisUpdate: stored.thisUpdate ? new Date(stored.thisUpdate) : undefined, nextUpdate: stored.nextUpdate ? new Date(stored.nextUpdate) : undefined };
      this.memory.set(key, copy);
      return copy;
    } catch {
      return null;
    }
  }
}
