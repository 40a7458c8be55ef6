import type Router from '@koa/router';
import { z } from 'zod';
import { AppError } from '../../../errors/app-error.js';
import type { AppContext, AppState } from '../../context.js';
import { REVOCATION_REASONS, type CertificateRecord } from '../../../../ca/records.js';
import { sendPage } from '../../views/html.js';
import { certificatePage, certificatesPage, type CertDetail, type CertFilters } from '../views/certificate-pages.js';
import { can, endEntityProfiles, redirect, type AdminConsole, type Officer } from '../admin-console.js';
import { confirmed, parseForm, readForm, steppedUp } from '../admin-forms.js';
import { carriesIdentifier, looksLikeIdentifierSearch, maskCertificate, maskSubject } from '../../../certificates/personal-data.js';
import { REGISTRY_COUNT_LIMIT } from '../../../certificates/certificate-service.js';

const SERIAL = /^[0-9a-fA-F:]{1,64}$/;
const PAGE_SIZE = 50;

/** The comment of a status change: trimmed, at most 1000 characters, none when empty. */
const StatusChangeForm = z.object({
  comment: z
    .string()
    .default('')
    .transform((s) => s.trim().slice(0, 1000) || undefined),
});
/** A revocation names an RFC 5280 §5.3.1 reason (unspecified when the form has none). */
const RevokeForm = StatusChangeForm.extend({
  reason: z.enum(REVOCATION_REASONS, { error: (issue) => `unknown revocation reason ${String(issue.input)}` }).default('unspecified'),
});

const statusOf = (c: CertificateRecord, now: Date) => (c.notAfter <= now ? 'expired' : c.status);

const searchCertificates = (c: AdminConsole) =>
  async function searchCertificates(ctx: AppContext, o: Officer) {
    const q = (name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string).trim().slice(0, 200) : '');
    const filters: CertFilters = { q: q('q'), nationalId: q('nationalId'), taxCode: q('taxCode'), agency: q('agency'), status: q('status'), profile: q('profile'), expiresWithinDays: q('expiresWithinDays') };
    const status = filters.status === 'good' || filters.status === 'revoked' || filters.status === 'hold' || filters.status === 'expired' ? filters.status : undefined;
    const days = /^\d{1,4}$/.test(filters.expiresWithinDays!) ? Number(filters.expiresWithinDays) : undefined;
    // Keyset pagination (docs/ca.md, "Registry search"): the cursor the previous page linked to.
    const cursor = /^[A-Za-z0-9_-]{1,300}$/.test(q('cursor')) ? q('cursor') : undefined;
    const limit = PAGE_SIZE;
    const pii = can(o, 'pii');
    // Looking a person up by number tells whether they hold a certificate (docs/ca.md, "Personal data").
    if (!pii && (filters.nationalId || filters.taxCode || looksLikeIdentifierSearch(filters.q))) {
      throw new AppError('forbidden', 'searching by a national ID, tax code or other identifier number needs the scope certs:read:pii (RA officers, administrators)');
    }
    const result = await c.deps.certificates.search({ text: filters.q || undefined, nationalId: filters.nationalId || undefined, taxCode: filters.taxCode || undefined, agency: filters.agency || undefined, status, profileId: filters.profile || undefined, expiresWithinDays: days, limit, offset: 0, cursor, countLimit: REGISTRY_COUNT_LIMIT });
    // As over the API: a page that showed numbers in full, or a lookup by number, is audited.
    const lookedUp = filters.nationalId || filters.taxCode || looksLikeIdentifierSearch(filters.q) ? { nationalId: filters.nationalId || undefined, taxCode: filters.taxCode || undefined, q: filters.q || undefined } : undefined;
    if (pii) await c.recordShown(o, { serials: result.items.filter(carriesIdentifier).map((x) => x.serial), query: lookedUp });
    const now = c.deps.now();
    sendPage(
      ctx,
      200,
      certificatesPage(c.frame(ctx, o, 'certificates'), {
        filters,
        profiles: endEntityProfiles(c),
        rows: result.items.map((x) => ({ serial: x.serial, holderName: x.holderName, subject: pii ? x.subjectDn : maskSubject(x.subjectDn), agency: x.agency, profile: x.profileId, status: statusOf(x, now), notAfter: x.notAfter })),
        total: result.total,
        totalExact: result.totalExact,
        cursor,
        nextCursor: result.nextCursor,
      }),
    );
  };


async function certificateParam(c: AdminConsole, ctx: AppContext): Promise<CertificateRecord> {
  const serial = String(ctx.params.serial ?? '');
  if (!SERIAL.test(serial)) throw new AppError('notFound', `no certificate ${serial}`);
  return c.deps.certificates.ca.certificate(serial);
}

