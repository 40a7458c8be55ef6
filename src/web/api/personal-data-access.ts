/**
 * Who sees identifier numbers in full over the API (docs/ca.md, "Personal data"): a token with
 * certs:read:pii, and each such read that showed a number is audited (who looked up whom).
 */
import { AppError } from '../../errors/app-error.js';
import type { CertificateRecord } from '../../../ca/records.js';
import type { CertificateService } from '../../certificates/certificate-service.js';
import type { CertificateRequestRecord } from '../../../ca/records.js';
import type { AuditEvent } from '../../audit/audit-chain.js';
import { PII_SCOPE, carriesIdentifier, containsIdentifier, isIndividual, looksLikeIdentifierSearch, subjectCarriesIdentifier } from '../../certificates/personal-data.js';
import { actorOf } from '../middleware/koa-api-auth.js';
import type { AppContext } from '../context.js';

type PiiRecorder = Pick<CertificateService, 'recordPiiRead'>;

export const hasPii = (ctx: AppContext) => !!ctx.state.auth?.scopes.has(PII_SCOPE);

const insufficient = (detail: string) => new AppError('forbidden', detail, { error: 'insufficient_scope', requiredScopes: [PII_SCOPE] });

/** A read that showed identifiers in full is audited (who looked up whom). */
export async function auditPiiRead(ctx: AppContext, recorder: PiiRecorder, records: CertificateRecord[], query?: Record<string, unknown>): Promise<void> {
  if (!hasPii(ctx)) return;
  const shown = records.filter(carriesIdentifier).map((c) => c.serial);
  if (shown.length || query) await recorder.recordPiiRead(actorOf(ctx.state), { serials: shown, query });
}

/** Requests read with the scope: those whose subjects showed a number in full are audited. */
export async function auditRequestsRead(ctx: AppContext, recorder: PiiRecorder, requests: CertificateRequestRecord[]): Promise<void> {
  if (!hasPii(ctx)) return;
  const shown = requests.filter((r) => subjectCarriesIdentifier(r.subjectDn)).map((r) => r.id);
  if (shown.length) await recorder.recordPiiRead(actorOf(ctx.state), { serials: [], requests: shown });
}

/** Audit events read with the scope: those whose details showed a number in full are audited, with the filter. */
export async function auditEventsRead(ctx: AppContext, recorder: PiiRecorder, events: AuditEvent[], query: Record<string, unknown>): Promise<void> {
  if (!hasPii(ctx)) return;
  const shown = events.filter((e) => containsIdentifier(e.details)).map((e) => e.seq);
  if (shown.length) await recorder.recordPiiRead(actorOf(ctx.state), { serials: [], auditEvents: shown, query });
}

/**
 * The certificate file itself (.pem, .der, /chain) carries its identifiers in full in the
 * subject, where no masking can reach: for an individual's certificate it needs the
 * scope (the read audited like any other that showed a number in full), or to be asked for by
 * whoever submitted its request. Without this, reading the masked registry and then each file
 * would give every holder's CCCD to a plain certs:read.
 */
export async function fileRead(ctx: AppContext, certificates: PiiRecorder & Pick<CertificateService, 'ra'>, cert: CertificateRecord): Promise<void> {
  if (hasPii(ctx)) return auditPiiRead(ctx, certificates, [cert]);
  // An organisation's seal or a server's certificate is public (the verification pages serve it).
  if (!isIndividual(cert)) return;
  // Whoever submitted this certificate's request gave its numbers themselves: they learn nothing.
  if (cert.requestId && (await certificates.ra.get(cert.requestId)).requestedBy === actorOf(ctx.state)) return;
  throw insufficient(`this is an individual's certificate, whose file shows their identifier numbers in full: downloading it needs the scope ${PII_SCOPE} (the detail without the file shows the number masked)`);
}

/** Looking a person up by number tells whether they hold a certificate: it needs the scope too. */
export function requirePiiToSearch(ctx: AppContext, q: { nationalId?: string; taxCode?: string; q?: string }): void {
  if (hasPii(ctx)) return;
  if (q.nationalId || q.taxCode || looksLikeIdentifierSearch(q.q)) throw insufficient(`searching by a national ID, tax code or other identifier number needs the scope ${PII_SCOPE}`);
}
