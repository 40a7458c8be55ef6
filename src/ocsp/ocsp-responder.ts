/**
 * The OCSP responder service (RFC 6960, RFC 5019, RFC 8954; design in docs/ocsp.md).
 *
 * - Pre-signed responses: one `sha1` CertID response per unexpired certificate, signed by a
 *   bounded background job (one node at a time, by lease) and re-signed at half-life; stored in
 *   `ocsp_responses` and kept in a bounded in-memory cache. Other CertID variants (SHA-256, …)
 *   are signed on their first request and cached in memory.
 * - A revoke, hold or release re-signs the certificate's response in the status-change listener,
 *   which the CA awaits before its call returns; the listener then appends to the change feed and
 *   waits until every live node has dropped its copies. A node that cannot follow the feed stops
 *   answering (`tryLater`) before the others stop waiting for it: once the revoke call has
 *   returned, no node serves the old `good`.
 * - Requests with a nonce, several CertIDs or an unusual variant are signed live, with a bound on
 *   signings in flight (past it `tryLater`, RFC 6960 §2.3).
 *
 * This file answers; the parts are in ocsp-signers.ts (who signs), ocsp-signing.ts (validity and
 * the in-flight bound), ocsp-cache.ts (memory), ocsp-live.ts (responses signed per request),
 * change-feed-follower.ts (the feed, the fence, propagation) and ocsp-presigner.ts (the job).
 */
import { type OcspRequest, parseGetRequest, parseOcspRequest, type PresignedKey, presignedKey } from '../../ca/status/ocsp/index.js';
import { nowMsOf, type Clock } from '../lifecycle/clock.js';
import type { Logger } from '../logging/logger.js';
import type { CertificateRecord } from '../../ca/records.js';
import type { OcspCertificateStatus, OcspRepository } from '../storage/ocsp-repository.js';
import { isDatabaseUnavailable } from '../errors/dependency-unavailable.js';
import { BackgroundTasks } from './background-tasks.js';
import { ChangeFeedFollower, ISSUERS_CHANGED } from './change-feed-follower.js';
import { OcspCache } from './ocsp-cache.js';
import { LiveAnswers } from './ocsp-live.js';
import { answerFromCached, type CachedResponse, cachedFromStored, certStatusOf, errorAnswer, type OcspCaPort, type OcspConfig, type OcspHttpAnswer } from './ocsp-model.js';
import { OcspPresigner } from './ocsp-presigner.js';
import { OcspSigners } from './ocsp-signers.js';
import { OcspSigning } from './ocsp-signing.js';

export { certStatusOf, type OcspCaPort, type OcspConfig, type OcspHttpAnswer } from './ocsp-model.js';

/** The bytes as a string key (one byte per char), without copying when already a Buffer. */
const latin1Of = (bytes: Uint8Array): string => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('latin1');

export interface OcspResponderDeps {
  repo: OcspRepository;
  ca: OcspCaPort;
  clock: Clock;
  log: Logger;
  config: OcspConfig;
  role: string;
  /** LISTEN for change ids (PostgreSQL); null on the embedded database, which polls only. */
  listen?: (onChange: (changeId: number | null) => void) => { close(): Promise<void> } | null;
  /** Feed entries that are not certificates' (API token revocations): true when taken. */
  otherFeedEntry?: (issuerId: string, serial: string) => boolean;
}

export class OcspResponderService {
  private readonly cache: OcspCache;
  private readonly signers: OcspSigners;
  private readonly signing: OcspSigning;
  private readonly live: LiveAnswers;
  private readonly feed: ChangeFeedFollower;
  private readonly presigner: OcspPresigner;
  private readonly tasks: BackgroundTasks;

