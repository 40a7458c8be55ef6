/**
 * Our registry's statuses held on this node, so that validating a signature by a certificate we
 * issued costs no registry exchange per new signer (issue 20: `--cpu-prof` of the cold pass put
 * the per-signer status read, PGlite's exchange and knex's pool around it, at a fifth to a quarter
 * of a cold validation).
 *
 * What it holds: for each certificate of our issuers that has its DER (not a bare reservation),
 * the SHA-256 of the DER and, when not good, the whole status record, loaded in pages of
 * `pageRows` at the first check and read again for certificates created since (with an overlap)
 * every `refreshMs`. At most `maxEntries`; past that, new certificates are simply not held.
 *
 * What it answers (`lookup`):
 * - a certificate it holds, while this node follows the change feed (`fresh()`: the feed read
 *   within the fence, as the OCSP responder requires before answering from memory): the held
 *   record, the same the registry read would return;
 * - anything else (a serial it does not hold: unknown to the registry, issued since the last
 *   refresh, or past the bound; a status that changed since it was held, which the feed or this
 *   node's CA removed; any lookup while the feed is not followed): `undefined`, and the caller
 *   reads the registry as before. So an unknown serial is still answered "unknown" from the
 *   registry itself, and a revocation on another node is seen as soon as the feed delivers it:
 *   the revoking call does not return until every live node has applied it or fenced itself
 *   (docs/ocsp.md), and a fenced node does not answer from here.
 *
 * A change delivered while a page is being read is remembered, and that certificate is not taken
 * from the page (the page may predate the change); it is read from the registry when asked.
 */
import { registerCache } from '../../ca/cache-registry.js';
import type { RegistryStatus } from './ports.js';

/** One certificate of our issuers as the registry has it, with the keyset position of its row. */
export interface IndexedRow {
  issuerId: string;
  serial: string;
  createdAt: Date;
  status: RegistryStatus;
}

export interface RegistryIndexSource {
  /** Rows of `issuerIds` with a DER, ordered by (createdAt, serial, issuerId), after `after` (exclusive). */
  page(issuerIds: string[], after: { createdAt: Date; serial: string; issuerId: string } | null, limit: number): Promise<IndexedRow[]>;
}

export interface RegistryIndexOptions {
  /** True while this node follows the status-change feed (else nothing is answered from here). */
  fresh(): boolean;
  maxEntries?: number;
  refreshMs?: number;
  pageRows?: number;
  /** How far before the newest row already read a refresh starts again (clock skew between nodes, late commits). */
  overlapMs?: number;
  /** How often everything is read again from the first row and what is held replaced (a change made outside the service, without a feed entry, lasts at most this long, as a pre-signed OCSP response until its sweep). */
  reloadMs?: number;
}

/** What is held of a good certificate: all the validator reads of it. */
export interface GoodStatus {
  derSha256: string;
  status: 'good';
}

/** A good certificate is held as the SHA-256 of its DER; any other status as its record. */
type Held = string | RegistryStatus;

const key = (issuerId: string, serial: string) => `${issuerId}|${serial}`;

export class RegistryIndex {
  private held = new Map<string, Held>();
  private readonly maxEntries: number;
  private readonly refreshMs: number;
  private readonly pageRows: number;
  private readonly overlapMs: number;
  private readonly reloadMs: number;
  private lastReload = -Infinity;
  /** During a whole reload: what will replace `held` (a change delivered meanwhile is removed from both). */
  private pending: Map<string, Held> | null = null;
  /** Keys changed while a read is in flight, per read. */
  private readonly inFlight = new Set<Set<string>>();
  private newest: Date | null = null;
  private lastRead = -Infinity;
  private reading: Promise<void> | null = null;
  private issuerIds: string[] = [];
  private closed = false;

