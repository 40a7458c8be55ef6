/**
 * What the parts of the OCSP responder share (design in docs/ocsp.md): its configuration, the
 * CA port, the answers it gives the HTTP layer and the signed responses it keeps in memory.
 */
import { type CertStatus, errorResponse, etagOf, type OcspErrorStatus } from '../../ca/status/ocsp/index.js';
import type { SigningKey } from '../../ca/keys/key-store.js';
import type { IssuerRecord } from '../../ca/records.js';
import type { OcspCertificateStatus, StoredOcspResponse } from '../storage/ocsp-repository.js';
import { ownBytes } from '../cache/own-bytes.js';

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
  issuers(): Promise<IssuerRecord[]>;
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

/** A signed response kept in memory, with what its HTTP answer needs precomputed. */
export interface CachedResponse {
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

export const HOUR = 3_600_000;

/** RFC 6960 §2.2: hold is `revoked` with reason certificateHold; `unspecified` is left out (RFC 5280 §5.3.1). */
export function certStatusOf(s: Pick<OcspCertificateStatus, 'status' | 'revokedAt' | 'reason'>): CertStatus {
  if (s.status === 'good') return { status: 'good' };
  const revokedAt = s.revokedAt ?? new Date(0);
  if (s.status === 'hold') return { status: 'revoked', revokedAt, reason: 'certificateHold' };
  const reason = s.reason && s.reason !== 'unspecified' ? s.reason : undefined;
  return reason ? { status: 'revoked', revokedAt, reason } : { status: 'revoked', revokedAt };
}

/** An unsigned OCSP error (RFC 6960 §2.3), never cached. */
export function errorAnswer(status: OcspErrorStatus): OcspHttpAnswer {
  return { body: errorResponse(status), headers: { 'Cache-Control': 'no-store' }, outcome: status };
}

/** A stored (or just signed) response as kept in memory, read at `nowMs`. */
export function cachedFromStored(
  row: Pick<StoredOcspResponse, 'der' | 'statusAt' | 'thisUpdate' | 'nextUpdate' | 'refreshAt'>,
  status: CertStatus,
  nowMs: number,
): CachedResponse {
  return {
    // Kept for as long as the response is cached: never a view that holds an 8 KiB slab (src/cache/own-bytes.ts).
    der: ownBytes(row.der),
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

/** The HTTP answer for a cached response: POST as it is, GET with the RFC 5019 §6.2 caching headers. */
export function answerFromCached(entry: CachedResponse, get: boolean, nowMs: number, maxAgeSeconds: number): OcspHttpAnswer {
  const outcome = entry.status.status;
  if (!get) return { body: entry.der, headers: {}, outcome };
  // RFC 5019 §6.2: max-age no later than nextUpdate; capped so HTTP caches come back after a revocation.
  let maxAge = Math.max(0, Math.floor((entry.nextUpdateMs - nowMs) / 1000));
  if (maxAgeSeconds > 0) maxAge = Math.min(maxAge, maxAgeSeconds);
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
