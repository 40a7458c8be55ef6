/**
 * The report as the public portal hands it out: the validator's report with every personal
 * identifier cut to its last four digits and e-mail addresses left out (Decree 13/2023/NĐ-CP; an
 * anonymous uploader gets no more of a person's data than the page shows).
 */
import { maskIdentifier, maskSubject } from '../../certificates/personal-data.js';
import type { SignatureReport, SignatureValidationReport } from '../../validation/report.js';

type Signer = NonNullable<SignatureReport['signer']>;

function maskSigner(s: Signer | null): Signer | null {
  if (!s) return null;
  return {
    ...s,
    subject: maskSubject(s.subject) ?? s.subject,
    emails: [],
    personalId: s.personalId ? { kind: s.personalId.kind, value: maskIdentifier(s.personalId.value) } : null,
    nationalId: maskIdentifier(s.nationalId),
  };
}

const maskChain = <T extends { subject: string }>(items: T[]): T[] => items.map((c) => ({ ...c, subject: maskSubject(c.subject) ?? c.subject }));

export function publicReport(report: SignatureValidationReport): SignatureValidationReport {
  return {
    ...report,
    signatures: report.signatures.map((s) => ({
      ...s,
      signer: maskSigner(s.signer),
      chain: maskChain(s.chain),
      revocation: maskChain(s.revocation),
      counterSignatures: s.counterSignatures.map((c) => ({ ...c, signer: maskSigner(c.signer), chain: maskChain(c.chain), revocation: maskChain(c.revocation) })),
    })),
  };
}
