/**
 * This node's place in the status-change feed (docs/ocsp.md, "Revocation: no stale `good` once the
 * call returns"): it reads `ocsp_changes` (on a NOTIFY, and by polling), drops the changed
 * certificates from memory, renews its heartbeat in `ocsp_nodes`, and fences itself (answers
 * `tryLater`) once it has not read the feed for `fenceMs`. A status change made here is announced
 * on the feed and waited for until every live node has applied it.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../lifecycle/clock.js';
import type { Logger } from '../logging/logger.js';
import type { OcspRepository } from '../storage/ocsp-repository.js';
import type { OcspConfig } from './ocsp-model.js';

export interface ChangeFeedDeps {
  repo: OcspRepository;
  clock: Clock;
  log: Logger;
  config: OcspConfig;
  role: string;
  /** LISTEN for change ids (PostgreSQL); null on the embedded database, which polls only. */
  listen?: (onChange: (changeId: number | null) => void) => { close(): Promise<void> } | null;
  /** Drops what this node keeps about a certificate whose status changed. */
  invalidate(issuerId: string, serial: string): void;
  /** Reloads the issuers answered for and their signers (an ISSUERS_CHANGED entry). */
  reloadIssuers(): Promise<void>;
  /** True once the responder is closing. */
  closed(): boolean;
}

/**
 * The serial of a feed entry that says "the issuers or their signers changed" (a new issuing CA,
 * a renewed OCSP signer): nodes reload them before confirming, so a new issuing CA is answered
 * for on every node before it hands out a certificate. Never a serial (those are hex).
 */
export const ISSUERS_CHANGED = '*issuers';

export class ChangeFeedFollower {
  /** This node's row in `ocsp_nodes` (and its name as the pre-signing lease holder). */
  readonly nodeId = randomUUID();
  /** How long this node answers without reading the feed (OcspConfig.fenceMs). */
  readonly fenceMs: number;
  private readonly aliveMs: number;
  private readonly description: string;
  private appliedChange = 0;
  /** Time at which the last successful feed read started; too old → fenced. */
  private lastSyncAt = 0;
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private listener: { close(): Promise<void> } | null = null;
  private fencedLogged = false;

  constructor(private readonly deps: ChangeFeedDeps) {
    this.fenceMs = Math.max(3 * deps.config.changePollMs, deps.config.fenceMs ?? 3_000);
    // The other nodes stop waiting for this one only after it has stopped answering.
    this.aliveMs = this.fenceMs + 2_000;
    this.description = `${hostname()} pid ${process.pid} role ${deps.role}`;
  }

  private nowMs(): number {
    return this.deps.clock.now().getTime();
  }

  /** Starts from the latest change, announces this node and listens for changes. */
  async join(): Promise<void> {
    this.appliedChange = await this.deps.repo.latestChange();
    await this.deps.repo.heartbeat(this.nodeId, this.description, this.appliedChange);
    this.lastSyncAt = this.nowMs();
    this.listener =
      this.deps.listen?.(() => {
        this.sync().catch((err: unknown) => this.deps.log.warn({ err }, 'OCSP change feed read failed'));
      }) ?? null;
  }

  /** Stops listening and waits for a feed read in progress. */
  async stopListening(): Promise<void> {
    await this.listener?.close();
    await this.syncing?.catch(() => undefined);
  }

  /** Removes this node's heartbeat: the others stop waiting for it at once. */
  async leave(): Promise<void> {
    await this.deps.repo.removeNode(this.nodeId).catch(() => undefined);
  }

  /** True when this node has read the feed within `fenceMs` of `nowMs` (no log, unlike `fenced`). */
  following(nowMs: number): boolean {
    return this.lastSyncAt > 0 && nowMs - this.lastSyncAt <= this.fenceMs;
  }

  /** True when this node has not read the feed for `fenceMs` at `nowMs`: it must not answer from its caches. */
  fenced(nowMs: number): boolean {
    const fenced = nowMs - this.lastSyncAt > this.fenceMs;
    if (fenced && !this.fencedLogged) {
      this.fencedLogged = true;
      this.deps.log.error({ lastSyncMsAgo: nowMs - this.lastSyncAt }, 'OCSP: cannot read the status-change feed; answering tryLater until it can');
    }
    return fenced;
  }

  /** Reads the change feed, drops changed certificates' responses, renews the heartbeat. */
  sync(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.syncAgain = false;
          await this.readFeed();
        } while (this.syncAgain && !this.deps.closed());
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  private async readFeed(): Promise<void> {
    const { repo } = this.deps;
    const started = this.nowMs();
    for (;;) {
      const changes = await repo.changesAfter(this.appliedChange);
      for (const c of changes) {
        // Confirmed (appliedChange) only once the reload is done: the heartbeat below reports it.
        if (c.serial === ISSUERS_CHANGED) await this.reloadIssuers();
        else this.deps.invalidate(c.issuerId, c.serial);
        this.appliedChange = c.id;
      }
      if (changes.length < 1000) break;
    }
    await repo.heartbeat(this.nodeId, this.description, this.appliedChange);
    this.lastSyncAt = started;
    if (this.fencedLogged) {
      this.fencedLogged = false;
      this.deps.log.info('OCSP: following the status-change feed again');
    }
  }

  /**
   * A node that cannot load the new signer's key (an OCSP-only node whose key files were not
   * copied) keeps answering for the issuers it has rather than fencing itself for good.
   */
  private async reloadIssuers(): Promise<void> {
    await this.deps.reloadIssuers().catch((err: unknown) => this.deps.log.error({ err }, 'OCSP: cannot load the new issuers or signers (key files copied to this node?); answering for the previous ones'));
  }

  /** Appends a status change (already applied here) to the feed and waits until every live node has applied it. */
  async announce(issuerId: string, serial: string): Promise<void> {
    const changeId = await this.deps.repo.recordChange(issuerId, serial, this.deps.clock.now());
    await this.awaitPropagation(changeId);
  }

  private async awaitPropagation(changeId: number): Promise<void> {
    const started = this.nowMs();
    // Never give up on a silent node before it has fenced itself (its heartbeat older than aliveMs).
    const timeoutMs = Math.max(this.deps.config.propagationTimeoutMs, this.aliveMs);
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const lagging = await this.deps.repo.lagging(this.nodeId, changeId, this.aliveMs);
      if (lagging.length === 0) return;
      if (this.nowMs() - started > timeoutMs) {
        this.deps.log.error({ changeId, lagging }, 'OCSP: nodes did not confirm a status change in time; they stop answering once their feed is stale');
        return;
      }
      await sleep(delay);
    }
  }
}
