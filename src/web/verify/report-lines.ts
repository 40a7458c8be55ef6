import type { SignatureValidationReport } from '../../validation/report.js';
import type { Language } from '../locales/messages.js';
import { verdictText } from './verdict-texts.js';
import { commonName, utc } from './verify-views.js';
import { pt } from './verify-messages.js';

/** The text of the signed PDF report: what the page's cards say, line by line. */
export function reportLines(lang: Language, report: SignatureValidationReport, fileSha256: string, service: string): string[] {
  const lines = [
    `${pt(lang, 'report.service')}: ${service}`,
    `${pt(lang, 'report.validatedAt')}: ${utc(report.validatedAt)}`,
    `${pt(lang, 'report.file')}: SHA-256 ${fileSha256}`,
    `${pt(lang, 'report.policy')}: ${report.policy}`,
    pt(lang, 'verify.overall', { verdict: verdictText(lang, report.indication, null).title }) + ` (${report.indication})`,
  ];
  if (report.document) lines.push(`${pt(lang, 'report.document')}: ${report.document.indication}${report.document.subIndication ? ` / ${report.document.subIndication}` : ''} — ${verdictText(lang, report.document.indication, report.document.subIndication).explanation}`);
  for (const s of report.signatures) {
    const v = verdictText(lang, s.indication, s.subIndication);
    lines.push(
      '',
      `${pt(lang, 'verify.signature', { id: s.id })}: ${v.title} (${s.indication}${s.subIndication ? ` / ${s.subIndication}` : ''})`,
      `  ${v.explanation}`,
      `  ${pt(lang, 'verify.signer')}: ${s.signer?.name ?? '—'}${s.signer?.organization ? `, ${s.signer.organization}` : ''}${s.signer?.personalId ? ` (${s.signer.personalId.kind}: ${s.signer.personalId.value})` : ''}`,
      `  ${pt(lang, 'verify.signingTime')}: ${s.poe ? `${utc(s.poe.time)} (${pt(lang, 'verify.timeSource.timestamp', { tsa: s.poe.tsa ? commonName(s.poe.tsa) : '—' })})` : `${utc(s.signingTime.claimed ?? s.claimedTimes.pdfSigningTime)} (${pt(lang, 'verify.timeSource.claim')})`}`,
      `  ${pt(lang, 'verify.chain')}: ${s.chain.map((c) => commonName(c.subject)).join(' <- ') || '—'}`,
      ...s.revocation.map((r) => `  ${pt(lang, 'verify.revocation')}: ${commonName(r.subject)}: ${r.status} (${r.source}${r.revokedAt ? `, ${utc(r.revokedAt)}, ${r.reason ?? ''}` : ''})`),
    );
  }
  return lines;
}
