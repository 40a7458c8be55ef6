import { createHash } from 'node:crypto';
import Router from '@koa/router';
import { AppError, asAppError } from '../../errors/app-error.js';
import type { SignatureInput, SignatureValidator } from '../../validation/signature-validator.js';
import { pickLanguage } from '../locales/messages.js';
import { formGuard } from '../middleware/koa-form-guard.js';
import { serveStatic } from '../middleware/koa-serve-static.js';
import { readMultipart } from '../api/signatures-router.js';
import { sendPage } from '../views/html.js';
import type { AppContext, AppState } from '../context.js';
import { UploadRateLimit } from './upload-rate-limit.js';
import { publicReport } from './public-report.js';
import { verifyPage, type VerifyOutcome } from './verify-views.js';
import { documentPage } from './document-views.js';
import type { DocumentRegistry } from '../../documents/document-registry.js';
import { pt } from './verify-messages.js';
import { reportLines } from './report-lines.js';
import { signedReportPdf, type ReportSigningKey } from '../../validation/report-pdf.js';

export interface VerifyRouterDeps {
  /** The validation service the API's /api/v1/signatures/validate calls: one entry for both. */
  validator: Pick<SignatureValidator, 'validateSignature'>;
  publicOrigin: string;
  secret: Buffer;
  maxBytes: number;
  uploadsPerMinute: number;
  /** QR verification: registered documents (`/verify/{id}`). */
  documents: Pick<DocumentRegistry, 'find' | 'compare' | 'qrSvg'>;
  /** The CA's validation-report signer (docs/verify.md); null while there is none. */
  reportSigner(): Promise<ReportSigningKey | null>;
  /** The service's name on the signed report (PUBLIC_URL). */
  serviceName: string;
  now(): Date;
}

/**
 * The upload's kind, by content: a PDF by its header, XML by its first markup, anything else a
 * CMS signature (with the optional original document of a detached one).
 */
export function uploadKind(bytes: Uint8Array): 'pdf' | 'xml' | 'cms' {
  const head = Buffer.from(bytes.subarray(0, 1024)).toString('latin1');
  if (head.includes('%PDF-')) return 'pdf';
  if (/^(\xef\xbb\xbf)?\s*</.test(head)) return 'xml';
  return 'cms';
}


interface Upload {
  file: { bytes: Uint8Array; name: string } | null;
  document: Uint8Array | undefined;
  format: 'html' | 'json' | 'pdf';
}

async function readUpload(ctx: AppContext, maxBytes: number): Promise<Upload> {
  if (!ctx.request.is('multipart/form-data')) throw new AppError('unsupportedMediaType', `expected multipart/form-data, got ${ctx.get('content-type') || 'none'}`);
  const { files, fields } = await readMultipart(ctx, maxBytes);
  const unknown = [...files.keys(), ...fields.keys()].filter((k) => !['file', 'document', 'format', 'lang'].includes(k));
  if (unknown.length) throw new AppError('validationFailed', `unknown form part(s): ${unknown.join(', ')}`);
  if ((files.get('file')?.length ?? 0) > 1 || (files.get('document')?.length ?? 0) > 1) throw new AppError('validationFailed', 'give one file and at most one document');
  const format = fields.get('format') ?? 'html';
  if (format !== 'html' && format !== 'json' && format !== 'pdf') throw new AppError('validationFailed', 'format: html, json or pdf');
  const file = files.get('file')?.[0];
  const document = files.get('document')?.[0];
  // An empty file input still sends a part with no bytes.
  return { file: file?.length ? { bytes: new Uint8Array(file), name: 'upload' } : null, document: document?.length ? new Uint8Array(document) : undefined, format };
}

async function check(deps: VerifyRouterDeps, upload: Upload): Promise<VerifyOutcome> {
  const file = upload.file!;
  const kind = uploadKind(file.bytes);
  const input: SignatureInput = kind === 'cms' ? { kind, signature: file.bytes, document: upload.document } : { kind, document: file.bytes };
  try {
    return { kind: 'report', report: publicReport(await deps.validator.validateSignature(input)), fileName: file.name };
  } catch (err) {
    const e = asAppError(err);
    if (!e || e.status >= 500 || e.status === 413) throw err;
    return { kind: 'error', message: e.detail, fileName: file.name };
  }
}

