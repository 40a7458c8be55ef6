import Router from '@koa/router';
import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import type { AccessTokenVerifier } from '../../auth/access-token-verifier.js';
import type { DocumentRegistry } from '../../documents/document-registry.js';
import { actorOf, requireScopes } from '../middleware/koa-api-auth.js';
import { openApi, problemResponses } from './openapi-registry.js';
import { validate } from './parse-input.js';
import type { AppState } from '../context.js';

const RegistrationRequest = openApi.register(
  'DocumentRegistrationRequest',
  z
    .object({
      title: z.string().trim().min(1).max(500).meta({ description: 'the document\'s title, e.g. "Quyết định số 123/QĐ-UBND"' }),
      issuer: z.string().trim().min(1).max(300).meta({ description: 'the issuing agency as the holder should read it' }),
      date: z.iso.date().optional().meta({ description: 'the document\'s own date (YYYY-MM-DD)' }),
      sha256: z.string().regex(/^[0-9a-fA-F]{64}$/).optional().meta({ description: 'SHA-256 of the file (hex); or send `document`' }),
      document: z.string().max(28 * 1024 * 1024).regex(/^[A-Za-z0-9+/=\s]*$/, 'expected base64').optional().meta({ description: 'the file itself (base64): only its SHA-256 is kept' }),
    })
    .strict(),
);

const Registration = openApi.register(
  'DocumentRegistration',
  z.object({
    id: z.string().meta({ description: 'the verification id (26 base32 characters)' }),
    url: z.string().meta({ description: 'the page the QR code links to: `/verify/{id}`' }),
    qrSvg: z.string().meta({ description: 'the QR code of `url`, SVG' }),
    sha256: z.string(),
    title: z.string(),
    issuer: z.string(),
    date: z.string().nullable(),
    registeredAt: z.string(),
  }),
);

openApi.registerPath({
  method: 'post',
  path: '/api/v1/documents',
  summary: 'Register an issued document for QR verification: its SHA-256, title, issuer and date are kept (never the file); audited as document.register',
  security: [{ bearer: ['documents:register'] }],
  request: { body: { content: { 'application/json': { schema: RegistrationRequest } } } },
  responses: { 201: { description: 'registered', content: { 'application/json': { schema: Registration } } }, ...problemResponses(400, 401, 403, 413, 415) },
});

/** QR document registration (scope documents:register; docs/verify.md). */
export function documentsRouter(deps: { documents: DocumentRegistry; verifier: AccessTokenVerifier }): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  router.post('/documents', requireScopes(deps.verifier, 'documents:register'), async (ctx) => {
    if (!ctx.request.is('application/json')) throw new AppError('unsupportedMediaType', `expected Content-Type application/json, got ${ctx.get('content-type') || 'none'}`);
    const body = validate(RegistrationRequest, ctx.request.body, 'body');
    if (!body.sha256 && body.document === undefined) throw new AppError('validationFailed', 'give the document (base64) or its sha256');
    const document = body.document !== undefined ? new Uint8Array(Buffer.from(body.document.replace(/\s+/g, ''), 'base64')) : undefined;
    const { document: doc, url, qrSvg } = await deps.documents.register(actorOf(ctx.state), { document, sha256: body.sha256, title: body.title, issuer: body.issuer, documentDate: body.date ?? null });
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { id: doc.id, url, qrSvg, sha256: doc.sha256, title: doc.title, issuer: doc.issuer, date: doc.documentDate, registeredAt: doc.registeredAt.toISOString() };
  });
  return router;
}