/** The issuers above a certificate, up to its root (at most 8). */
async function chainOf(c: AdminConsole, cert: CertificateRecord): Promise<CertDetail['chain']> {
  const issuers = await c.deps.certificates.ca.issuers();
  const chain: CertDetail['chain'] = [];
  for (let issuer = issuers.find((i) => i.id === cert.issuerId); issuer && chain.length < 8; issuer = issuers.find((i) => i.id === issuer!.parentId)) {
    chain.push({ id: issuer.id, subject: issuer.subjectDn, role: issuer.role });
    if (!issuer.parentId) break;
  }
  return chain;
}

const showCertificate = (c: AdminConsole) =>
  async function showCertificate(ctx: AppContext, o: Officer) {
    const pii = can(o, 'pii');
    const found = await certificateParam(c, ctx);
    const cert = pii ? found : maskCertificate(found);
    const nameOf = c.names();
    const chain = await chainOf(c, cert);
    const audit = c.deps.audit;
    const history = [...(await audit.list({ target: `certificate:${cert.serial}`, limit: 100 })), ...(cert.requestId ? await audit.list({ target: `request:${cert.requestId}`, limit: 100 }) : [])].sort((a, b) => b.seq - a.seq);
    const detail: CertDetail = {
      serial: cert.serial,
      status: statusOf(cert, c.deps.now()),
      statusRaw: cert.status,
      expired: cert.notAfter <= c.deps.now(),
      source: cert.source,
      subject: cert.subjectDn,
      holderName: cert.holderName,
      nationalId: cert.nationalId,
      taxCode: cert.taxCode,
      agency: cert.agency,
      email: cert.email,
      profile: cert.profileId,
      issuer: cert.issuerId,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      revokedAt: cert.revokedAt,
      reason: cert.revocationReason,
      chain,
      history: await c.auditRows(history, nameOf, o, { serials: carriesIdentifier(found) ? [found.serial] : [] }),
      requestId: cert.requestId,
    };
    sendPage(ctx, 200, certificatePage(c.frame(ctx, o, 'certificates'), detail, { canChange: can(o, 'revoke'), reasons: REVOCATION_REASONS.filter((r) => r !== 'certificateHold') }));
  };

/** Downloads: PEM, DER (.cer) or the chain as PKCS#7 (.p7b). */
const downloadCertificate = (c: AdminConsole) =>
  async function downloadCertificate(ctx: AppContext) {
    const cert = await certificateParam(c, ctx);
    const format = ctx.params.format;
    if (format === 'pem') {
      ctx.type = 'application/pem-certificate-chain';
      ctx.set('Content-Disposition', `attachment; filename="${cert.serial}.pem"`);
      ctx.body = c.deps.certificates.pem(cert);
    } else if (format === 'der') {
      if (!cert.der) throw new AppError('notFound', `certificate ${cert.serial} has no signed form`);
      ctx.type = 'application/pkix-cert';
      ctx.set('Content-Disposition', `attachment; filename="${cert.serial}.cer"`);
      ctx.body = cert.der;
    } else if (format === 'chain') {
      ctx.type = 'application/pkcs7-mime';
      ctx.set('Content-Disposition', `attachment; filename="${cert.serial}.p7b"`);
      ctx.body = Buffer.from(await c.deps.certificates.chainPkcs7(cert));
    } else {
      throw new AppError('notFound', `no download ${format}`);
    }
    ctx.set('Cache-Control', 'no-store');
  };

/** Revoke, hold or release (RFC 5280 §5.3.1): confirmed, after a step-up. */
const changeStatus = (c: AdminConsole, action: 'revoke' | 'hold' | 'release') =>
  async function changeStatus(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    const cert = await certificateParam(c, ctx);
    const back = `/admin/certificates/${cert.serial}`;
    if (!steppedUp(ctx, o, back)) return;
    confirmed(o, form);
    const change = action === 'revoke' ? parseForm(RevokeForm, form) : { ...parseForm(StatusChangeForm, form), reason: undefined };
    await c.deps.certificates.ca.changeStatus({ actor: o.actor, serial: cert.serial, issuerId: cert.issuerId, action, reason: change.reason, comment: change.comment });
    redirect(ctx, `${back}?done=${action}`);
  };

/** The registry: search, one certificate, its downloads, and its status changes. */
export function certificatesSection(router: Router<AppState>, c: AdminConsole): void {
  router.get('/admin/certificates', c.page('read', 'certificates', searchCertificates(c)));
  router.get('/admin/certificates/:serial', c.page('read', 'certificates', showCertificate(c)));
  router.get('/admin/certificates/:serial/:format', c.page('read', 'certificates', downloadCertificate(c)));
  for (const action of ['revoke', 'hold', 'release'] as const) {
    router.post(`/admin/certificates/:serial/${action}`, c.page('revoke', 'certificates', changeStatus(c, action)));
  }
}
