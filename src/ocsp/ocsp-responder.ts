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
 */
import { randomUUID, webcrypto } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  buildBasicResponse,
  certIdFor,
  type CertStatus,
  errorResponse,
  etagOf,
  type IndexedIssuer,
  issuerFromCertificate,
  IssuerIndex,
  matchRequest,
  type OcspErrorStatus,
  type OcspRequest,
  type OcspResponder,
  parseGetRequest,
  parseOcspRequest,
  type PresignedKey,
  presignedKey,
  presignResponse,
  prepareResponder,
  webCryptoSigner,
} from '../../ca/status/ocsp/index.js';
import { certificateFacts, parseCertificate } from '../../ca/asn1/certificate.js';
import type { SigningKey } from '../../ca/keys/key-store.js';
import type { Clock } from '../lifecycle/clock.js';
import type { Logger } from '../logging/logger.js';
import type { CertificateRecord, IssuerRow } from '../registry/records.js';
import type { OcspCertificateStatus, OcspRepository, StoredOcspResponse } from '../storage/ocsp-repository.js';
import { isDatabaseUnavailable } from '../errors/dependency-unavailable.js';

export interface OcspConfig {
  signer: 'delegated' | 'ca';
  validityHours: number;
  maxAgeSeconds: number;
  maxInflightSignings: number;
  cacheEntries: number;
  refreshBatch: number;
  refreshIntervalSeconds: number;
  changePollMs: number;
  propagationTimeoutMs: number;
  /**
   * How long a node answers from memory without reading the change feed (OCSP_FENCE_MS; at least
   * 3 × changePollMs). Longer rides out a longer database restart; a revoke then waits longer for
   * a node that went silent (fenceMs + 2 s). Unset: max(3 × changePollMs, 3 s).
   */
  fenceMs?: number;
}

/** What the responder needs from the CA: its issuers and their keys (CertificateAuthority). */
export interface OcspCaPort {
  issuers(): Promise<IssuerRow[]>;
  key(uri: string): Promise<SigningKey>;
}

/** An answer for the HTTP layer: always HTTP 200 with `application/ocsp-response` (RFC 6960 A.1). */
export interface OcspHttpAnswer {
  body: Buffer;
  headers: Record<string, string>;
  /** The OCSP outcome, for metrics and logs: a CertStatus, `mixed`, or an error status. */
  outcome: string;
  /** Strong ETag of a cacheable response, for If-None-Match on GET. */
  etag?: string;
}

interface ServedIssuer {
  indexed: IndexedIssuer;
  responder: OcspResponder;
  /** Delegated responses carry the signer's certificate (RFC 6960 §4.2.2.2); the CA's need none. */
  includeCerts: boolean;
  /** nextUpdate never goes past the signer certificate's notAfter. */
  signerNotAfter: number;
  signerId: string;
}

interface CachedResponse {
  der: Buffer;
  etag: string;
  status: CertStatus;
  statusAt: number;
  nextUpdateMs: number;
  /** When to look in the database again (a refreshed response may be there). */
  recheckAtMs: number;
  lastModified: string;
  expires: string;
}

interface RequestHit {
  k: string;
  entry: CachedResponse;
  index: IssuerIndex;
}

/** The bytes as a string key (one byte per char), without copying when already a Buffer. */
const latin1Of = (bytes: Uint8Array): string => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('latin1');

const HOUR = 3_600_000;
/** Rows the background sweep reads per run, and per query. */
const SWEEP_ROWS_PER_RUN = 50_000;
const SWEEP_PAGE = 1_000;
/** How long a registry status read for a live answer is reused (the change feed invalidates it sooner). */
const STATUS_CACHE_MS = 5 * 60_000;
const VARIANTS = ['sha1', 'sha1-noparams', 'sha256', 'sha256-noparams', 'sha384', 'sha384-noparams', 'sha512', 'sha512-noparams'];
const REFRESH_LEASE = 'ocsp-refresh';

/** RFC 6960 §2.2: hold is `revoked` with reason certificateHold; `unspecified` is left out (RFC 5280 §5.3.1). */
export function certStatusOf(s: Pick<OcspCertificateStatus, 'status' | 'revokedAt' | 'reason'>): CertStatus {
  if (s.status === 'good') return { status: 'good' };
  const revokedAt = s.revokedAt ?? new Date(0);
  if (s.status === 'hold') return { status: 'revoked', revokedAt, reason: 'certificateHold' };
  const reason = s.reason && s.reason !== 'unspecified' ? s.reason : undefined;
  return reason ? { status: 'revoked', revokedAt, reason } : { status: 'revoked', revokedAt };
}

