import Router from '@koa/router';
import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import type { AccessTokenVerifier } from '../../auth/access-token-verifier.js';
import type { CertificateRecord, CertificateRequestRecord } from '../../../ca/records.js';
import { NAME_CONTROL_METHODS, REVOCATION_REASONS } from '../../../ca/records.js';
import { REGISTRY_COUNT_LIMIT, type CertificateService } from '../../certificates/certificate-service.js';
import type { RequestOutcome } from '../../certificates/registration-authority.js';
import { looksLikeIdentifierSearch, maskCertificate, maskSubject } from '../../certificates/personal-data.js';
import { auditPiiRead, auditRequestsRead, fileRead, hasPii, requirePiiToSearch } from './personal-data-access.js';
import { actorOf, requireScopes } from '../middleware/koa-api-auth.js';
import { requireContentType } from '../middleware/koa-body-limits.js';
import { openApi, problemResponses } from './openapi-registry.js';
import { validate } from './parse-input.js';
import type { AppContext, AppState } from '../context.js';

const Subject = z
  .object({
    C: z.string().optional(),
    ST: z.string().optional(),
    L: z.string().optional(),
    O: z.string().optional(),
    OU: z.array(z.string()).optional(),
    CN: z.string().optional(),
    UID: z.array(z.string()).optional().meta({ description: 'CCCD:…, CMND:…, HC:…, MST:…, MNS:…, BHXH:…' }),
    E: z.string().optional(),
  })
  .strict()
  .meta({ description: 'Subject attributes the RA vouches for (replace what the CSR says)' });

export const RequestInput = openApi.register(
  'CertificateRequestInput',
  z
    .object({
      csr: z.string().min(1).max(64 * 1024).meta({ description: 'PKCS#10 request, PEM' }),
      profile: z.string().min(1).max(64).meta({ example: 'official-signing' }),
      subject: Subject.optional(),
      emails: z.array(z.email()).max(10).optional(),
      dnsNames: z.array(z.string().min(1).max(253)).max(50).optional().meta({ description: 'dNSName subjectAltNames (tls-server)' }),
      predecessorSerial: z.string().regex(/^[0-9a-fA-F:]{1,64}$/).optional().meta({ description: 'renewal / re-key of this certificate' }),
    })
    .strict(),
);

const RequestView = openApi.register(
  'CertificateRequest',
  z.object({
    id: z.uuid(),
    profile: z.string(),
    issuer: z.string(),
    subject: z.string(),
    status: z.enum(['pending', 'approved', 'issued', 'rejected']),
    requestedBy: z.string(),
    approvalsRequired: z.number().int(),
    approvals: z.array(
      z.object({
        approver: z.string(),
        approvedAt: z.string(),
        nameControl: z.array(z.object({ name: z.string(), method: z.string(), evidence: z.string() })).optional(),
      }),
    ),
    rejectReason: z.string().nullable(),
    certificateSerial: z.string().nullable(),
    predecessorSerial: z.string().nullable(),
    createdAt: z.string(),
  }),
);

const CertificateView = openApi.register(
  'Certificate',
  z.object({
    serial: z.string().meta({ description: 'lower-case hex, as `openssl x509 -serial` prints it' }),
    issuer: z.string(),
    profile: z.string().nullable(),
    status: z.enum(['good', 'revoked', 'hold']),
    expired: z.boolean(),
    subject: z.string().nullable(),
    holderName: z.string().nullable(),
    nationalId: z.string().nullable(),
    taxCode: z.string().nullable(),
    budgetCode: z.string().nullable(),
    agency: z.string().nullable(),
    email: z.string().nullable(),
    notBefore: z.string(),
    notAfter: z.string(),
    revokedAt: z.string().nullable(),
    revocationReason: z.string().nullable(),
    invalidityDate: z.string().nullable(),
    source: z.enum(['issued', 'imported']),
    statusSource: z.string(),
    predecessorSerial: z.string().nullable(),
    links: z.object({ pem: z.string(), der: z.string(), chain: z.string() }),
  }),
);

