/**
 * The pre-signing job (docs/ocsp.md, "Pre-signing, refresh and caching"): one `sha1` CertID
 * response per unexpired certificate (RFC 5019 §2.1.1), signed ahead of time by one node at a time
 * (by lease), re-signed at half-life and stored in `ocsp_responses`; the warm-up that loads the
 * stored responses into memory, so a node answers through a database restart; and the bulk
 * `presignAll` for a new fleet.
 */
import type { Clock } from '../lifecycle/clock.js';
import type { OcspCertificateStatus, OcspRepository } from '../storage/ocsp-repository.js';
import type { OcspCache } from './ocsp-cache.js';
import { cachedFromStored, certStatusOf, HOUR, type OcspConfig } from './ocsp-model.js';
import type { OcspSigners } from './ocsp-signers.js';
import type { OcspSigning } from './ocsp-signing.js';

/** Rows the background sweep reads per run, and per query. */
const SWEEP_ROWS_PER_RUN = 50_000;
const SWEEP_PAGE = 1_000;
/**
 * Stored responses the start-up warm-up reads per query. It runs beside the first requests, and on
 * the embedded database (one connection) a request's query waited for a whole page: with pages of
 * 1,000 back to back, the p99 of registry reads during a start was 68–155 ms, with 250 and a turn
 * of the event loop between pages 12–37 ms (docs/performance.md, "Memory held by caches and the
 * start-up warm-up, ninth pass").
 */
const WARM_PAGE = 250;
const REFRESH_LEASE = 'ocsp-refresh';

type RegistryKey = { issuerId: string; serial: string };

export interface PresignerDeps {
  repo: OcspRepository;
  clock: Clock;
  config: OcspConfig;
  cache: OcspCache;
  signers: OcspSigners;
  signing: OcspSigning;
  /** The lease holder: this node's id. */
  nodeId: string;
  /** True once the responder is closing. */
  closed(): boolean;
}

export class OcspPresigner {
  /** Where the background sweep goes on from (null: from the start). */
  private sweepAfter: RegistryKey | null = null;

  constructor(private readonly deps: PresignerDeps) {}

  /**
   * The first run after start: a pre-signing pass, then the warm-up, even if the pass failed (the
   * node answers meanwhile, signing on demand). With the stored responses in memory the node keeps
   * answering through a database restart (up to the fence) for every certificate, not only those
   * asked already.
   */
  async firstRun(): Promise<void> {
    try {
      await this.refreshDue();
    } finally {
      if (!this.deps.closed()) await this.warmCache();
    }
  }

  /**
   * One bounded run of the background job (one node at a time holds its lease), signing at most
   * `limit` `sha1` responses: first those past half-life (an index range), then, with what is
   * left of the budget, the next pages of a sweep over the registry in key order, which finds
   * certificates with no response yet and responses older than their status (a status change
   * normally re-signs at once, in `onStatusChange`; the sweep is the safety net). The sweep reads
   * at most SWEEP_ROWS_PER_RUN rows a run, so a run costs the same with 2,339 certificates or a
   * million; a full sweep of a million takes about 20 runs. Returns how many it signed.
   */
  async refreshDue(limit = this.deps.config.refreshBatch): Promise<number> {
    if (this.deps.closed()) return 0;
    const { repo, cache } = this.deps;
    const leaseMs = Math.max(this.deps.config.refreshIntervalSeconds * 3000, 60_000);
    if (!(await repo.tryLease(REFRESH_LEASE, this.deps.nodeId, leaseMs))) return 0;
    const issuers = this.deps.signers.issuerIds();
    const now = this.deps.clock.now();
    const epoch = cache.epoch;
    const due = await repo.dueForRefresh(issuers, now, limit);
    await this.signAndStore(due, epoch);
    const signed = due.length + (await this.sweep(issuers, now, limit - due.length));
    if (signed < limit) {
      // Housekeeping when caught up.
      await repo.deleteStale(now);
      await repo.pruneChanges(new Date(now.getTime() - 24 * HOUR));
      await repo.pruneNodes(HOUR);
    }
    return signed;
  }