class InflightLimit {
  private running = 0;
  constructor(private readonly max: number) {}
  /** Runs `work` if a slot is free, else returns undefined (the caller answers tryLater). */
  async run<T>(work: () => Promise<T>): Promise<T | undefined> {
    if (this.running >= this.max) return undefined;
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
    }
  }
}

export class OcspResponderService {
  private index = new IssuerIndex([]);
  private served = new Map<string, ServedIssuer>();
  private readonly cache = new Map<string, CachedResponse>();
  /**
   * Registry statuses read for live (nonce) answers, by `issuerId/serial`, so a client that always
   * sends a nonce costs one database read per certificate, not one per request. Invalidated with
   * the response cache by the change feed; `unknown` is never kept (the certificate may be issued
   * next); entries expire after STATUS_CACHE_MS in any case.
   */
  private readonly statusCache = new Map<string, { status: CertStatus; untilMs: number }>();
  /** Background runs in progress (timers, the first pre-signing pass): close() waits for them. */
  private readonly background = new Set<Promise<void>>();
  /** Where the background sweep goes on from (null: from the start). */
  private sweepAfter: { issuerId: string; serial: string } | null = null;
  /**
   * Requests answered from a pre-signed response, by their exact bytes (POST, latin1) or raw path
   * (GET), to the cache key and entry they resolved to: most clients send the same bytes for a
   * certificate every time, so a repeat skips parsing and issuer matching. A hit counts only while
   * that entry is still the cached one (an invalidation replaces or drops it) and the issuer index
   * is the one it was resolved against. Bounded like the response cache.
   */
  private readonly byRequest = { post: new Map<string, RequestHit>(), get: new Map<string, RequestHit>() };
  /** Single flight: concurrent misses of one key share one database read or signing. */
  private readonly pending = new Map<string, Promise<OcspHttpAnswer | CachedResponse>>();
  /** Bumped by every invalidation: a read that started before one does not fill the cache. */
  private epoch = 0;
  private readonly limit: InflightLimit;
  private appliedChange = 0;
  /** Local time at which the last successful feed read started; too old → fenced. */
  private lastSyncAt = 0;
  private readonly fenceMs: number;
  private readonly aliveMs: number;
  private readonly nodeId = randomUUID();
  private readonly description: string;
  private readonly timers: NodeJS.Timeout[] = [];
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private listener: { close(): Promise<void> } | null = null;
  private closed = false;
  private fencedLogged = false;

  constructor(
    private readonly deps: {
      repo: OcspRepository;
      ca: OcspCaPort;
      clock: Clock;
      log: Logger;
      config: OcspConfig;
      role: string;
      /** LISTEN for change ids (PostgreSQL); null on the embedded database, which polls only. */
      listen?: (onChange: (changeId: number | null) => void) => { close(): Promise<void> } | null;
    },
  ) {
    this.limit = new InflightLimit(deps.config.maxInflightSignings);
    this.fenceMs = Math.max(3 * deps.config.changePollMs, deps.config.fenceMs ?? 3_000);
    // The other nodes stop waiting for this one only after it has stopped answering.
    this.aliveMs = this.fenceMs + 2_000;
    this.description = `${hostname()} pid ${process.pid} role ${deps.role}`;
  }

  private get log() {
    return this.deps.log;
  }

  private now(): Date {
    return this.deps.clock.now();
  }

