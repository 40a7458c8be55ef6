/**
 * Responses signed per request (docs/ocsp.md, "What a client gets"): a nonce (RFC 8954), several
 * CertIDs, an unusual CertID, or a serial we never issued. All within the bound on signings in
 * flight (past it `tryLater`, RFC 6960 §2.3).
 */
import { certIdFor, type CertStatus, matchRequest, type OcspRequest, type PresignedKey } from '../../ca/status/ocsp/index.js';
import type { Clock } from '../lifecycle/clock.js';
import type { OcspRepository } from '../storage/ocsp-repository.js';
import { type OcspCache, STATUS_CACHE_MS } from './ocsp-cache.js';
import { answerFromCached, cachedFromStored, certStatusOf, errorAnswer, type OcspConfig, type OcspHttpAnswer } from './ocsp-model.js';
import type { OcspSigners, ServedIssuer } from './ocsp-signers.js';
import type { OcspSigning } from './ocsp-signing.js';

export interface LiveAnswerDeps {
  repo: OcspRepository;
  clock: Clock;
  config: OcspConfig;
  cache: OcspCache;
  signers: OcspSigners;
  signing: OcspSigning;
}

export class LiveAnswers {
  constructor(private readonly deps: LiveAnswerDeps) {}

  /** `unknown` (RFC 6960 §2.2) for a serial we never issued: signed live, never cached (no nextUpdate). */
  async unknown(key: PresignedKey, issuer: ServedIssuer): Promise<OcspHttpAnswer> {
    const now = this.deps.clock.now();
    const certId = certIdFor(issuer.indexed, key.serialHex, key.hash, key.hashParams);
    const signed = await this.deps.signing.signLive({ responder: issuer.responder, producedAt: now, responses: [{ certId, status: { status: 'unknown' }, thisUpdate: now }], includeCerts: issuer.includeCerts });
    if (!signed) return errorAnswer('tryLater');
    return { body: signed.der, headers: { 'Cache-Control': 'no-store' }, outcome: 'unknown' };
  }

  /** Several CertIDs, a nonce, or an unusual CertID: one response signed now. */
  async answer(request: OcspRequest, get: boolean): Promise<OcspHttpAnswer> {
    const { signers, signing } = this.deps;
    const match = matchRequest(request, signers.index);
    // RFC 6960 §2.3: no CertID names a CA we answer for.
    if (!match.ok) return errorAnswer('unauthorized');
    const issuer = signers.get(match.issuer.id)!;
    const nowMs = this.deps.clock.now().getTime();
    const known = await this.statuses(match.issuer.id, match.entries.filter((e) => e.served).map((e) => e.certId.serialHex), nowMs);
    const now = this.deps.clock.now();
    const { thisUpdate, nextUpdate } = signing.validity(issuer, now);
    const responses = match.entries.map((e) => {
      const status = (e.served && known.get(e.certId.serialHex)) || ({ status: 'unknown' } as const);
      // An `unknown` carries no nextUpdate: the certificate may be about to be issued.
      return { certId: e.certId, status, thisUpdate, nextUpdate: status.status === 'unknown' ? undefined : nextUpdate };
    });
    const signed = await signing.signLive({ responder: issuer.responder, producedAt: now, responses, nonce: request.nonce, includeCerts: issuer.includeCerts });
    if (!signed) return errorAnswer('tryLater');
    const outcomes = new Set(responses.map((r) => r.status.status));
    const outcome = outcomes.size === 1 ? [...outcomes][0] : 'mixed';
    if (signed.hasNonce || !signed.nextUpdate || !get) return { body: signed.der, headers: get ? { 'Cache-Control': 'no-store' } : {}, outcome };
    const entry = cachedFromStored(
      { der: signed.der, statusAt: new Date(0), thisUpdate: signed.thisUpdate, nextUpdate: signed.nextUpdate, refreshAt: signed.nextUpdate },
      responses[0].status,
      this.deps.clock.now().getTime(),
    );
    return { ...answerFromCached({ ...entry, etag: signed.etag }, true, nowMs, this.deps.config.maxAgeSeconds), outcome };
  }

  /**
   * The statuses of `serials` (those of ours) at `nowMs`: from the response cache, else the status
   * cache, else the registry (remembered unless an invalidation came meanwhile). A serial the
   * registry does not know is left out (`unknown`).
   */
  private async statuses(issuerId: string, serials: readonly string[], nowMs: number): Promise<Map<string, CertStatus>> {
    const { cache } = this.deps;
    const known = new Map<string, CertStatus>();
    const missing: string[] = [];
    for (const serial of serials) {
      const cached = cache.responses.get(`${issuerId}/${serial}/sha1`);
      const read = cache.statuses.get(`${issuerId}/${serial}`);
      if (cached && nowMs < cached.nextUpdateMs) known.set(serial, cached.status);
      else if (read && nowMs < read.untilMs) known.set(serial, read.status);
      else missing.push(serial);
    }
    if (missing.length) {
      const epoch = cache.epoch;
      for (const [serial, st] of await this.deps.repo.statuses(issuerId, missing)) {
        const status = certStatusOf(st);
        known.set(serial, status);
        if (cache.epoch === epoch) cache.statuses.set(`${issuerId}/${serial}`, { status, untilMs: nowMs + STATUS_CACHE_MS });
      }
    }
    return known;
  }
}