  constructor(private readonly deps: OcspResponderDeps) {
    const { repo, clock, log, config } = deps;
    const closed = () => this.tasks.closed;
    this.tasks = new BackgroundTasks(log);
    this.cache = new OcspCache(config.cacheEntries);
    this.signers = new OcspSigners({ ca: deps.ca, clock, log, signer: config.signer });
    this.signing = new OcspSigning({ clock, config });
    const parts = { repo, clock, config, cache: this.cache, signers: this.signers, signing: this.signing };
    this.live = new LiveAnswers(parts);
    this.feed = new ChangeFeedFollower({ repo, clock, log, config, role: deps.role, listen: deps.listen, closed, invalidate: (issuerId, serial) => {
      if (!deps.otherFeedEntry?.(issuerId, serial)) this.cache.invalidate(issuerId, serial);
      for (const listener of this.feedListeners) listener(issuerId, serial);
    }, reloadIssuers: () => {
      for (const listener of this.feedListeners) listener('', ISSUERS_CHANGED);
      return this.reloadIssuers();
    } });
    this.presigner = new OcspPresigner({ ...parts, nodeId: this.feed.nodeId, closed });
  }

  private get log() {
    return this.deps.log;
  }

  private readonly feedListeners: Array<(issuerId: string, serial: string) => void> = [];

  /** Called with every entry another node put on the change feed (status changes; ISSUERS_CHANGED for issuers). */
  onFeedEntry(listener: (issuerId: string, serial: string) => void): void {
    this.feedListeners.push(listener);
  }

  private nowMs(): number {
    return nowMsOf(this.deps.clock);
  }

  // ── lifecycle ────────────────────────────────────────────────────────────────────────────
  async start(): Promise<void> {
    await this.reloadIssuers();
    await this.feed.join();
    const { tasks } = this;
    tasks.every(this.deps.config.changePollMs, () => this.sync(), 'OCSP change feed read failed');
    tasks.every(this.deps.config.refreshIntervalSeconds * 1000, () => this.refreshDue(), 'OCSP pre-signing failed');
    tasks.every(60_000, () => this.reloadIssuers(), 'OCSP issuer reload failed');
    // First pre-signing pass and warm-up in the background: the node answers meanwhile.
    setImmediate(() => {
      if (!tasks.closed) void tasks.run(() => this.presigner.firstRun(), 'OCSP pre-signing failed');
    });
  }

  async close(): Promise<void> {
    this.tasks.stop();
    await this.feed.stopListening();
    // Runs check `closed` between steps, so this is at most one page or one batch of signatures.
    await this.tasks.settled();
    await this.feed.leave();
    await this.presigner.releaseLease();
  }

  /** The issuers answered for and who signs for each (ocsp-signers.ts). */
  reloadIssuers(): Promise<void> {
    return this.signers.reload();
  }

  /**
   * A new issuing CA or OCSP signer was committed: reload here, put it on the change feed and wait
   * until every live node has reloaded too (docs/ocsp.md, "A new issuing CA").
   */
  async announceIssuers(): Promise<void> {
    await this.reloadIssuers();
    await this.feed.announce(ISSUERS_CHANGED, ISSUERS_CHANGED);
  }

  /** Issuer ids answered for, and who signs for them (for `tinnhiem` commands and logs). */
  describe(): Array<{ issuer: string; signer: string; signerNotAfter: string }> {
    return this.signers.describe();
  }

  /** Reads the change feed now (change-feed-follower.ts). */
  sync(): Promise<void> {
    return this.feed.sync();
  }

  /** One run of the pre-signing job (ocsp-presigner.ts); returns how many it signed. */
  refreshDue(limit?: number): Promise<number> {
    return this.presigner.refreshDue(limit);
  }

  /** Loads stored responses into memory until the cache is full; returns how many it loaded. */
  warmCache(pageSize?: number): Promise<number> {
    return this.presigner.warmCache(pageSize);
  }

  /** Signs until every unexpired certificate has a current response; returns how many it signed. */
  presignAll(onProgress?: (done: number) => void): Promise<number> {
    return this.presigner.presignAll(onProgress);
  }

  /** Whether this node follows the change feed now: what other caches invalidated through it rely on. */
  followsFeed(): boolean {
    return !this.tasks.closed && this.feed.following(this.nowMs());
  }

  /**
   * Readiness of a responder-only node (`--role ocsp`): it can answer while it follows the change
   * feed or is within the fence, even with the database down (answers come from memory).
   */
  readiness(): { ok: boolean; detail: string } {
    if (this.tasks.closed) return { ok: false, detail: 'closed' };
    if (this.feed.fenced(this.nowMs())) return { ok: false, detail: `change feed unread for over ${this.feed.fenceMs} ms (answering tryLater)` };
    return { ok: true, detail: `${this.cache.responses.size} responses in memory` };
  }

