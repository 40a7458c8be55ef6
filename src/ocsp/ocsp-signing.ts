/**
 * Signing responses with the chosen signers: their validity window (OCSP_VALIDITY_HOURS, never
 * past the signer's notAfter, re-signed at half-life) and the bound on signings in flight
 * (OCSP_MAX_INFLIGHT_SIGNINGS; past it the caller answers `tryLater`, RFC 6960 §2.3).
 */
import { buildBasicResponse, type BuildBasicResponseInput, type CertStatus, type PresignedKey, presignResponse, type SignedOcspResponse } from '../../ca/status/ocsp/index.js';
import type { Clock } from '../lifecycle/clock.js';
import type { OcspCertificateStatus, StoredOcspResponse } from '../storage/ocsp-repository.js';
import { type CachedResponse, cachedFromStored, certStatusOf, HOUR, type OcspConfig } from './ocsp-model.js';
import type { ServedIssuer } from './ocsp-signers.js';

/** A response signed from a registry status: the row to store and the entry to keep in memory. */
export interface SignedStatus {
  row: StoredOcspResponse;
  entry: CachedResponse;
}

interface SigningPlan {
  now: Date;
  thisUpdate: Date;
  nextUpdate: Date;
  refreshAt: Date;
  status: CertStatus;
  sign(): Promise<SignedOcspResponse>;
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

export class OcspSigning {
  private readonly limit: InflightLimit;

  constructor(private readonly deps: { clock: Clock; config: OcspConfig }) {
    this.limit = new InflightLimit(deps.config.maxInflightSignings);
  }

  validity(issuer: ServedIssuer, now: Date): { thisUpdate: Date; nextUpdate: Date; refreshAt: Date } {
    const thisUpdate = now;
    const next = Math.min(now.getTime() + this.deps.config.validityHours * HOUR, issuer.signerNotAfter);
    const nextUpdate = new Date(Math.max(next, now.getTime() + 60_000));
    return { thisUpdate, nextUpdate, refreshAt: new Date(now.getTime() + (nextUpdate.getTime() - now.getTime()) / 2) };
  }

  /** One response signed now (live answers), within the in-flight bound: undefined past it. */
  signLive(input: BuildBasicResponseInput): Promise<SignedOcspResponse | undefined> {
    return this.limit.run(() => buildBasicResponse(input));
  }

  /** Signs one certificate's response for one variant, within the in-flight bound: undefined past it. */
  async trySignStatus(issuer: ServedIssuer, st: OcspCertificateStatus, hash: PresignedKey['hash'], hashParams: PresignedKey['hashParams'], variant: string): Promise<SignedStatus | undefined> {
    const plan = this.plan(issuer, st, hash, hashParams);
    const signed = await this.limit.run(plan.sign);
    if (!signed) return undefined;
    return this.signedStatus(st, variant, plan, signed);
  }

  /** The `sha1` response, outside the in-flight bound (the background job, a status change). */
  async signSha1(issuer: ServedIssuer, st: OcspCertificateStatus): Promise<SignedStatus> {
    const plan = this.plan(issuer, st, 'sha1', 'null');
    return this.signedStatus(st, 'sha1', plan, await plan.sign());
  }

  /** What one certificate's response says, signed from now, and how to sign it. */
  private plan(issuer: ServedIssuer, st: OcspCertificateStatus, hash: PresignedKey['hash'], hashParams: PresignedKey['hashParams']): SigningPlan {
    const now = this.deps.clock.now();
    const { thisUpdate, nextUpdate, refreshAt } = this.validity(issuer, now);
    const status = certStatusOf(st);
    const sign = () =>
      presignResponse({ issuer: issuer.indexed, serial: st.serial, status, thisUpdate, nextUpdate, hash, hashParams, responder: issuer.responder, producedAt: now, includeCerts: issuer.includeCerts });
    return { now, thisUpdate, nextUpdate, refreshAt, status, sign };
  }

  private signedStatus(st: OcspCertificateStatus, variant: string, plan: SigningPlan, signed: SignedOcspResponse): SignedStatus {
    const row: StoredOcspResponse = {
      issuerId: st.issuerId,
      serial: st.serial,
      variant,
      der: signed.der,
      status: st.status,
      revokedAt: st.revokedAt,
      reason: st.reason,
      statusAt: st.statusAt,
      thisUpdate: plan.thisUpdate,
      nextUpdate: plan.nextUpdate,
      producedAt: plan.now,
      refreshAt: plan.refreshAt,
    };
    return { row, entry: { ...cachedFromStored(row, plan.status, this.deps.clock.now().getTime()), etag: signed.etag } };
  }
}