/** Counts an upload against the client's address (TRUST_PROXY-aware `ctx.ip`): 429 with Retry-After past the rate. */
function takeUpload(ctx: AppContext, limit: UploadRateLimit): void {
  const decision = limit.take(ctx.ip);
  if (decision.allowed) return;
  ctx.set('Retry-After', String(decision.retryAfterSeconds));
  throw new AppError('rateLimited', `too many uploads from this address; retry after ${decision.retryAfterSeconds} s`, { retryAfter: decision.retryAfterSeconds });
}

/**
 * The public trust portal's upload page (docs/verify.md): no login, uploads read into memory
 * under VERIFY_MAX_BYTES, counted per client address, validated by the API's own validator and
 * forgotten with the response. Works without JavaScript (a multipart form post); the script only
 * shows progress.
 */
export function verifyRouter(deps: VerifyRouterDeps): Router<AppState> {
  const router = new Router<AppState>();
  const limit = new UploadRateLimit(deps.uploadsPerMinute);
  // Same-origin posts only (the one form guard); there is no session to bind a token to.
  const guard = formGuard({ publicOrigin: deps.publicOrigin, secret: deps.secret, purpose: 'interaction' });

  router.get('/static/verify.js', serveStatic(new URL('../static/verify.js', import.meta.url), 'text/javascript; charset=utf-8'));
  router.get('/static/verify.css', serveStatic(new URL('../static/verify.css', import.meta.url), 'text/css; charset=utf-8'));

  router.get('/verify', (ctx) => {
    sendPage(ctx, 200, verifyPage(pickLanguage(ctx)));
  });

  router.post('/verify', async (ctx) => {
    const lang = pickLanguage(ctx);
    guard.checkOrigin(ctx);
    takeUpload(ctx, limit);
    const upload = await readUpload(ctx, deps.maxBytes);
    if (!upload.file) {
      if (upload.format !== 'html') throw new AppError('validationFailed', 'file: choose a file');
      sendPage(ctx, 400, verifyPage(lang, { kind: 'error', message: pt(lang, 'verify.missingFile'), fileName: null }));
      return;
    }
    const outcome = await check(deps, upload);
    if (upload.format !== 'html') {
      if (outcome.kind === 'error') throw new AppError('badSignatureInput', outcome.message);
      ctx.set('Cache-Control', 'no-store');
      if (upload.format === 'json') {
        ctx.set('Content-Disposition', 'attachment; filename="validation-report.json"');
        ctx.type = 'application/json';
        ctx.body = outcome.report;
        return;
      }
      const key = await deps.reportSigner();
      if (!key) throw new AppError('unavailable', 'the service has no validation-report signer yet', { retryAfter: 60 });
      const sha = createHash('sha256').update(upload.file.bytes).digest('hex');
      ctx.set('Content-Disposition', 'attachment; filename="validation-report.pdf"');
      ctx.type = 'application/pdf';
      ctx.body = await signedReportPdf(pt(lang, 'report.title'), reportLines(lang, outcome.report, sha, deps.serviceName), deps.now(), key);
      return;
    }
    sendPage(ctx, outcome.kind === 'error' ? 400 : 200, verifyPage(lang, outcome));
  });

  // QR verification (docs/verify.md): what was registered, and the holder's file compared with it.
  router.get('/verify/:id', async (ctx) => {
    const doc = await deps.documents.find(ctx.params.id);
    sendPage(ctx, doc ? 200 : 404, documentPage(pickLanguage(ctx), ctx.params.id, doc));
  });

  router.get('/verify/:id/qr.svg', async (ctx) => {
    const doc = await deps.documents.find(ctx.params.id);
    if (!doc) throw new AppError('notFound', 'no document registered under this id');
    ctx.type = 'image/svg+xml';
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = await deps.documents.qrSvg(doc.id);
  });

  router.post('/verify/:id', async (ctx) => {
    const lang = pickLanguage(ctx);
    guard.checkOrigin(ctx);
    takeUpload(ctx, limit);
    const upload = await readUpload(ctx, deps.maxBytes);
    const doc = await deps.documents.find(ctx.params.id);
    if (!doc) {
      sendPage(ctx, 404, documentPage(lang, ctx.params.id, null));
      return;
    }
    if (!upload.file) throw new AppError('validationFailed', 'file: choose a file');
    sendPage(ctx, 200, documentPage(lang, doc.id, doc, deps.documents.compare(doc, upload.file.bytes)));
  });

  return router;
}