  // ── answering ────────────────────────────────────────────────────────────────────────────
  /** POST body (already size- and type-checked by the router). */
  answerPost(body: Uint8Array): Promise<OcspHttpAnswer> {
    const raw = latin1Of(body);
    const remembered = this.fromMemory(raw, false);
    if (remembered) return Promise.resolve(remembered);
    const parsed = parseOcspRequest(body);
    if (!parsed.ok) return Promise.resolve(errorAnswer('malformedRequest'));
    return this.answer(parsed.request, false, raw);
  }

  /** GET: the raw path after `/ocsp/` (RFC 6960 appendix A.1). */
  answerGet(path: string): Promise<OcspHttpAnswer> {
    const remembered = this.fromMemory(path, true);
    if (remembered) return Promise.resolve(remembered);
    const parsed = parseGetRequest(path);
    if (!parsed.ok) return Promise.resolve(errorAnswer('malformedRequest'));
    return this.answer(parsed.request, true, path);
  }

  /**
   * The answer from memory, synchronously, when these exact request bytes were answered before
   * from a pre-signed response that is still current; undefined otherwise (then answerPost). The
   * HTTP fast path calls it first and so pays no promise for the common case.
   */
  answerPostFromMemory(body: Uint8Array): OcspHttpAnswer | undefined {
    return this.fromMemory(latin1Of(body), false);
  }

  /** As answerPostFromMemory, for GET's raw path after `/ocsp/`. */
  answerGetFromMemory(path: string): OcspHttpAnswer | undefined {
    return this.fromMemory(path, true);
  }

  private fromMemory(raw: string, get: boolean): OcspHttpAnswer | undefined {
    if (this.tasks.closed) return undefined;
    const nowMs = this.nowMs();
    if (this.feed.fenced(nowMs)) return undefined;
    const { cache } = this;
    const hit = (get ? cache.requests.get : cache.requests.post).get(raw);
    if (!hit || hit.index !== this.signers.index || cache.responses.get(hit.k) !== hit.entry) return undefined;
    if (nowMs >= hit.entry.recheckAtMs || nowMs >= hit.entry.nextUpdateMs) return undefined;
    cache.responses.touch(hit.k, hit.entry);
    return answerFromCached(hit.entry, get, nowMs, this.deps.config.maxAgeSeconds);
  }

  /** `raw`: the request as received (POST bytes in latin1, GET path), remembered on a pre-signed answer. */
  async answer(request: OcspRequest, get: boolean, raw?: string): Promise<OcspHttpAnswer> {
    if (this.tasks.closed) return errorAnswer('tryLater');
    const nowMs = this.nowMs();
    if (this.feed.fenced(nowMs)) return errorAnswer('tryLater');
    try {
      const { cache } = this;
      const key = presignedKey(request, this.signers.index);
      // A negative serial (RFC 5280 §4.1.2.2 forbids them) is nobody's: answered live, `unknown`.
      if (!key || key.serialHex.startsWith('-')) return await this.live.answer(request, get);
      const k = `${key.issuerId}/${key.serialHex}/${key.variant}`;
      const hit = cache.responses.get(k);
      if (hit && nowMs < hit.recheckAtMs && nowMs < hit.nextUpdateMs) {
        cache.responses.touch(k, hit);
        if (raw !== undefined) cache.rememberRequest(get, raw, k, hit, this.signers.index);
        return answerFromCached(hit, get, nowMs, this.deps.config.maxAgeSeconds);
      }
      // Past its recheck time a cached response is still valid until nextUpdate: it is looked up
      // again, and served as it is if the database cannot be reached.
      return await this.answerMiss(key, k, hit && nowMs < hit.nextUpdateMs ? hit : undefined, get, raw);
    } catch (err) {
      // RFC 6960 §2.3: tryLater is the answer for a responder that cannot answer now (its
      // database restarting); internalError for a fault of its own.
      if (isDatabaseUnavailable(err)) return errorAnswer('tryLater');
      this.log.error({ err }, 'OCSP request failed');
      return errorAnswer('internalError');
    }
  }

