import Router from '@koa/router';
import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import type { AuditService } from '../../audit/audit-service.js';
import type { AccessTokenVerifier } from '../../auth/access-token-verifier.js';
import { requireScopes } from '../middleware/koa-api-auth.js';
import type { AppState } from '../context.js';
import { maskIdentifiersIn } from '../../certificates/personal-data.js';
import type { CertificateService } from '../../certificates/certificate-service.js';
import { auditEventsRead, hasPii } from './personal-data-access.js';
import { openApi, problemResponses } from './openapi-registry.js';

const query = z.object({
  action: z.string().max(100).optional(),
  actor: z.string().max(200).optional(),
  target: z.string().max(200).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const hex = z.string().regex(/^[0-9a-f]{64}$/);
const AuditEventView = openApi.register(
  'AuditEvent',
  z
    .object({
      seq: z.number().int().positive(),
      occurredAt: z.string().meta({ format: 'date-time' }),
      actor: z.string().meta({ description: '`user:<id>`, `client:<id>`, `cli:<os user>` or `system`' }),
      action: z.string().meta({ example: 'certificate.revoke' }),
      target: z.string().nullable().meta({ example: 'certificate:4F2A…' }),
      details: z.record(z.string(), z.unknown()).meta({ description: 'As stored; identifier numbers masked (last four digits) without certs:read:pii. The hash covers the stored details.' }),
      prevHash: hex,
      hash: hex.meta({ description: 'SHA-256 over the previous hash and the canonical event (docs/audit.md)' }),
    })
    .meta({ description: 'One event of the append-only hash chain' }),
);
const AuditEventsPage = openApi.register('AuditEventsPage', z.object({ events: z.array(AuditEventView), next: z.string().nullable().meta({ description: 'The next (older) page, or null on the last' }) }));
const problem = z.object({ seq: z.number().int(), problem: z.string().meta({ description: 'edited, missing, broken-link; with checkpoints also rewritten, truncated, bad-checkpoint' }), message: z.string(), line: z.number().int().optional() });
const AuditVerification = openApi.register(
  'AuditVerification',
  z.object({
    ok: z.boolean(),
    checked: z.number().int().meta({ description: 'Events read before the verdict' }),
    head: z.object({ seq: z.number().int(), hash: hex }).nullable(),
    firstBad: problem.optional(),
    checkpoints: z
      .object({
        source: z.string(),
        verified: z.number().int(),
        timeStamped: z.number().int(),
        lastAnchored: z.object({ seq: z.number().int(), hash: hex, at: z.string(), timeStampedAt: z.string().optional() }).nullable(),
        unanchoredEvents: z.number().int(),
      })
      .nullable()
      .optional()
      .meta({ description: 'Present when checkpoints are configured (AUDIT_CHECKPOINTS)' }),
  }),
);
const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });
openApi.registerPath({
  method: 'get',
  path: '/api/v1/audit/events',
  summary: 'Audit events, newest first',
  description: 'Filters by exact action, actor and target; `before` pages backwards by sequence number. With certs:read:pii, a page that shows identifier numbers in full is itself audited (certificate.read_pii, auditEvents).',
  security: [{ bearer: ['admin'] }],
  request: { query: query.extend({ before: z.number().int().positive().optional(), limit: z.number().int().min(1).max(500).default(50) }) },
  responses: { 200: { description: 'a page of events', ...json(AuditEventsPage) }, ...problemResponses(400, 401, 403) },
});
openApi.registerPath({
  method: 'get',
  path: '/api/v1/audit/verification',
  summary: 'Verify the whole chain (and the signed checkpoints when configured)',
  description: 'Reads every event; names the first that does not fit the chain or its checkpoints.',
  security: [{ bearer: ['admin'] }],
  responses: { 200: { description: 'the verdict (ok false names firstBad)', ...json(AuditVerification) }, ...problemResponses(401, 403) },
});

/** The audit log over the API: administrators only (scope `admin`). */
export function auditRouter(deps: { audit: AuditService; verifier: AccessTokenVerifier; pii: Pick<CertificateService, 'recordPiiRead'> }): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/api/v1/audit' });
  const admin = requireScopes(deps.verifier, 'admin');

  router.get('/events', admin, async (ctx) => {
    const parsed = query.safeParse(ctx.query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AppError('validationFailed', `${issue.path.join('.')}: ${issue.message}`);
    }
    const q = parsed.data;
    const events = await deps.audit.list({ action: q.action, actor: q.actor, target: q.target, beforeSeq: q.before, limit: q.limit });
    // docs/ca.md, "Personal data": subjects in the details show identifiers masked without
    // certs:read:pii, as in the console (the hashes stay those of the stored events); with it,
    // the events that showed a number in full are audited before the answer leaves.
    const pii = hasPii(ctx);
    await auditEventsRead(ctx, deps.pii, events, { action: q.action, actor: q.actor, target: q.target, before: q.before });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      events: events.map((e) => ({ ...e, details: pii ? e.details : maskIdentifiersIn(e.details), occurredAt: e.occurredAt.toISOString(), prevHash: e.prevHash.toString('hex'), hash: e.hash.toString('hex') })),
      next: events.length === q.limit ? `/api/v1/audit/events?before=${events[events.length - 1].seq}&limit=${q.limit}` : null,
    };
  });

  router.get('/verification', admin, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await deps.audit.verify();
  });

  return router;
}