  /** The next pages of the sweep, signing at most `budget` responses; returns how many it signed. */
  private async sweep(issuers: string[], now: Date, budget: number): Promise<number> {
    let signed = 0;
    let swept = 0;
    while (signed < budget && swept < SWEEP_ROWS_PER_RUN && !this.deps.closed()) {
      const epoch = this.deps.cache.epoch;
      const pageSize = Math.min(SWEEP_PAGE, SWEEP_ROWS_PER_RUN - swept);
      const page = await this.deps.repo.unsignedPage(issuers, now, this.sweepAfter, pageSize);
      const part = page.due.slice(0, budget - signed);
      await this.signAndStore(part, epoch);
      signed += part.length;
      swept += pageSize;
      if (part.length < page.due.length) {
        // The budget ran out inside the page: go on after the last one signed.
        const last = part.at(-1)!;
        this.sweepAfter = { issuerId: last.issuerId, serial: last.serial };
        break;
      }
      this.sweepAfter = page.next; // null: the sweep is complete and starts again next time
      if (!page.next) break;
    }
    return signed;
  }

  /**
   * Signs `due` in chunks, stores the responses, and refreshes the ones this node has in memory,
   * unless an invalidation came after `epoch` (read before `due` was).
   */
  private async signAndStore(due: readonly OcspCertificateStatus[], epoch: number): Promise<void> {
    const { cache, signers, signing } = this.deps;
    const chunk = 256;
    for (let i = 0; i < due.length && !this.deps.closed(); i += chunk) {
      const part = due.slice(i, i + chunk);
      const signed = await Promise.all(part.map((st) => signing.signSha1(signers.get(st.issuerId)!, st)));
      const stored = await this.deps.repo.store(signed.map((s) => s.row));
      if (cache.epoch === epoch) {
        for (const s of signed) {
          const k = `${s.row.issuerId}/${s.row.serial}/sha1`;
          // Kept in memory while there is room (a province's whole registry fits), so that the
          // node holding the job's lease can answer for new certificates through a restart too.
          if (stored.has(k) && (cache.responses.has(k) || cache.responses.size < cache.responses.capacity)) cache.responses.set(k, s.entry);
        }
      }
    }
  }

  /**
   * Loads stored `sha1` responses into memory until the cache is full (OCSP_CACHE_ENTRIES), in key
   * order, without replacing what is there. Responses change only through the change feed and
   * re-signing, which keep the cache current, so a warm node answers from memory alone while the
   * database restarts. Returns how many it loaded. Paced: a turn of the event loop (setImmediate)
   * between pages, so requests arriving meanwhile are read and their queries queued before the next
   * page's. Correctness does not wait for it: a request for a serial not loaded yet is a miss,
   * answered from the database (and a response loaded never replaces one already there).
   */
  async warmCache(pageSize = WARM_PAGE): Promise<number> {
    const { cache, signers } = this.deps;
    const capacity = cache.responses.capacity;
    let loaded = 0;
    let after: RegistryKey | null = null;
    while (!this.deps.closed() && cache.responses.size < capacity) {
      const epoch = cache.epoch;
      const now = this.deps.clock.now();
      if (after) await new Promise<void>((resolve) => setImmediate(resolve));
      const page = await this.deps.repo.storedPage(after, new Date(now.getTime() + 60_000), Math.min(pageSize, capacity - cache.responses.size));
      // A change read meanwhile may have dropped one of these: read the page again.
      if (cache.epoch !== epoch) continue;
      for (const row of page) {
        const k = `${row.issuerId}/${row.serial}/sha1`;
        if (signers.has(row.issuerId) && !cache.responses.has(k)) {
          cache.responses.set(k, cachedFromStored(row, certStatusOf(row), this.deps.clock.now().getTime()));
          loaded++;
        }
      }
      if (page.length === 0) break;
      const last = page[page.length - 1];
      after = { issuerId: last.issuerId, serial: last.serial };
    }
    return loaded;
  }

  /**
   * Signs until every unexpired certificate has a current response: a bulk warm-up (a new
   * responder fleet, an imported registry, the benchmark), walking the registry in key order.
   * The background job then keeps them current.
   */
  async presignAll(onProgress?: (done: number) => void): Promise<number> {
    let total = 0;
    let after: RegistryKey | null = null;
    do {
      const epoch = this.deps.cache.epoch;
      const page = await this.deps.repo.unsignedPage(this.deps.signers.issuerIds(), this.deps.clock.now(), after, this.deps.config.refreshBatch);
      await this.signAndStore(page.due, epoch);
      total += page.due.length;
      onProgress?.(total);
      after = page.next;
    } while (after && !this.deps.closed());
    return total;
  }

  /** Lets another node take the job at once. */
  async releaseLease(): Promise<void> {
    await this.deps.repo.releaseLease(REFRESH_LEASE, this.deps.nodeId).catch(() => undefined);
  }
}
