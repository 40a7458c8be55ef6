import Busboy from 'busboy';
import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import type { AppContext } from '../context.js';
import { readUrlEncoded, requireUrlEncoded } from '../middleware/koa-form-guard.js';
import { validate } from '../api/parse-input.js';
import { at } from './admin-messages.js';
import { redirect, type AdminConsole, type Officer } from './admin-console.js';

const FORM_LIMIT = 64 * 1024;
const UPLOAD_LIMIT = 256 * 1024;

/** A multipart form's fields (the last value of each) and files. */
export interface Upload {
  fields: Map<string, string>;
  files: Map<string, Buffer>;
}

/** A multipart form (CSR and certificate uploads) read with busboy under a small cap. */
function readMultipart(ctx: AppContext, limitBytes: number): Promise<Upload> {
  return new Promise((resolve, reject) => {
    let busboy: Busboy.Busboy;
    try {
      busboy = Busboy({ headers: ctx.req.headers, limits: { fileSize: limitBytes, files: 2, fields: 20, fieldSize: limitBytes, parts: 22 } });
    } catch (err) {
      reject(new AppError('badRequest', `multipart: ${(err as Error).message}`));
      return;
    }
    const fields = new Map<string, string>();
    const files = new Map<string, Buffer>();
    let failed: AppError | null = null;
    busboy.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => (failed ??= new AppError('payloadTooLarge', `file ${name} exceeds ${limitBytes} bytes`, { limitBytes })));
      stream.on('end', () => files.set(name, Buffer.concat(chunks)));
    });
    busboy.on('field', (name, value, info) => {
      if (info.valueTruncated) failed ??= new AppError('validationFailed', `field ${name} is too long`);
      fields.set(name, value);
    });
    for (const limit of ['filesLimit', 'fieldsLimit', 'partsLimit'] as const) busboy.on(limit, () => (failed ??= new AppError('validationFailed', 'too many form fields')));
    busboy.on('error', (err: Error) => reject(new AppError('badRequest', `multipart: ${err.message}`)));
    busboy.on('close', () => (failed ? reject(failed) : resolve({ fields, files })));
    ctx.req.pipe(busboy);
  });
}

/** A form of the console: same origin first, then an HTML form, then the session's token. */
export async function readForm(c: AdminConsole, ctx: AppContext, o: Officer): Promise<URLSearchParams> {
  c.guard.checkOrigin(ctx);
  requireUrlEncoded(ctx);
  const form = await readUrlEncoded(ctx, FORM_LIMIT);
  if (!c.guard.accepts(o.sessionUid, form.get('csrf'))) throw new AppError('forbidden', at(o.lang, 'error.csrf'));
  return form;
}

/** An upload form (multipart) of the console, with the same checks. */
export async function readUpload(c: AdminConsole, ctx: AppContext, o: Officer): Promise<Upload> {
  c.guard.checkOrigin(ctx);
  if (!ctx.request.is('multipart/form-data')) throw new AppError('unsupportedMediaType', 'expected a multipart/form-data form');
  const body = await readMultipart(ctx, UPLOAD_LIMIT);
  if (!c.guard.accepts(o.sessionUid, body.fields.get('csrf'))) throw new AppError('forbidden', at(o.lang, 'error.csrf'));
  return body;
}

/** Changes need a high-assurance login: otherwise off to the provider's step-up first. */
export function steppedUp(ctx: AppContext, o: Officer, returnTo: string): boolean {
  if (o.high) return true;
  redirect(ctx, `/admin/step-up?return=${encodeURIComponent(returnTo)}`);
  return false;
}

/** Destructive actions carry a ticked confirmation box. */
export function confirmed(o: Officer, form: URLSearchParams): void {
  if (form.get('confirm') !== 'yes') throw new AppError('validationFailed', at(o.lang, 'error.confirm'));
}

/**
 * The fields of a form as zod parses them: the first value of each field (as
 * URLSearchParams.get), every value of the `multi` ones; an upload's fields as they are.
 */
function fieldsOf(form: URLSearchParams | Map<string, string>, multi: readonly string[]): Record<string, string | string[]> {
  if (form instanceof Map) return Object.fromEntries(form);
  const fields = new Map<string, string | string[]>();
  for (const [name, value] of form) if (!fields.has(name)) fields.set(name, multi.includes(name) ? form.getAll(name) : value);
  return Object.fromEntries(fields);
}

/** Parses a form with a zod schema: a refusal (`validationFailed`) names the field, as the REST API's. */
export function parseForm<S extends z.ZodType>(schema: S, form: URLSearchParams | Map<string, string>, multi: readonly string[] = []): z.output<S> {
  return validate(schema, fieldsOf(form, multi), 'body');
}

/** A text field as the console reads it: absent is empty, surrounding blanks dropped. */
export const trimmed = z
  .string()
  .default('')
  .transform((s) => s.trim());
