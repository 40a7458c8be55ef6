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

const query = z.object({
  action: z.string().max(100).optional(),
  actor: z.string().max(200).optional(),
  target: z.string().max(200).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
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