const CertificatePage = openApi.register(
  'CertificatePage',
  z.object({
    items: z.array(CertificateView),
    total: z.number().int().meta({ description: `every match, counted exactly up to ${REGISTRY_COUNT_LIMIT}; beyond, ${REGISTRY_COUNT_LIMIT} with totalExact false ("more than")` }),
    totalExact: z.boolean(),
    limit: z.number().int(),
    offset: z.number().int(),
    nextCursor: z.string().nullable().meta({ description: 'pass as `cursor` for the next page (keyset pagination); null on the last page' }),
  }),
);

const SearchQuery = z.object({
  q: z.string().max(200).optional().meta({ description: 'part of the holder name or subject, or a serial' }),
  nationalId: z.string().max(20).optional(),
  taxCode: z.string().max(20).optional(),
  agency: z.string().max(200).optional(),
  status: z.enum(['good', 'revoked', 'hold', 'expired']).optional(),
  profile: z.string().max(64).optional(),
  issuer: z.string().max(64).optional(),
  expiresWithinDays: z.coerce.number().int().min(0).max(3650).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0).meta({ description: 'rows to skip (costs as much as reading them); prefer `cursor`' }),
  cursor: z.string().max(300).regex(/^[A-Za-z0-9_-]+$/).optional().meta({ description: 'the `nextCursor` of the previous page: the next page in constant time (then `offset` is ignored)' }),
});

/** RFC 5280 §5.3.1 reasons of a revocation (a hold has its own operation). */
const REVOKE_REASONS = REVOCATION_REASONS.filter((r) => r !== 'certificateHold');

const RevokeInput = openApi.register(
  'RevokeInput',
  z
    .object({
      reason: z.enum(REVOKE_REASONS).default('unspecified'),
      invalidityDate: z.iso.datetime({ offset: true }).optional().meta({ description: 'RFC 5280 §5.3.2: when the key was (suspected) compromised' }),
      comment: z.string().max(1000).optional(),
    })
    .strict(),
);

const ApproveInput = openApi.register(
  'ApproveInput',
  z
    .object({
      nameControl: z
        .array(
          z
            .object({
              name: z.string().min(1).max(253),
              method: z.enum(NAME_CONTROL_METHODS),
              evidence: z.string().min(8).max(2000).meta({ description: 'what was checked and seen: the TXT record, the file URL, the zone registry ticket…' }),
            })
            .strict(),
        )
        .max(50)
        .optional()
        .meta({ description: 'how control of each DNS name of the request was checked (required for requests with DNS names; docs/ca.md, "Name policy")' }),
    })
    .strict(),
);

const CommentInput = z.object({ comment: z.string().max(1000).optional() }).strict();
const RejectInput = z.object({ reason: z.string().min(1).max(1000) }).strict();
const BulkRevokeInput = openApi.register(
  'BulkRevokeInput',
  z
    .object({
      agency: z.string().min(1).max(200).optional(),
      nationalId: z.string().max(20).optional(),
      taxCode: z.string().max(20).optional(),
      reason: z.enum(REVOKE_REASONS),
      comment: z.string().max(1000).optional(),
    })
    .strict()
    .refine((v) => v.agency || v.nationalId || v.taxCode, { message: 'name an agency, a national ID or a tax code' }),
);

const serialParam = z.object({ serial: z.string().regex(/^[0-9a-fA-F:]{1,64}$/) });
const idParam = z.object({ id: z.uuid() });

export function requestView(r: CertificateRequestRecord): z.infer<typeof RequestView> {
  return {
    id: r.id,
    profile: r.profileId,
    issuer: r.issuerId,
    subject: r.subjectDn,
    status: r.status,
    requestedBy: r.requestedBy,
    approvalsRequired: r.approvalsRequired,
    approvals: r.approvals.map((a) => ({ approver: a.approver, approvedAt: a.approvedAt.toISOString(), ...(a.nameControl && { nameControl: a.nameControl }) })),
    rejectReason: r.rejectReason,
    certificateSerial: r.certificateSerial,
    predecessorSerial: r.predecessorSerial,
    createdAt: r.createdAt.toISOString(),
  };
}

