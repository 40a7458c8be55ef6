import Router from '@koa/router';
import { z } from 'zod';
import type { AccessTokenVerifier } from '../../auth/access-token-verifier.js';
import { toProblem } from '../../errors/app-error.js';
import { NAME_CONTROL_METHODS } from '../../../ca/records.js';
import type { CertificateService } from '../../certificates/certificate-service.js';
import type { RequestOutcome } from '../../certificates/registration-authority.js';
import { MAX_BATCH, type ItemOutcome } from '../../certificates/batch-issuance.js';
import { PII_SCOPE, maskSubject } from '../../certificates/personal-data.js';
import { actorOf, requireScopes } from '../middleware/koa-api-auth.js';
import { requireContentType } from '../middleware/koa-body-limits.js';
import { openApi, problemResponses } from './openapi-registry.js';
import { validate } from './parse-input.js';
import { RequestInput, requestView } from './certificates-router.js';
import type { AppContext, AppState } from '../context.js';

/** The batch routes' body cap: 1,000 CSRs with their holder data (docs/ca.md, "Batch issuance"). */
export const BATCH_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

const BatchSubmitInput = openApi.register('CertificateRequestBatchInput', z.object({ items: z.array(RequestInput).min(1).max(MAX_BATCH).meta({ description: `1 to ${MAX_BATCH} requests, each as CertificateRequestInput` }) }).strict());

const NameControl = z.object({ name: z.string().min(1).max(253), method: z.enum(NAME_CONTROL_METHODS), evidence: z.string().min(8).max(2000) }).strict();
const BatchApproveInput = openApi.register(
  'CertificateApprovalBatchInput',
  z.object({ items: z.array(z.object({ id: z.uuid(), nameControl: z.array(NameControl).max(50).optional() }).strict()).min(1).max(MAX_BATCH).meta({ description: `1 to ${MAX_BATCH} pending requests, each with the name-control evidence its DNS names need` }) }).strict(),
);

const Problem = z.object({ type: z.string(), title: z.string(), status: z.number().int(), detail: z.string().optional() }).loose();
const BatchResult = openApi.register(
  'CertificateBatchResult',
  z.object({
    issued: z.number().int(),
    failed: z.number().int(),
    items: z.array(
      z.object({
        index: z.number().int().meta({ description: 'position of the item in the request' }),
        ok: z.boolean(),
        request: z.looseObject({ id: z.uuid(), status: z.string() }).optional().meta({ description: 'CertificateRequest' }),
        certificate: z.object({ serial: z.string(), issuer: z.string(), notBefore: z.string(), notAfter: z.string(), links: z.object({ pem: z.string(), der: z.string(), chain: z.string() }) }).nullable().optional(),
        problem: Problem.optional().meta({ description: 'RFC 7807 problem of this item alone' }),
      }),
    ),
  }),
);

const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });
openApi.registerPath({ method: 'post', path: '/api/v1/certificate-requests/batch', summary: `Submit up to ${MAX_BATCH} CSRs in one call (those whose profile needs no approval are issued together); one result per item`, security: [{ bearer: ['certs:request'] }], request: { body: json(BatchSubmitInput) }, responses: { 200: { description: 'one result per item, in order', ...json(BatchResult) }, ...problemResponses(400, 401, 403, 413, 415) } });
openApi.registerPath({ method: 'post', path: '/api/v1/certificate-requests/batch-approve', summary: `Approve up to ${MAX_BATCH} pending requests in one call (dual control per item); those reaching their approvals are issued together`, security: [{ bearer: ['certs:approve'] }], request: { body: json(BatchApproveInput) }, responses: { 200: { description: 'one result per item, in order', ...json(BatchResult) }, ...problemResponses(400, 401, 403, 413, 415) } });

export interface CertificateBatchRouterDeps {
  certificates: CertificateService;
  verifier: AccessTokenVerifier;
}

function resultView(ctx: AppContext, outcomes: Array<ItemOutcome<RequestOutcome>>) {
  const pii = !!ctx.state.auth?.scopes.has(PII_SCOPE);
  const items = outcomes.map((o, index) => {
    if (!o.ok) return { index, ok: false, problem: toProblem(o.error) };
    const request = pii ? requestView(o.value.request) : { ...requestView(o.value.request), subject: maskSubject(o.value.request.subjectDn)! };
    const c = o.value.issued;
    const base = c && `/api/v1/certificates/${c.serial}`;
    const certificate = c ? { serial: c.serial, issuer: c.issuerId, notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString(), links: { pem: `${base}.pem`, der: `${base}.der`, chain: `${base}/chain` } } : null;
    return { index, ok: true, request, certificate };
  });
  return { issued: items.filter((i) => i.ok && 'certificate' in i && i.certificate).length, failed: items.filter((i) => !i.ok).length, items };
}

const submitBatch = (deps: CertificateBatchRouterDeps) =>
  async function submitBatch(ctx: AppContext) {
    const { items } = validate(BatchSubmitInput, ctx.request.body, 'body');
    const inputs = items.map((i) => ({ csr: i.csr, profileId: i.profile, holder: i.subject || i.emails || i.dnsNames ? { subject: i.subject, emails: i.emails, dnsNames: i.dnsNames } : undefined, predecessorSerial: i.predecessorSerial }));
    const outcomes = await deps.certificates.batch.requests.submitMany(actorOf(ctx.state), inputs);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = resultView(ctx, outcomes);
  };

const approveBatch = (deps: CertificateBatchRouterDeps) =>
  async function approveBatch(ctx: AppContext) {
    const { items } = validate(BatchApproveInput, ctx.request.body, 'body');
    const outcomes = await deps.certificates.batch.requests.approveMany(actorOf(ctx.state), items.map((i) => ({ id: i.id, nameControl: i.nameControl })));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = resultView(ctx, outcomes);
  };

/** The RA officers' batch path over REST; the same least-privilege scopes as the one-by-one routes. */
export function certificateBatchRouter(deps: CertificateBatchRouterDeps): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const jsonBody = requireContentType('application/json');
  router.post('/certificate-requests/batch', requireScopes(deps.verifier, 'certs:request'), jsonBody, submitBatch(deps));
  router.post('/certificate-requests/batch-approve', requireScopes(deps.verifier, 'certs:approve'), jsonBody, approveBatch(deps));
  return router;
}
