import Router from '@koa/router';
import Busboy from 'busboy';
import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import type { AccessTokenVerifier } from '../../auth/access-token-verifier.js';
import { RAW_ALGORITHMS, type SignatureInput, type SignatureValidator } from '../../validation/signature-validator.js';
import { CertificateValidationReportSchema, SignatureValidationReportSchema } from '../../validation/report.js';
import { POLICY_NAMES } from '../../validation/policy.js';
import { requireScopes } from '../middleware/koa-api-auth.js';
import { readBody } from '../middleware/koa-body-limits.js';
import { openApi, problemResponses } from './openapi-registry.js';
import { validate } from './parse-input.js';
import type { AppContext, AppState } from '../context.js';

const base64 = z.string().max(700 * 1024 * 1024).regex(/^[A-Za-z0-9+/=\s_-]*$/, 'expected base64');
const certificateText = z.string().min(1).max(1024 * 1024).meta({ description: 'PEM, or base64 of the DER' });
const time = z.iso.datetime({ offset: true });
const claimedTime = time.meta({ description: 'a time the caller claims: reported in claimedTimes, never used as proof of existence (signatures are checked at a trusted time-stamp\'s time, else now)' });
const timestamps = z.array(base64).max(10).meta({ description: 'RFC 3161 time-stamp tokens (base64 DER) over signature values: proof of existence from the caller\'s archive' });
const policy = z.enum(POLICY_NAMES).meta({ description: 'validation policy: default (SHA-1 and RSA < 2048 refused without a time-stamp before their sunset), legacy (weak algorithms warn only)' });

const SignatureRequest = openApi.register(
  'SignatureValidationRequest',
  z
    .object({
      kind: z.enum(['cms', 'pdf', 'raw', 'xml']).optional().meta({ description: 'default: pdf when only a PDF document is given, xml when only an XML document is, raw when a certificate and a signature are, else cms' }),
      signature: base64.optional().meta({ description: 'CMS/PKCS#7 (attached or detached; DER base64 or PEM) or a raw signature value (base64)' }),
      document: base64.optional().meta({ description: 'the PDF, the signed XML (XMLDSig/XAdES, every ds:Signature validated), or the signed data of a detached CMS or raw signature (base64)' }),
      digest: z.object({ algorithm: z.enum(['sha1', 'sha256', 'sha384', 'sha512']), value: z.string().regex(/^[0-9a-fA-F]+$|^[A-Za-z0-9+/=]+$/) }).strict().optional().meta({ description: 'only the digest of the detached content (hex or base64)' }),
      certificate: certificateText.optional().meta({ description: 'the signer\'s certificate (raw signatures)' }),
      chain: z.array(certificateText).max(20).optional().meta({ description: 'intermediate certificates the signature does not carry' }),
      algorithm: z.enum(RAW_ALGORITHMS).optional().meta({ description: 'raw signatures: default by key (RSA PKCS#1 v1.5 / ECDSA with SHA-256, Ed25519)' }),
      validationTime: claimedTime.optional(),
      timestamps: timestamps.optional(),
      policy: policy.optional(),
    })
    .strict(),
);

const CertificateRequest = openApi.register(
  'CertificateValidationRequest',
  z.object({ certificate: certificateText, chain: z.array(certificateText).max(20).optional(), validationTime: time.optional().meta({ description: 'the time to answer the certificate\'s status at (default now)' }) }).strict(),
);

const SignatureReport = openApi.register('SignatureValidationReport', SignatureValidationReportSchema);
const CertificateReport = openApi.register('CertificateValidationReport', CertificateValidationReportSchema);