  // ── lifecycle ────────────────────────────────────────────────────────────────────────────
  async start(): Promise<void> {
    await this.reloadIssuers();
    this.appliedChange = await this.deps.repo.latestChange();
    await this.deps.repo.heartbeat(this.nodeId, this.description, this.appliedChange);
    this.lastSyncAt = Date.now();
    this.listener =
      this.deps.listen?.(() => {
        this.sync().catch((err: unknown) => this.log.warn({ err }, 'OCSP change feed read failed'));
      }) ?? null;
    // Background work is tracked so that close() waits for it: the database closes right after.
    const background = (task: () => Promise<unknown>, what: string): Promise<void> => {
      const run = task()
        .then(() => undefined)
        .catch((err: unknown) => {
          if (!this.closed) this.log.warn({ err }, what);
        })
        .finally(() => this.background.delete(run));
      this.background.add(run);
      return run;
    };
    const every = (ms: number, task: () => Promise<unknown>, what: string) => {
      // A run that outlasts the interval is not joined by another one (with a million
      // certificates a pre-signing run can take longer than its interval).
      let running: Promise<void> | null = null;
      const timer = setInterval(() => {
        if (running || this.closed) return;
        running = background(task, what).finally(() => {
          running = null;
        });
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.deps.config.changePollMs, () => this.sync(), 'OCSP change feed read failed');
    every(this.deps.config.refreshIntervalSeconds * 1000, () => this.refreshDue(), 'OCSP pre-signing failed');
    every(60_000, () => this.reloadIssuers(), 'OCSP issuer reload failed');
    // First pre-signing pass in the background: the node answers meanwhile (signing on demand).
    // Then the stored responses are loaded into memory, so the node keeps answering through a
    // database restart (up to the fence) for every certificate, not only those asked already.
    setImmediate(() => {
      if (!this.closed) {
        void background(async () => {
          try {
            await this.refreshDue();
          } finally {
            if (!this.closed) await this.warmCache();
          }
        }, 'OCSP pre-signing failed');
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.listener?.close();
    await this.syncing?.catch(() => undefined);
    // Runs check `closed` between steps, so this is at most one page or one batch of signatures.
    await Promise.allSettled([...this.background]);
    await this.deps.repo.removeNode(this.nodeId).catch(() => undefined);
    await this.deps.repo.releaseLease(REFRESH_LEASE, this.nodeId).catch(() => undefined);
  }

  /**
   * The issuing CAs we answer for (active, and retired ones whose certificates may still be
   * valid) and who signs for each: the newest valid delegated signer, or the CA key itself.
   */
  async reloadIssuers(): Promise<void> {
    const rows = await this.deps.ca.issuers();
    const now = this.now().getTime();
    const served = new Map<string, ServedIssuer>();
    for (const row of rows) {
      if (row.role !== 'issuing' || row.status === 'pending' || !row.certificate || !row.keyUri) continue;
      let signerRow: IssuerRow = row;
      if (this.deps.config.signer === 'delegated') {
        const signers = rows
          .filter((s) => s.role === 'ocsp-signer' && s.parentId === row.id && s.status === 'active' && s.certificate && s.keyUri)
          .filter((s) => {
            const facts = certificateFacts(parseCertificate(s.certificate!).certificate);
            return facts.notBefore.getTime() <= now && facts.notAfter.getTime() > now + HOUR;
          });
        const newest = signers[signers.length - 1];
        if (newest) signerRow = newest;
        else this.log.warn({ issuer: row.id }, 'no valid delegated OCSP signer: signing with the CA key (`tinnhiem ca` renews the signer)');
      }
      const key = await this.deps.ca.key(signerRow.keyUri!);
      const subtle = key.crypto.subtle === (webcrypto.subtle as SubtleCrypto) ? undefined : key.crypto.subtle;
      const signer = webCryptoSigner(key.privateKey, { subtle });
      const delegated = signerRow !== row;
      served.set(row.id, {
        indexed: undefined as unknown as IndexedIssuer,
        responder: prepareResponder({ certificate: signerRow.certificate!, signer }),
        includeCerts: delegated,
        signerNotAfter: certificateFacts(parseCertificate(signerRow.certificate!).certificate).notAfter.getTime(),
        signerId: signerRow.id,
      });
    }
    const index = new IssuerIndex(rows.filter((r) => served.has(r.id)).map((r) => issuerFromCertificate(r.id, r.certificate!)));
    for (const issuer of index.issuers) served.get(issuer.id)!.indexed = issuer;
    this.index = index;
    this.served = served;
  }

  /** Issuer ids answered for, and who signs for them (for `tinnhiem` commands and logs). */
  describe(): Array<{ issuer: string; signer: string; signerNotAfter: string }> {
    return [...this.served.entries()].map(([issuer, s]) => ({ issuer, signer: s.signerId, signerNotAfter: new Date(s.signerNotAfter).toISOString() }));
  }

  // ── answering ────────────────────────────────────────────────────────────────────────────
  /** POST body (already size- and type-checked by the router). */
  answerPost(body: Uint8Array): Promise<OcspHttpAnswer> {
    const raw = latin1Of(body);
    const remembered = this.fromMemory(raw, false);
    if (remembered) return Promise.resolve(remembered);
    const parsed = parseOcspRequest(body);
    if (!parsed.ok) return Promise.resolve(this.error('malformedRequest'));
    return this.answer(parsed.request, false, raw);
  }

  /** GET: the raw path after `/ocsp/` (RFC 6960 appendix A.1). */
  answerGet(path: string): Promise<OcspHttpAnswer> {
    const remembered = this.fromMemory(path, true);
    if (remembered) return Promise.resolve(remembered);
    const parsed = parseGetRequest(path);
    if (!parsed.ok) return Promise.resolve(this.error('malformedRequest'));
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
    if (this.closed || this.fenced()) return undefined;
    const hit = (get ? this.byRequest.get : this.byRequest.post).get(raw);
    if (!hit || hit.index !== this.index || this.cache.get(hit.k) !== hit.entry) return undefined;
    const nowMs = this.now().getTime();
    if (nowMs >= hit.entry.recheckAtMs || nowMs >= hit.entry.nextUpdateMs) return undefined;
    this.touch(hit.k, hit.entry);
    return this.fromCached(hit.entry, get, nowMs);
  }

  /**
   * Least recently used goes first: a hit moves to the end, but only once the cache is full, when
   * the order decides what is evicted (a delete and re-insert per hit costs more than the lookup).
   */
  private touch(k: string, entry: CachedResponse): void {
    if (this.cache.size < this.deps.config.cacheEntries) return;
    this.cache.delete(k);
    this.cache.set(k, entry);
  }

  private rememberRequest(get: boolean, raw: string, k: string, entry: CachedResponse): void {
    const capacity = this.deps.config.cacheEntries;
    if (capacity <= 0) return;
    const map = get ? this.byRequest.get : this.byRequest.post;
    map.delete(raw);
    map.set(raw, { k, entry, index: this.index });
    if (map.size > capacity) map.delete(map.keys().next().value!);
  }

  private error(status: OcspErrorStatus): OcspHttpAnswer {
    return { body: errorResponse(status), headers: { 'Cache-Control': 'no-store' }, outcome: status };
  }

  /** True while this node follows the change feed; otherwise it must not answer from its caches. */
  private fenced(): boolean {
    const fenced = Date.now() - this.lastSyncAt > this.fenceMs;
    if (fenced && !this.fencedLogged) {
      this.fencedLogged = true;
      this.log.error({ lastSyncMsAgo: Date.now() - this.lastSyncAt }, 'OCSP: cannot read the status-change feed; answering tryLater until it can');
    }
    return fenced;
  }

  /**
   * Readiness of a responder-only node (`--role ocsp`): it can answer while it follows the change
   * feed or is within the fence, even with the database down (answers come from memory).
   */
  readiness(): { ok: boolean; detail: string } {
    if (this.closed) return { ok: false, detail: 'closed' };
    if (this.fenced()) return { ok: false, detail: `change feed unread for over ${this.fenceMs} ms (answering tryLater)` };
    return { ok: true, detail: `${this.cache.size} responses in memory` };
  }

  /** `raw`: the request as received (POST bytes in latin1, GET path), remembered on a pre-signed answer. */
  async answer(request: OcspRequest, get: boolean, raw?: string): Promise<OcspHttpAnswer> {
    if (this.closed || this.fenced()) return this.error('tryLater');
    try {
      const key = presignedKey(request, this.index);
      // A negative serial (RFC 5280 §4.1.2.2 forbids them) is nobody's: answered live, `unknown`.
      if (!key || key.serialHex.startsWith('-')) return await this.live(request, get);
      const k = `${key.issuerId}/${key.serialHex}/${key.variant}`;
      const nowMs = this.now().getTime();
      const hit = this.cache.get(k);
      if (hit && nowMs < hit.recheckAtMs && nowMs < hit.nextUpdateMs) {
        this.touch(k, hit);
        if (raw !== undefined) this.rememberRequest(get, raw, k, hit);
        return this.fromCached(hit, get, nowMs);
      }
      // Past its recheck time a cached response is still valid until nextUpdate: it is looked up
      // again below, and served as it is if the database cannot be reached.
      const fallback = hit && nowMs < hit.nextUpdateMs ? hit : undefined;
      let work = this.pending.get(k);
      if (!work) {
        work = this.loadOrSign(key, k).finally(() => {
          if (this.pending.get(k) === work) this.pending.delete(k);
        });
        this.pending.set(k, work);
      }
      let result: OcspHttpAnswer | CachedResponse;
      try {
        result = await work;
      } catch (err) {
        if (fallback && isDatabaseUnavailable(err)) return this.fromCached(fallback, get, this.now().getTime());
        throw err;
      }
      if (!('der' in result)) return result;
      // Remembered only if it went into the cache (not when an invalidation overtook the read).
      if (raw !== undefined && this.cache.get(k) === result) this.rememberRequest(get, raw, k, result);
      return this.fromCached(result, get, this.now().getTime());
    } catch (err) {
      // RFC 6960 §2.3: tryLater is the answer for a responder that cannot answer now (its
      // database restarting); internalError for a fault of its own.
      if (isDatabaseUnavailable(err)) return this.error('tryLater');
      this.log.error({ err }, 'OCSP request failed');
      return this.error('internalError');
    }
  }

  private fromCached(entry: CachedResponse, get: boolean, nowMs: number): OcspHttpAnswer {
    const outcome = entry.status.status;
    if (!get) return { body: entry.der, headers: {}, outcome };
    // RFC 5019 §6.2: max-age no later than nextUpdate; capped so HTTP caches come back after a revocation.
    let maxAge = Math.max(0, Math.floor((entry.nextUpdateMs - nowMs) / 1000));
    if (this.deps.config.maxAgeSeconds > 0) maxAge = Math.min(maxAge, this.deps.config.maxAgeSeconds);
    return {
      body: entry.der,
      etag: entry.etag,
      outcome,
      headers: {
        'Cache-Control': `max-age=${maxAge}, public, no-transform, must-revalidate`,
        'Last-Modified': entry.lastModified,
        Expires: entry.expires,
        ETag: entry.etag,
      },
    };
  }

  private remember(k: string, entry: CachedResponse): void {
    const capacity = this.deps.config.cacheEntries;
    if (capacity <= 0) return;
    this.cache.delete(k);
    this.cache.set(k, entry);
    if (this.cache.size > capacity) this.cache.delete(this.cache.keys().next().value!);
  }

  private rememberStatus(k: string, status: CertStatus, untilMs: number): void {
    const capacity = this.deps.config.cacheEntries;
    if (capacity <= 0) return;
    this.statusCache.delete(k);
    this.statusCache.set(k, { status, untilMs });
    if (this.statusCache.size > capacity) this.statusCache.delete(this.statusCache.keys().next().value!);
  }

  private cachedFromStored(row: Pick<StoredOcspResponse, 'der' | 'statusAt' | 'thisUpdate' | 'nextUpdate' | 'refreshAt'>, status: CertStatus): CachedResponse {
    const nowMs = this.now().getTime();
    return {
      der: row.der,
      etag: etagOf(row.der),
      status,
      statusAt: row.statusAt.getTime(),
      nextUpdateMs: row.nextUpdate.getTime(),
      // Past half-life the job re-signs; look again then, or in a minute if it is late.
      recheckAtMs: Math.min(row.nextUpdate.getTime(), Math.max(row.refreshAt.getTime(), nowMs + 60_000)),
      lastModified: row.thisUpdate.toUTCString(),
      expires: row.nextUpdate.toUTCString(),
    };
  }

  /** A cache miss on a pre-signable key: the stored response, else sign one from the registry. */
  private async loadOrSign(key: PresignedKey, k: string): Promise<OcspHttpAnswer | CachedResponse> {
    const epoch = this.epoch;
    const issuer = this.served.get(key.issuerId);
    if (!issuer) return this.error('unauthorized');
    const nowMs = this.now().getTime();
    if (key.variant === 'sha1') {
      const row = await this.deps.repo.response(key.issuerId, key.serialHex, 'sha1');
      if (row && row.nextUpdate.getTime() > nowMs + 60_000) {
        const entry = this.cachedFromStored(row, certStatusOf(row));
        if (this.epoch === epoch) this.remember(k, entry);
        return entry;
      }
    }
    const statuses = await this.deps.repo.statuses(key.issuerId, [key.serialHex]);
    const st = statuses.get(key.serialHex);
    if (!st) return this.signLiveUnknown(key, issuer);
    const signed = await this.signStatus(issuer, st, key.hash, key.hashParams, key.variant);
    if (!signed) return this.error('tryLater');
    if (key.variant === 'sha1') {
      const stored = await this.deps.repo.store([signed.row]);
      if (!stored.has(k)) {
        // A response from a newer status was stored meanwhile: serve that one.
        const row = await this.deps.repo.response(key.issuerId, key.serialHex, 'sha1');
        if (row) return this.cachedFromStored(row, certStatusOf(row));
      }
    }
    if (this.epoch === epoch) this.remember(k, signed.entry);
    return signed.entry;
  }

  /** `unknown` (RFC 6960 §2.2) for a serial we never issued: signed live, never cached (no nextUpdate). */
  private async signLiveUnknown(key: PresignedKey, issuer: ServedIssuer): Promise<OcspHttpAnswer> {
    const now = this.now();
    const certId = certIdFor(issuer.indexed, key.serialHex, key.hash, key.hashParams);
    const signed = await this.limit.run(() =>
      buildBasicResponse({ responder: issuer.responder, producedAt: now, responses: [{ certId, status: { status: 'unknown' }, thisUpdate: now }], includeCerts: issuer.includeCerts }),
    );
    if (!signed) return this.error('tryLater');
    return { body: signed.der, headers: { 'Cache-Control': 'no-store' }, outcome: 'unknown' };
  }

  private validity(issuer: ServedIssuer, now: Date): { thisUpdate: Date; nextUpdate: Date; refreshAt: Date } {
    const thisUpdate = now;
    const next = Math.min(now.getTime() + this.deps.config.validityHours * HOUR, issuer.signerNotAfter);
    const nextUpdate = new Date(Math.max(next, now.getTime() + 60_000));
    return { thisUpdate, nextUpdate, refreshAt: new Date(now.getTime() + (nextUpdate.getTime() - now.getTime()) / 2) };
  }

  /** Signs one certificate's response for one variant; undefined when the in-flight bound is reached. */
  private async signStatus(
    issuer: ServedIssuer,
    st: OcspCertificateStatus,
    hash: PresignedKey['hash'],
    hashParams: PresignedKey['hashParams'],
    variant: string,
    bounded = true,
  ): Promise<{ row: StoredOcspResponse; entry: CachedResponse } | undefined> {
    const now = this.now();
    const { thisUpdate, nextUpdate, refreshAt } = this.validity(issuer, now);
    const status = certStatusOf(st);
    const sign = () =>
      presignResponse({ issuer: issuer.indexed, serial: st.serial, status, thisUpdate, nextUpdate, hash, hashParams, responder: issuer.responder, producedAt: now, includeCerts: issuer.includeCerts });
    const signed = bounded ? await this.limit.run(sign) : await sign();
    if (!signed) return undefined;
    const row: StoredOcspResponse = {
      issuerId: st.issuerId,
      serial: st.serial,
      variant,
      der: signed.der,
      status: st.status,
      revokedAt: st.revokedAt,
      reason: st.reason,
      statusAt: st.statusAt,
      thisUpdate,
      nextUpdate,
      producedAt: now,
      refreshAt,
    };
    return { row, entry: { ...this.cachedFromStored(row, status), etag: signed.etag } };
  }

  /** Several CertIDs, a nonce, or an unusual CertID: one response signed now. */
  private async live(request: OcspRequest, get: boolean): Promise<OcspHttpAnswer> {
    const match = matchRequest(request, this.index);
    // RFC 6960 §2.3: no CertID names a CA we answer for.
    if (!match.ok) return this.error('unauthorized');
    const issuer = this.served.get(match.issuer.id)!;
    const nowMs = this.now().getTime();
    const known = new Map<string, CertStatus>();
    const missing: string[] = [];
    for (const e of match.entries) {
      if (!e.served) continue;
      const cached = this.cache.get(`${match.issuer.id}/${e.certId.serialHex}/sha1`);
      const read = this.statusCache.get(`${match.issuer.id}/${e.certId.serialHex}`);
      if (cached && nowMs < cached.nextUpdateMs) known.set(e.certId.serialHex, cached.status);
      else if (read && nowMs < read.untilMs) known.set(e.certId.serialHex, read.status);
      else missing.push(e.certId.serialHex);
    }
    if (missing.length) {
      const epoch = this.epoch;
      for (const [serial, st] of await this.deps.repo.statuses(match.issuer.id, missing)) {
        const status = certStatusOf(st);
        known.set(serial, status);
        if (this.epoch === epoch) this.rememberStatus(`${match.issuer.id}/${serial}`, status, nowMs + STATUS_CACHE_MS);
      }
    }
    const now = this.now();
    const { thisUpdate, nextUpdate } = this.validity(issuer, now);
    const responses = match.entries.map((e) => {
      const status = (e.served && known.get(e.certId.serialHex)) || ({ status: 'unknown' } as const);
      // An `unknown` carries no nextUpdate: the certificate may be about to be issued.
      return { certId: e.certId, status, thisUpdate, nextUpdate: status.status === 'unknown' ? undefined : nextUpdate };
    });
    const signed = await this.limit.run(() => buildBasicResponse({ responder: issuer.responder, producedAt: now, responses, nonce: request.nonce, includeCerts: issuer.includeCerts }));
    if (!signed) return this.error('tryLater');
    const outcomes = new Set(responses.map((r) => r.status.status));
    const outcome = outcomes.size === 1 ? [...outcomes][0] : 'mixed';
    if (signed.hasNonce || !signed.nextUpdate || !get) return { body: signed.der, headers: get ? { 'Cache-Control': 'no-store' } : {}, outcome };
    const entry = this.cachedFromStored({ der: signed.der, statusAt: new Date(0), thisUpdate: signed.thisUpdate, nextUpdate: signed.nextUpdate, refreshAt: signed.nextUpdate }, responses[0].status);
    return { ...this.fromCached({ ...entry, etag: signed.etag }, true, nowMs), outcome };
  }

  // ── status changes ───────────────────────────────────────────────────────────────────────
  private invalidate(issuerId: string, serial: string): void {
    this.epoch++;
    this.statusCache.delete(`${issuerId}/${serial}`);
    for (const v of VARIANTS) {
      const k = `${issuerId}/${serial}/${v}`;
      this.cache.delete(k);
      this.pending.delete(k);
    }
  }

  /**
   * The CA's status-change listener: runs after the change committed and before the revoke, hold
   * or release call returns. Re-signs the `sha1` response from the new status, swaps it in here,
   * announces the change and waits until every live node has applied it.
   */
  async onStatusChange(cert: CertificateRecord): Promise<void> {
    if (cert.statusSource !== 'registry') return;
    const issuer = this.served.get(cert.issuerId);
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
        const signed = await this.signStatus(issuer, st, 'sha1', 'null', 'sha1', false);
        const stored = await this.deps.repo.store([signed!.row]);
        if (stored.size) entry = signed!.entry;
      }
    } catch (err) {
      this.log.error({ err, serial: cert.serial }, 'OCSP: could not re-sign after a status change; dropping the stored response so nodes sign from the registry');
    }
    if (!entry) await this.deps.repo.deleteResponses(cert.issuerId, cert.serial);
    this.invalidate(cert.issuerId, cert.serial);
    if (entry) this.remember(`${cert.issuerId}/${cert.serial}/sha1`, entry);
    const changeId = await this.deps.repo.recordChange(cert.issuerId, cert.serial, this.now());
    await this.awaitPropagation(changeId);
  }

  private async awaitPropagation(changeId: number): Promise<void> {
    const started = Date.now();
    // Never give up on a silent node before it has fenced itself (its heartbeat older than aliveMs).
    const timeoutMs = Math.max(this.deps.config.propagationTimeoutMs, this.aliveMs);
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const lagging = await this.deps.repo.lagging(this.nodeId, changeId, this.aliveMs);
      if (lagging.length === 0) return;
      if (Date.now() - started > timeoutMs) {
        this.log.error({ changeId, lagging }, 'OCSP: nodes did not confirm a status change in time; they stop answering once their feed is stale');
        return;
      }
      await sleep(delay);
    }
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
          const started = Date.now();
          for (;;) {
            const changes = await this.deps.repo.changesAfter(this.appliedChange);
            for (const c of changes) {
              this.invalidate(c.issuerId, c.serial);
              this.appliedChange = c.id;
            }
            if (changes.length < 1000) break;
          }
          await this.deps.repo.heartbeat(this.nodeId, this.description, this.appliedChange);
          this.lastSyncAt = started;
          if (this.fencedLogged) {
            this.fencedLogged = false;
            this.log.info('OCSP: following the status-change feed again');
          }
        } while (this.syncAgain && !this.closed);
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  // ── pre-signing ──────────────────────────────────────────────────────────────────────────
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
    if (this.closed) return 0;
    const repo = this.deps.repo;
    const leaseMs = Math.max(this.deps.config.refreshIntervalSeconds * 3000, 60_000);
    if (!(await repo.tryLease(REFRESH_LEASE, this.nodeId, leaseMs))) return 0;
    const issuers = [...this.served.keys()];
    const now = this.now();
    let epoch = this.epoch;
    const due = await repo.dueForRefresh(issuers, now, limit);
    await this.signAndStore(due, epoch);
    let signed = due.length;
    let swept = 0;
    while (signed < limit && swept < SWEEP_ROWS_PER_RUN && !this.closed) {
      epoch = this.epoch;
      const pageSize = Math.min(SWEEP_PAGE, SWEEP_ROWS_PER_RUN - swept);
      const page = await repo.unsignedPage(issuers, now, this.sweepAfter, pageSize);
      const part = page.due.slice(0, limit - signed);
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
    if (signed < limit) {
      // Housekeeping when caught up.
      await repo.deleteStale(now);
      await repo.pruneChanges(new Date(now.getTime() - 24 * HOUR));
      await repo.pruneNodes(HOUR);
    }
    return signed;
  }

  /**
   * Signs `due` in chunks, stores the responses, and refreshes the ones this node has in memory,
   * unless an invalidation came after `epoch` (read before `due` was).
   */
  private async signAndStore(due: readonly OcspCertificateStatus[], epoch: number): Promise<void> {
    const chunk = 256;
    for (let i = 0; i < due.length && !this.closed; i += chunk) {
      const part = due.slice(i, i + chunk);
      const signed = await Promise.all(part.map((st) => this.signStatus(this.served.get(st.issuerId)!, st, 'sha1', 'null', 'sha1', false)));
      const rows = signed.map((s) => s!.row);
      const stored = await this.deps.repo.store(rows);
      if (this.epoch === epoch) {
        for (const s of signed) {
          const k = `${s!.row.issuerId}/${s!.row.serial}/sha1`;
          // Kept in memory while there is room (a province's whole registry fits), so that the
          // node holding the job's lease can answer for new certificates through a restart too.
          if (stored.has(k) && (this.cache.has(k) || this.cache.size < this.deps.config.cacheEntries)) this.remember(k, s!.entry);
        }
      }
    }
  }

  /**
   * Loads stored `sha1` responses into memory until the cache is full (OCSP_CACHE_ENTRIES), in key
   * order, without replacing what is there. Responses change only through the change feed and
   * re-signing, which keep the cache current, so a warm node answers from memory alone while the
   * database restarts. Returns how many it loaded.
   */
  async warmCache(): Promise<number> {
    const capacity = this.deps.config.cacheEntries;
    let loaded = 0;
    let after: { issuerId: string; serial: string } | null = null;
    while (!this.closed && this.cache.size < capacity) {
      const epoch = this.epoch;
      const now = this.now();
      const page = await this.deps.repo.storedPage(after, new Date(now.getTime() + 60_000), Math.min(SWEEP_PAGE, capacity - this.cache.size));
      // A change read meanwhile may have dropped one of these: read the page again.
      if (this.epoch !== epoch) continue;
      for (const row of page) {
        const k = `${row.issuerId}/${row.serial}/sha1`;
        if (this.served.has(row.issuerId) && !this.cache.has(k)) {
          this.remember(k, this.cachedFromStored(row, certStatusOf(row)));
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
    let after: { issuerId: string; serial: string } | null = null;
    do {
      const epoch = this.epoch;
      const page = await this.deps.repo.unsignedPage([...this.served.keys()], this.now(), after, this.deps.config.refreshBatch);
      await this.signAndStore(page.due, epoch);
      total += page.due.length;
      onProgress?.(total);
      after = page.next;
    } while (after && !this.closed);
    return total;
  }
}