export function certificateView(c: CertificateRecord, now: Date): z.infer<typeof CertificateView> {
  const base = `/api/v1/certificates/${c.serial}`;
  return {
    serial: c.serial,
    issuer: c.issuerId,
    profile: c.profileId,
    status: c.status,
    expired: c.notAfter <= now,
    subject: c.subjectDn,
    holderName: c.holderName,
    nationalId: c.nationalId,
    taxCode: c.taxCode,
    budgetCode: c.budgetCode,
    agency: c.agency,
    email: c.email,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    revokedAt: c.revokedAt?.toISOString() ?? null,
    revocationReason: c.revocationReason,
    invalidityDate: c.invalidityDate?.toISOString() ?? null,
    source: c.source,
    statusSource: c.statusSource,
    predecessorSerial: c.predecessorSerial,
    links: { pem: `${base}.pem`, der: `${base}.der`, chain: `${base}/chain` },
  };
}

// ── OpenAPI operations (the routes below implement exactly these) ─────────────
const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });
openApi.registerPath({ method: 'post', path: '/api/v1/certificate-requests', summary: 'Submit a CSR under a profile (issued at once when the profile needs no approval)', security: [{ bearer: ['certs:request'] }], request: { body: json(RequestInput) }, responses: { 201: { description: 'request (and certificate when issued)', ...json(z.object({ request: RequestView, certificate: CertificateView.nullable() })) }, ...problemResponses(400, 401, 403, 409, 413, 415) } });
openApi.registerPath({ method: 'get', path: '/api/v1/certificate-requests', summary: 'List requests', description: 'Subjects show identifier numbers masked (last four digits) without certs:read:pii; with it, a read that showed one in full is audited (certificate.read_pii).', security: [{ bearer: ['certs:read'] }], request: { query: z.object({ status: z.enum(['pending', 'approved', 'issued', 'rejected']).optional() }) }, responses: { 200: { description: 'requests', ...json(z.object({ items: z.array(RequestView) })) }, ...problemResponses(401, 403) } });
openApi.registerPath({ method: 'get', path: '/api/v1/certificate-requests/{id}', summary: 'One request', description: 'Subjects show identifier numbers masked (last four digits) without certs:read:pii; with it, a read that showed one in full is audited (certificate.read_pii).', security: [{ bearer: ['certs:read'] }], request: { params: idParam }, responses: { 200: { description: 'request', ...json(RequestView) }, ...problemResponses(400, 401, 403, 404) } });
openApi.registerPath({ method: 'post', path: '/api/v1/certificate-requests/{id}/approve', summary: 'Approve (dual control: distinct officers, never the requester; the policy is checked again)', security: [{ bearer: ['certs:approve'] }], request: { params: idParam, body: { required: false, ...json(ApproveInput) } }, responses: { 200: { description: 'request (and certificate when this approval completed it)', ...json(z.object({ request: RequestView, certificate: CertificateView.nullable() })) }, ...problemResponses(400, 401, 403, 404, 409) } });
openApi.registerPath({ method: 'post', path: '/api/v1/certificate-requests/{id}/reject', summary: 'Reject', security: [{ bearer: ['certs:approve'] }], request: { params: idParam, body: json(RejectInput) }, responses: { 200: { description: 'request', ...json(RequestView) }, ...problemResponses(400, 401, 403, 404, 409) } });
openApi.registerPath({ method: 'get', path: '/api/v1/certificates', summary: 'Search the registry (text filters folded: case, NFC/NFD and diacritics do not matter; newest first, soonest expiry first with expiresWithinDays)', security: [{ bearer: ['certs:read'] }], request: { query: SearchQuery }, responses: { 200: { description: 'a page of certificates', ...json(CertificatePage) }, ...problemResponses(400, 401, 403) } });
openApi.registerPath({ method: 'get', path: '/api/v1/certificates/{serial}', summary: 'One certificate', security: [{ bearer: ['certs:read'] }], request: { params: serialParam }, responses: { 200: { description: 'certificate', ...json(CertificateView) }, ...problemResponses(400, 401, 403, 404) } });
openApi.registerPath({ method: 'get', path: '/api/v1/certificates/{serial}.pem', summary: 'Download as PEM', description: 'An individual\'s certificate shows their identifier numbers in full: it needs certs:read:pii too (the read audited), unless the caller submitted its request; 403 otherwise. Organisation seals and TLS certificates need certs:read alone.', security: [{ bearer: ['certs:read'] }], request: { params: serialParam }, responses: { 200: { description: 'PEM', content: { 'application/pem-certificate-chain': { schema: z.string() } } }, ...problemResponses(401, 403, 404) } });
openApi.registerPath({ method: 'get', path: '/api/v1/certificates/{serial}.der', summary: 'Download as DER', description: 'As the PEM download: certs:read:pii too for an individual\'s certificate, unless the caller submitted its request.', security: [{ bearer: ['certs:read'] }], request: { params: serialParam }, responses: { 200: { description: 'DER', content: { 'application/pkix-cert': { schema: z.string().meta({ format: 'binary' }) } } }, ...problemResponses(401, 403, 404) } });
openApi.registerPath({ method: 'get', path: '/api/v1/certificates/{serial}/chain', summary: 'Download with its chain (PKCS#7 certs-only)', description: 'As the PEM download: certs:read:pii too for an individual\'s certificate, unless the caller submitted its request.', security: [{ bearer: ['certs:read'] }], request: { params: serialParam }, responses: { 200: { description: 'PKCS#7', content: { 'application/pkcs7-mime': { schema: z.string().meta({ format: 'binary' }) } } }, ...problemResponses(401, 403, 404) } });
for (const action of ['revoke', 'hold', 'release'] as const) {
  openApi.registerPath({ method: 'post', path: `/api/v1/certificates/{serial}/${action}`, summary: action === 'revoke' ? 'Revoke (RFC 5280 reasons)' : action === 'hold' ? 'Put on hold (certificateHold)' : 'Release from hold', security: [{ bearer: ['certs:revoke'] }], request: { params: serialParam, body: json(action === 'revoke' ? RevokeInput : CommentInput) }, responses: { 200: { description: 'certificate', ...json(CertificateView) }, ...problemResponses(400, 401, 403, 404, 409) } });
}
openApi.registerPath({ method: 'post', path: '/api/v1/certificates/bulk-revoke', summary: 'Revoke every valid certificate of an agency, a person or an organisation', security: [{ bearer: ['certs:revoke'] }], request: { body: json(BulkRevokeInput) }, responses: { 200: { description: 'what was revoked', ...json(z.object({ revoked: z.array(z.string()), failed: z.array(z.object({ serial: z.string(), detail: z.string() })) })) }, ...problemResponses(400, 401, 403) } });