const multipartDescription = 'multipart/form-data: files `signature`, `document`, `certificate`, `chain` and `timestamp` (both repeatable); fields `kind`, `algorithm`, `validationTime`, `digestAlgorithm`, `digest`, `policy`';
openApi.registerPath({
  method: 'post',
  path: '/api/v1/signatures/validate',
  summary: 'Validate CMS/PKCS#7, PDF (every signature), XML (XMLDSig/XAdES, every signature; e-invoice profile) or raw signatures: integrity, signer, chain to a trusted root, revocation at the signing time (ETSI EN 319 102-1 indications)',
  security: [{ bearer: ['signatures:validate'] }],
  request: {
    body: {
      content: {
        'application/json': { schema: SignatureRequest },
        'multipart/form-data': { schema: z.object({ signature: z.string().meta({ format: 'binary' }).optional(), document: z.string().meta({ format: 'binary' }).optional() }).meta({ description: multipartDescription }) },
        'application/pdf': { schema: z.string().meta({ format: 'binary' }) },
        'application/xml': { schema: z.string().meta({ format: 'binary', description: 'signed XML (also text/xml); DTDs, entity declarations, nesting over 100 levels, over 5,000 elements and documents over 4 MiB are refused with 400' }) },
      },
    },
  },
  responses: { 200: { description: 'the report (a failed signature is still a 200)', content: { 'application/json': { schema: SignatureReport } } }, ...problemResponses(400, 401, 403, 413, 415) },
});
openApi.registerPath({
  method: 'post',
  path: '/api/v1/certificates/validate',
  summary: 'Validate one certificate: chain to a trusted root, constraints and revocation at a time (default now)',
  security: [{ bearer: ['signatures:validate'] }],
  request: { body: { content: { 'application/json': { schema: CertificateRequest } } } },
  responses: { 200: { description: 'the report', content: { 'application/json': { schema: CertificateReport } } }, ...problemResponses(400, 401, 403, 413, 415) },
});

function bytesOf(text: string, what: string): Uint8Array {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) return new Uint8Array(Buffer.from(trimmed, 'utf8'));
  const clean = trimmed.replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) throw new AppError('validationFailed', `${what}: not base64`);
  const bytes = Buffer.from(clean, 'base64');
  if (!bytes.length && clean.length) throw new AppError('validationFailed', `${what}: not base64`);
  return new Uint8Array(bytes);
}

function digestBytes(value: string): Uint8Array {
  return /^[0-9a-fA-F]+$/.test(value) && value.length % 2 === 0 ? new Uint8Array(Buffer.from(value, 'hex')) : bytesOf(value, 'digest.value');
}

interface Multipart {
  files: Map<string, Buffer[]>;
  fields: Map<string, string>;
}

/** Reads a multipart body with busboy under the route's cap; any parser error is a 400. */
export function readMultipart(ctx: AppContext, limitBytes: number): Promise<Multipart> {
  return new Promise((resolve, reject) => {
    let busboy: Busboy.Busboy;
    try {
      busboy = Busboy({ headers: ctx.req.headers, limits: { fileSize: limitBytes, files: 25, fields: 20, fieldSize: 64 * 1024, parts: 45 } });
    } catch (err) {
      reject(new AppError('badRequest', `multipart: ${(err as Error).message}`));
      return;
    }
    const files = new Map<string, Buffer[]>();
    const fields = new Map<string, string>();
    let total = 0;
    let failed: AppError | null = null;
    const fail = (e: AppError) => {
      failed ??= e;
    };
    busboy.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > limitBytes) fail(new AppError('payloadTooLarge', `request body exceeds the limit of ${limitBytes} bytes`, { limitBytes }));
        else chunks.push(chunk);
      });
      stream.on('limit', () => fail(new AppError('payloadTooLarge', `part ${name} exceeds the limit of ${limitBytes} bytes`, { limitBytes })));
      stream.on('end', () => files.set(name, [...(files.get(name) ?? []), Buffer.concat(chunks)]));
    });
    busboy.on('field', (name, value, info) => {
      if (info.valueTruncated) fail(new AppError('validationFailed', `field ${name} is too long`));
      fields.set(name, value);
    });
    busboy.on('filesLimit', () => fail(new AppError('validationFailed', 'too many files (at most 25)')));
    busboy.on('fieldsLimit', () => fail(new AppError('validationFailed', 'too many fields (at most 20)')));
    busboy.on('partsLimit', () => fail(new AppError('validationFailed', 'too many parts')));
    busboy.on('error', (err: Error) => reject(new AppError('badRequest', `multipart: ${err.message}`)));
    busboy.on('close', () => (failed ? reject(failed) : resolve({ files, fields })));
    ctx.req.on('aborted', () => reject(new AppError('badRequest', 'the client aborted the request body')));
    ctx.req.pipe(busboy);
  });
}

const MultipartFields = z
  .object({
    kind: z.enum(['cms', 'pdf', 'raw', 'xml']).optional(),
    algorithm: z.enum(RAW_ALGORITHMS).optional(),
    validationTime: claimedTime.optional(),
    digestAlgorithm: z.enum(['sha1', 'sha256', 'sha384', 'sha512']).optional(),
    digest: z.string().max(256).optional(),
    policy: policy.optional(),
  })
  .strict();