  constructor(
    private readonly source: RegistryIndexSource,
    private readonly options: RegistryIndexOptions,
  ) {
    this.maxEntries = options.maxEntries ?? 100_000;
    this.refreshMs = options.refreshMs ?? 5_000;
    this.pageRows = options.pageRows ?? 5_000;
    // 30 s covers a batch's transaction committing after its rows' created_at and clock skew
    // between nodes; a row later still is only read from the registry until the next whole reload
    // (never answered wrongly: what is not held is read). Five minutes re-read every certificate of
    // the last five minutes every 5 s: after a batch of thousands, thousands of rows per refresh.
    this.overlapMs = options.overlapMs ?? 30_000;
    this.reloadMs = options.reloadMs ?? 10 * 60_000;
    registerCache('registry index', this);
  }

  /** Drops what is held (a memory probe): nothing is answered from here until the next read, which starts from the first row. */
  clear(): void {
    this.held.clear();
    this.newest = null;
    this.lastRead = -Infinity;
  }

  get size(): number {
    return this.held.size;
  }

  /** The registry's record of a certificate, or undefined: read the registry (see the header). */
  lookup(issuerId: string, serial: string): RegistryStatus | GoodStatus | undefined {
    if (!this.options.fresh()) return undefined;
    const held = this.held.get(key(issuerId, serial));
    if (held === undefined) return undefined;
    return typeof held === 'string' ? { derSha256: held, status: 'good' } : held;
  }

  /** A certificate's status changed (this node's CA, or the change feed): what is held of it goes. */
  forget(issuerId: string, serial: string): void {
    const k = key(issuerId, serial);
    this.held.delete(k);
    this.pending?.delete(k);
    for (const changed of this.inFlight) changed.add(k);
  }

  /** Our issuers changed: held rows stay (certificates do not change issuer), the next read covers the new list. */
  issuers(issuerIds: string[]): void {
    const changed = issuerIds.length !== this.issuerIds.length || issuerIds.some((id, i) => id !== this.issuerIds[i]);
    this.issuerIds = issuerIds;
    if (changed) {
      // A new issuer's certificates are read from its first row.
      this.newest = null;
      this.lastRead = -Infinity;
    }
  }

  /** Starts a read in the background when one is due (never awaited by a validation). */
  refreshIfDue(nowMs: number): void {
    if (this.closed || this.reading || !this.issuerIds.length || nowMs - this.lastRead < this.refreshMs) return;
    this.lastRead = nowMs;
    const whole = nowMs - this.lastReload >= this.reloadMs;
    if (whole) this.lastReload = nowMs;
    this.reading = this.read(whole)
      .catch(() => undefined)
      .finally(() => {
        this.reading = null;
      });
  }

  /** Waits for a read in progress (tests, shutdown). */
  async settled(): Promise<void> {
    await this.reading;
  }

  close(): void {
    this.closed = true;
  }

  private async read(whole: boolean): Promise<void> {
    const issuerIds = this.issuerIds;
    const into = whole ? new Map<string, Held>() : this.held;
    if (whole) this.pending = into;
    try {
      await this.readInto(into, issuerIds, whole ? null : this.newest);
      if (whole && !this.closed) this.held = into;
    } finally {
      if (whole) this.pending = null;
    }
  }

  private async readInto(into: Map<string, Held>, issuerIds: string[], from: Date | null): Promise<void> {
    let after = from ? { createdAt: new Date(from.getTime() - this.overlapMs), serial: '', issuerId: '' } : null;
    for (;;) {
      if (this.closed) return;
      const changed = new Set<string>();
      this.inFlight.add(changed);
      let rows: IndexedRow[];
      try {
        rows = await this.source.page(issuerIds, after, this.pageRows);
      } finally {
        this.inFlight.delete(changed);
      }
      for (const row of rows) {
        const k = key(row.issuerId, row.serial);
        if (changed.has(k) || !row.status.derSha256) continue;
        if (!into.has(k) && into.size >= this.maxEntries) continue;
        into.set(k, row.status.status === 'good' ? row.status.derSha256 : row.status);
        if (!this.newest || row.createdAt > this.newest) this.newest = row.createdAt;
      }
      if (rows.length < this.pageRows) return;
      const last = rows[rows.length - 1];
      after = { createdAt: last.createdAt, serial: last.serial, issuerId: last.issuerId };
    }
  }
}
