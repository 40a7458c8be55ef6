/**
 * The responder's memory (docs/ocsp.md, "Pre-signing, refresh and caching"): signed responses,
 * registry statuses for live answers and remembered requests, each bounded to
 * OCSP_CACHE_ENTRIES, plus the single-flight table and the epoch that invalidation bumps.
 */
import type { CertStatus, IssuerIndex } from '../../ca/status/ocsp/index.js';
import { BoundedLru } from '../cache/bounded-lru.js';
import type { CachedResponse, OcspHttpAnswer } from './ocsp-model.js';

/** A remembered request: the cache key and entry it resolved to, against which issuer index. */
export interface RequestHit {
  k: string;
  entry: CachedResponse;
  index: IssuerIndex;
}

/** How long a registry status read for a live answer is reused (the change feed invalidates it sooner). */
export const STATUS_CACHE_MS = 5 * 60_000;

/** Every CertID variant a response may be cached under (`issuerId/serial/variant`). */
const VARIANTS = ['sha1', 'sha1-noparams', 'sha256', 'sha256-noparams', 'sha384', 'sha384-noparams', 'sha512', 'sha512-noparams'];

export class OcspCache {
  /** Signed responses by `issuerId/serial/variant`, least recently used evicted first. */
  readonly responses: BoundedLru<string, CachedResponse>;
  /**
   * Registry statuses read for live (nonce) answers, by `issuerId/serial`, so a client that always
   * sends a nonce costs one database read per certificate, not one per request. Invalidated with
   * the response cache by the change feed; `unknown` is never kept (the certificate may be issued
   * next); entries expire after STATUS_CACHE_MS in any case.
   */
  readonly statuses: BoundedLru<string, { status: CertStatus; untilMs: number }>;
  /**
   * Requests answered from a pre-signed response, by their exact bytes (POST, latin1) or raw path
   * (GET), to the cache key and entry they resolved to: most clients send the same bytes for a
   * certificate every time, so a repeat skips parsing and issuer matching. A hit counts only while
   * that entry is still the cached one (an invalidation replaces or drops it) and the issuer index
   * is the one it was resolved against. Bounded like the response cache.
   */
  readonly requests: { post: BoundedLru<string, RequestHit>; get: BoundedLru<string, RequestHit> };
  /** Single flight: concurrent misses of one key share one database read or signing. */
  readonly pending = new Map<string, Promise<OcspHttpAnswer | CachedResponse>>();
  /** Bumped by every invalidation: a read that started before one does not fill the cache. */
  epoch = 0;

  constructor(capacity: number) {
    this.responses = new BoundedLru(capacity, 'OCSP responses');
    this.statuses = new BoundedLru(capacity, 'OCSP statuses');
    this.requests = { post: new BoundedLru(capacity, 'OCSP requests'), get: new BoundedLru(capacity, 'OCSP requests') };
  }

  /** `raw`: the request as received (POST bytes in latin1, GET path). */
  rememberRequest(get: boolean, raw: string, k: string, entry: CachedResponse, index: IssuerIndex): void {
    (get ? this.requests.get : this.requests.post).set(raw, { k, entry, index });
  }

  /** Drops everything known about one certificate (a status change, here or on another node). */
  invalidate(issuerId: string, serial: string): void {
    this.epoch++;
    this.statuses.delete(`${issuerId}/${serial}`);
    for (const v of VARIANTS) {
      const k = `${issuerId}/${serial}/${v}`;
      this.responses.delete(k);
      this.pending.delete(k);
    }
  }
}