async function signatureInput(ctx: AppContext): Promise<SignatureInput> {
  const limit = ctx.state.bodyLimitBytes ?? 1024 * 1024;
  if (ctx.request.is('application/json')) {
    const body = validate(SignatureRequest, ctx.request.body, 'body');
    return {
      kind: body.kind,
      signature: body.signature !== undefined ? bytesOf(body.signature, 'signature') : undefined,
      document: body.document !== undefined ? bytesOf(body.document, 'document') : undefined,
      digest: body.digest ? { algorithm: body.digest.algorithm, value: digestBytes(body.digest.value) } : undefined,
      certificate: body.certificate ? bytesOf(body.certificate, 'certificate') : undefined,
      chain: body.chain?.map((c, i) => bytesOf(c, `chain[${i}]`)),
      algorithm: body.algorithm,
      validationTime: body.validationTime ? new Date(body.validationTime) : undefined,
      timestamps: body.timestamps?.map((t, i) => bytesOf(t, `timestamps[${i}]`)),
      policy: body.policy,
    };
  }
  if (ctx.request.is('multipart/form-data')) {
    const { files, fields } = await readMultipart(ctx, limit);
    const f = validate(MultipartFields, Object.fromEntries(fields), 'body');
    const unknown = [...files.keys()].filter((k) => !['signature', 'document', 'certificate', 'chain', 'timestamp'].includes(k));
    if (unknown.length) throw new AppError('validationFailed', `unknown file part(s): ${unknown.join(', ')}`);
    const one = (name: string) => {
      const list = files.get(name);
      if (list && list.length > 1) throw new AppError('validationFailed', `${name}: give one file`);
      return list?.[0] ? new Uint8Array(list[0]) : undefined;
    };
    if (f.digest && !f.digestAlgorithm) throw new AppError('validationFailed', 'digest needs digestAlgorithm');
    return {
      kind: f.kind,
      signature: one('signature'),
      document: one('document'),
      certificate: one('certificate'),
      chain: (files.get('chain') ?? []).map((b) => new Uint8Array(b)),
      digest: f.digest && f.digestAlgorithm ? { algorithm: f.digestAlgorithm, value: digestBytes(f.digest) } : undefined,
      algorithm: f.algorithm,
      validationTime: f.validationTime ? new Date(f.validationTime) : undefined,
      timestamps: (files.get('timestamp') ?? []).slice(0, 10).map((b) => new Uint8Array(b)),
      policy: f.policy,
    };
  }
  if (ctx.request.is('application/pdf')) return { kind: 'pdf', document: new Uint8Array(await readBody(ctx, limit)) };
  if (ctx.request.is('application/xml', 'text/xml')) return { kind: 'xml', document: new Uint8Array(await readBody(ctx, limit)) };
  throw new AppError('unsupportedMediaType', `expected Content-Type application/json, multipart/form-data, application/pdf or application/xml, got ${ctx.get('content-type') || 'none'}`);
}

export interface SignaturesRouterDeps {
  validator: SignatureValidator;
  verifier: AccessTokenVerifier;
}

/** Signature and certificate validation over REST (scope signatures:validate). */
export function signaturesRouter(deps: SignaturesRouterDeps): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const scope = requireScopes(deps.verifier, 'signatures:validate');

  router.post('/signatures/validate', scope, async (ctx) => {
    const input = await signatureInput(ctx);
    if (!input.signature && !input.document) throw new AppError('validationFailed', 'give a signature, a document, or both');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await deps.validator.validateSignature(input);
  });

  router.post('/certificates/validate', scope, async (ctx) => {
    if (!ctx.request.is('application/json')) throw new AppError('unsupportedMediaType', `expected Content-Type application/json, got ${ctx.get('content-type') || 'none'}`);
    const body = validate(CertificateRequest, ctx.request.body, 'body');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await deps.validator.validateCertificate({
      certificate: bytesOf(body.certificate, 'certificate'),
      chain: body.chain?.map((c, i) => bytesOf(c, `chain[${i}]`)),
      validationTime: body.validationTime ? new Date(body.validationTime) : undefined,
    });
  });

  return router;
}