export interface CertificatesRouterDeps {
  certificates: CertificateService;
  verifier: AccessTokenVerifier;
  now(): Date;
}

const noStore = (ctx: AppContext) => ctx.set('Cache-Control', 'no-store');

/** docs/ca.md, "Personal data": identifiers in full only for a token with certs:read:pii. */
const certificateFor = (ctx: AppContext, deps: CertificatesRouterDeps) => (c: CertificateRecord) => certificateView(hasPii(ctx) ? c : maskCertificate(c), deps.now());
const requestFor = (ctx: AppContext) => (r: CertificateRequestRecord) => (hasPii(ctx) ? requestView(r) : { ...requestView(r), subject: maskSubject(r.subjectDn)! });

/** A request, and its certificate when the request was issued at once (no approval needed). */
async function outcomeView(ctx: AppContext, deps: CertificatesRouterDeps, outcome: RequestOutcome) {
  return { request: requestFor(ctx)(outcome.request), certificate: outcome.issued ? certificateFor(ctx, deps)(await deps.certificates.ca.certificate(outcome.issued.serial, outcome.issued.issuerId)) : null };
}

const submitRequest = (deps: CertificatesRouterDeps) =>
  async function submitRequest(ctx: AppContext) {
    const input = validate(RequestInput, ctx.request.body, 'body');
    const holder = input.subject || input.emails || input.dnsNames ? { subject: input.subject, emails: input.emails, dnsNames: input.dnsNames } : undefined;
    const outcome = await deps.certificates.ra.submit(actorOf(ctx.state), { csr: input.csr, profileId: input.profile, holder, predecessorSerial: input.predecessorSerial });
    ctx.status = 201;
    ctx.set('Location', `/api/v1/certificate-requests/${outcome.request.id}`);
    noStore(ctx);
    ctx.body = await outcomeView(ctx, deps, outcome);
  };

