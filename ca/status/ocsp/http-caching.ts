/** HTTP caching of OCSP responses served over GET (RFC 5019 §5, §6.2). */
import type { SignedOcspResponse } from './response.js';

export interface CachingOptions {
  /** Upper bound on max-age, e.g. to have clients come back before nextUpdate. */
  maxAgeSeconds?: number;
}

/**
 * Response headers for a served OCSP response. RFC 5019 §6.2: `max-age` no later than nextUpdate,
 * `public, no-transform, must-revalidate`; `Last-Modified` is thisUpdate, `Expires` nextUpdate,
 * `ETag` a digest of the bytes. A response echoing a nonce, or lacking nextUpdate, is for one
 * client only: `no-store`.
 */
export function ocspCacheHeaders(response: SignedOcspResponse, now: Date, options: CachingOptions = {}): Record<string, string> {
  if (response.hasNonce || !response.nextUpdate) return { 'Cache-Control': 'no-store', ETag: response.etag };
  let maxAge = Math.max(0, Math.floor((response.nextUpdate.getTime() - now.getTime()) / 1000));
  if (options.maxAgeSeconds !== undefined) maxAge = Math.min(maxAge, Math.max(0, Math.floor(options.maxAgeSeconds)));
  return {
    'Cache-Control': `max-age=${maxAge}, public, no-transform, must-revalidate`,
    'Last-Modified': response.thisUpdate.toUTCString(),
    Expires: response.nextUpdate.toUTCString(),
    ETag: response.etag,
  };
}
