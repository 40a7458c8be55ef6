import { AppError } from '../errors/app-error.js';
import type { StatusChange } from '../../ca/ports.js';
import type { CertificateRecord, RevocationReasonName } from '../../ca/records.js';
import { BLOCKING_REASONS } from './key-guard.js';

export interface StatusRequest {
  action: 'revoke' | 'hold' | 'release';
  reason?: RevocationReasonName;
  invalidityDate?: Date | null;
}

/**
 * The next status of a certificate (RFC 5280 §5.3.1). A revoked certificate stays revoked, with
 * one exception: its reason may be raised to keyCompromise or cACompromise when the key turns out
 * compromised later (CA/B Forum BR §4.9.1.1, §7.2.2); the revocation date stays, an invalidity
 * date may be added. `raisedFrom` names the reason it replaces.
 */
export function nextStatus(current: CertificateRecord, params: StatusRequest, now: Date): { next: StatusChange; raisedFrom?: RevocationReasonName } {
  if (current.source === 'imported') throw new AppError('conflict', `certificate ${current.serial} was issued by another CA: revoke it there`);
  if (params.invalidityDate && params.invalidityDate > now) throw new AppError('validationFailed', 'the invalidity date cannot be in the future');
  if (current.status === 'revoked') {
    const raising = params.action === 'revoke' && params.reason && BLOCKING_REASONS.includes(params.reason) && !BLOCKING_REASONS.includes(current.revocationReason!);
    if (!raising) throw new AppError('conflict', `certificate ${current.serial} is already revoked (${current.revocationReason}); only its reason may be raised to keyCompromise or cACompromise`);
    return {
      next: { status: 'revoked', revokedAt: current.revokedAt, reason: params.reason!, invalidityDate: params.invalidityDate ?? current.invalidityDate },
      raisedFrom: current.revocationReason ?? undefined,
    };
  }
  if (current.notAfter <= now) throw new AppError('conflict', `certificate ${current.serial} expired on ${current.notAfter.toISOString()}`);
  if (params.action === 'release') {
    if (current.status !== 'hold') throw new AppError('conflict', `certificate ${current.serial} is not on hold`);
    return { next: { status: 'good', revokedAt: null, reason: null, invalidityDate: null } };
  }
  if (params.action === 'hold') {
    if (current.status === 'hold') throw new AppError('conflict', `certificate ${current.serial} is already on hold`);
    return { next: { status: 'hold', revokedAt: now, reason: 'certificateHold', invalidityDate: null } };
  }
  const reason = params.reason ?? 'unspecified';
  if (reason === 'certificateHold') throw new AppError('validationFailed', 'use hold for certificateHold');
  return { next: { status: 'revoked', revokedAt: now, reason, invalidityDate: params.invalidityDate ?? null } };
}