const listRequests = (deps: CertificatesRouterDeps) =>
  async function listRequests(ctx: AppContext) {
    const { status } = validate(z.object({ status: z.enum(['pending', 'approved', 'issued', 'rejected']).optional() }), ctx.query, 'query');
    noStore(ctx);
    const requests = await deps.certificates.ra.list(status);
    await auditRequestsRead(ctx, deps.certificates, requests);
    ctx.body = { items: requests.map(requestFor(ctx)) };
  };

const getRequest = (deps: CertificatesRouterDeps) =>
  async function getRequest(ctx: AppContext) {
    const { id } = validate(idParam, ctx.params, 'query');
    noStore(ctx);
    const request = await deps.certificates.ra.get(id);
    await auditRequestsRead(ctx, deps.certificates, [request]);
    ctx.body = requestFor(ctx)(request);
  };

const approveRequest = (deps: CertificatesRouterDeps) =>
  async function approveRequest(ctx: AppContext) {
    const { id } = validate(idParam, ctx.params, 'query');
    const { nameControl } = validate(ApproveInput, ctx.request.body ?? {}, 'body');
    const outcome = await deps.certificates.ra.approve(actorOf(ctx.state), id, nameControl);
    noStore(ctx);
    ctx.body = await outcomeView(ctx, deps, outcome);
  };

const rejectRequest = (deps: CertificatesRouterDeps) =>
  async function rejectRequest(ctx: AppContext) {
    const { id } = validate(idParam, ctx.params, 'query');
    const { reason } = validate(RejectInput, ctx.request.body, 'body');
    noStore(ctx);
    ctx.body = requestFor(ctx)(await deps.certificates.ra.reject(actorOf(ctx.state), id, reason));
  };

const searchCertificates = (deps: CertificatesRouterDeps) =>
  async function searchCertificates(ctx: AppContext) {
    const q = validate(SearchQuery, ctx.query, 'query');
    requirePiiToSearch(ctx, q);
    const lookedUp = q.nationalId || q.taxCode || looksLikeIdentifierSearch(q.q) ? { nationalId: q.nationalId, taxCode: q.taxCode, q: q.q } : undefined;
    // The page's identifiers are audited while its total is counted; the answer waits for the audit.
    const filter = { text: q.q, nationalId: q.nationalId, taxCode: q.taxCode, agency: q.agency, status: q.status, profileId: q.profile, issuerId: q.issuer, expiresWithinDays: q.expiresWithinDays, limit: q.limit, offset: q.offset, cursor: q.cursor, countLimit: REGISTRY_COUNT_LIMIT };
    const page = await deps.certificates.search(filter, (items) => auditPiiRead(ctx, deps.certificates, items, lookedUp));
    noStore(ctx);
    ctx.body = { items: page.items.map(certificateFor(ctx, deps)), total: page.total, totalExact: page.totalExact, limit: q.limit, offset: q.cursor ? 0 : q.offset, nextCursor: page.nextCursor };
  };

const bulkRevoke = (deps: CertificatesRouterDeps) =>
  async function bulkRevoke(ctx: AppContext) {
    const input = validate(BulkRevokeInput, ctx.request.body, 'body');
    requirePiiToSearch(ctx, input);
    noStore(ctx);
    ctx.body = await deps.certificates.bulkRevoke(actorOf(ctx.state), { agency: input.agency, nationalId: input.nationalId, taxCode: input.taxCode }, input.reason, input.comment);
  };