  /** A pre-signable key not current in memory: stored or signed, once for concurrent requests (single flight). */
  private async answerMiss(key: PresignedKey, k: string, fallback: CachedResponse | undefined, get: boolean, raw: string | undefined): Promise<OcspHttpAnswer> {
    const { cache } = this;
    const maxAge = this.deps.config.maxAgeSeconds;
    let work = cache.pending.get(k);
    if (!work) {
      work = this.loadOrSign(key, k).finally(() => {
        if (cache.pending.get(k) === work) cache.pending.delete(k);
      });
      cache.pending.set(k, work);
    }
    let result: OcspHttpAnswer | CachedResponse;
    try {
      result = await work;
    } catch (err) {
      if (fallback && isDatabaseUnavailable(err)) return answerFromCached(fallback, get, this.nowMs(), maxAge);
      throw err;
    }
    if (!('der' in result)) return result;
    // Remembered only if it went into the cache (not when an invalidation overtook the read).
    if (raw !== undefined && cache.responses.get(k) === result) cache.rememberRequest(get, raw, k, result, this.signers.index);
    return answerFromCached(result, get, this.nowMs(), maxAge);
  }

  /** A cache miss on a pre-signable key: the stored response, else sign one from the registry. */
  private async loadOrSign(key: PresignedKey, k: string): Promise<OcspHttpAnswer | CachedResponse> {
    const { cache } = this;
    const { repo } = this.deps;
    const epoch = cache.epoch;
    const issuer = this.signers.get(key.issuerId);
    if (!issuer) return errorAnswer('unauthorized');
    const nowMs = this.nowMs();
    if (key.variant === 'sha1') {
      const row = await repo.response(key.issuerId, key.serialHex, 'sha1');
      if (row && row.nextUpdate.getTime() > nowMs + 60_000) {
        const entry = cachedFromStored(row, certStatusOf(row), this.nowMs());
        if (cache.epoch === epoch) cache.responses.set(k, entry);
        return entry;
      }
    }
    const statuses = await repo.statuses(key.issuerId, [key.serialHex]);
    const st = statuses.get(key.serialHex);
    if (!st) return this.live.unknown(key, issuer);
    const signed = await this.signing.trySignStatus(issuer, st, key.hash, key.hashParams, key.variant);
    if (!signed) return errorAnswer('tryLater');
    if (key.variant === 'sha1') {
      const stored = await repo.store([signed.row]);
      if (!stored.has(k)) {
        // A response from a newer status was stored meanwhile: serve that one.
        const row = await repo.response(key.issuerId, key.serialHex, 'sha1');
        if (row) return cachedFromStored(row, certStatusOf(row), this.nowMs());
      }
    }
    if (cache.epoch === epoch) cache.responses.set(k, signed.entry);
    return signed.entry;
  }

  // ── status changes ───────────────────────────────────────────────────────────────────────
  /**
   * The CA's status-change listener: runs after the change committed and before the revoke, hold
   * or release call returns. Re-signs the `sha1` response from the new status, swaps it in here,
   * announces the change and waits until every live node has applied it.
   */
  async onStatusChange(cert: CertificateRecord): Promise<void> {
    if (cert.statusSource !== 'registry') return;
    const issuer = this.signers.get(cert.issuerId);
    const st: OcspCertificateStatus = {
      issuerId: cert.issuerId,
      serial: cert.serial,
      status: cert.status,
      revokedAt: cert.revokedAt,
      reason: cert.revocationReason,
      statusAt: cert.statusChangedAt,
      notAfter: cert.notAfter,
    };
    let entry: CachedResponse | undefined;
    try {
      if (issuer) {
        const signed = await this.signing.signSha1(issuer, st);
        const stored = await this.deps.repo.store([signed.row]);
        if (stored.size) entry = signed.entry;
      }
    } catch (err) {
      this.log.error({ err, serial: cert.serial }, 'OCSP: could not re-sign after a status change; dropping the stored response so nodes sign from the registry');
    }
    if (!entry) await this.deps.repo.deleteResponses(cert.issuerId, cert.serial);
    this.cache.invalidate(cert.issuerId, cert.serial);
    if (entry) this.cache.responses.set(`${cert.issuerId}/${cert.serial}/sha1`, entry);
    await this.feed.announce(cert.issuerId, cert.serial);
  }
}
