import { createHash } from 'node:crypto';
import { AppError } from '../errors/app-error.js';
import type { Transaction } from '../storage/db.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { AccountCertificateStore } from '../webauthn/ports.js';
import { certificateFacts, parseCertificate } from '../../ca/asn1/certificate.js';
import { formatName, parseName } from '../../ca/asn1/names.js';

/** A certificate to register to an account for certificate login, read and described, nothing written. */
export interface LoginCertificate {
  der: Uint8Array;
  fingerprint: string;
  subjectDn: string;
  issuerDn: string;
  serial: string;
}

/** Reads a certificate (PEM or DER); bad input is a 4xx (`badCertificate`), before anything is written or asked for. */
export function describeLoginCertificate(certificate: string | Uint8Array): LoginCertificate {
  const parsed = parseCertificate(certificate);
  const facts = certificateFacts(parsed.certificate);
  return {
    der: parsed.der,
    fingerprint: createHash('sha256').update(parsed.der).digest('hex'),
    subjectDn: formatName(parseName(facts.subject, 'badCertificate')),
    issuerDn: formatName(parseName(facts.issuer, 'badCertificate')),
    serial: facts.serial,
  };
}

/**
 * Registers the certificate to the account inside the caller's transaction, with its audit event
 * (`account.certificate_register`): by the holder from their account page, or by an
 * administrator's change (at once for an ordinary official, after a second administrator's
 * approval for an administrator or RA officer: src/accounts/account-changes.ts).
 */
export async function registerLoginCertificateIn(
  trx: Transaction,
  store: Pick<AccountCertificateStore<Transaction>, 'addCertificate'>,
  audit: AuditRepository,
  now: Date,
  actor: string,
  accountId: string,
  c: LoginCertificate,
  details: Record<string, unknown> = {},
): Promise<{ fingerprint: string; subjectDn: string }> {
  const added = await store.addCertificate(trx, { accountId, fingerprint: c.fingerprint, subjectDn: c.subjectDn, issuerDn: c.issuerDn, serial: c.serial }, now);
  if (!added) throw new AppError('conflict', 'this certificate is already registered to an account');
  await audit.append(trx, { actor, action: 'account.certificate_register', target: `account:${accountId}`, details: { fingerprint: c.fingerprint, subject: c.subjectDn, issuer: c.issuerDn, serial: c.serial, ...details } });
  return { fingerprint: c.fingerprint, subjectDn: c.subjectDn };
}