/** One route for the detail and its downloads: `:serial` may end in .pem or .der. */
const getCertificate = (deps: CertificatesRouterDeps) =>
  async function getCertificate(ctx: AppContext) {
    const match = /^([0-9a-fA-F:]{1,64})(\.pem|\.der)?$/.exec(ctx.params.serial);
    if (!match) throw new AppError('validationFailed', 'serial: hexadecimal, optionally ending in .pem or .der');
    const cert = await deps.certificates.ca.certificate(match[1]);
    if (match[2]) await fileRead(ctx, deps.certificates, cert);
    if (match[2] === '.pem') {
      ctx.type = 'application/pem-certificate-chain';
      ctx.set('Content-Disposition', `attachment; filename="${cert.serial}.pem"`);
      ctx.body = deps.certificates.pem(cert);
      return;
    }
    if (match[2] === '.der') {
      ctx.type = 'application/pkix-cert';
      ctx.set('Content-Disposition', `attachment; filename="${cert.serial}.cer"`);
      ctx.body = cert.der;
      return;
    }
    noStore(ctx);
    await auditPiiRead(ctx, deps.certificates, [cert]);
    ctx.body = certificateFor(ctx, deps)(cert);
  };

const getChain = (deps: CertificatesRouterDeps) =>
  async function getChain(ctx: AppContext) {
    const { serial } = validate(serialParam, ctx.params, 'query');
    const cert = await deps.certificates.ca.certificate(serial);
    await fileRead(ctx, deps.certificates, cert);
    ctx.type = 'application/pkcs7-mime';
    ctx.set('Content-Disposition', `attachment; filename="${cert.serial}.p7b"`);
    ctx.body = Buffer.from(await deps.certificates.chainPkcs7(cert));
  };

/** Revoke (RFC 5280 reasons), hold (certificateHold) or release. */
const changeStatus = (deps: CertificatesRouterDeps, action: 'revoke' | 'hold' | 'release') =>
  async function changeStatus(ctx: AppContext) {
    const { serial } = validate(serialParam, ctx.params, 'query');
    const body = ctx.request.body ?? {};
    const revocation = action === 'revoke' ? validate(RevokeInput, body, 'body') : null;
    const input = revocation ?? validate(CommentInput, body, 'body');
    const updated = await deps.certificates.ca.changeStatus({
      actor: actorOf(ctx.state),
      serial,
      action,
      reason: revocation?.reason,
      invalidityDate: typeof revocation?.invalidityDate === 'string' ? new Date(revocation.invalidityDate) : null,
      comment: input.comment,
    });
    noStore(ctx);
    ctx.body = certificateFor(ctx, deps)(updated);
  };

/** The registry and the RA over REST (/api/v1); least-privilege scopes per operation. */
export function certificatesRouter(deps: CertificatesRouterDeps): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const scope = (s: string) => requireScopes(deps.verifier, s);
  const jsonBody = requireContentType('application/json');
  router.post('/certificate-requests', scope('certs:request'), jsonBody, submitRequest(deps));
  router.get('/certificate-requests', scope('certs:read'), listRequests(deps));
  router.get('/certificate-requests/:id', scope('certs:read'), getRequest(deps));
  router.post('/certificate-requests/:id/approve', scope('certs:approve'), approveRequest(deps));
  router.post('/certificate-requests/:id/reject', scope('certs:approve'), jsonBody, rejectRequest(deps));
  router.get('/certificates', scope('certs:read'), searchCertificates(deps));
  router.post('/certificates/bulk-revoke', scope('certs:revoke'), jsonBody, bulkRevoke(deps));
  router.get('/certificates/:serial', scope('certs:read'), getCertificate(deps));
  router.get('/certificates/:serial/chain', scope('certs:read'), getChain(deps));
  for (const action of ['revoke', 'hold', 'release'] as const) {
    router.post(`/certificates/:serial/${action}`, scope('certs:revoke'), jsonBody, changeStatus(deps, action));
  }
  return router;
}
