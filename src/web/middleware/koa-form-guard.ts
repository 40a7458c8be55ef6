import { createHmac, timingSafeEqual } from 'node:crypto';
import { refuseUnsafeText } from '../api/parse-input.js';
import { AppError } from '../../errors/app-error.js';
import type { AppContext } from '../context.js';
import { readBody } from './koa-body-limits.js';

/**
 * The one guard of every state-changing request our own pages make: the login, consent and
 * federation-link forms, the account page, the administration console, and the passkey
 * ceremonies' JSON calls. Two checks, each the caller's to place (their order decides which
 * refusal a request that fails both gets, and that is kept as it was):
 *
 * 1. Same origin. Fetch metadata first (browsers send `Sec-Fetch-Site` with every request), the
 *    `Origin` header as the fallback. No cross-site request reaches a state change.
 * 2. A token bound to the interaction or the session: HMAC-SHA256 of `<purpose>:<key>` under the
 *    installation's secret, shared by every node, so no server-side state. The purpose keeps one
 *    page's token useless on another.
 */

/** What a token is bound to; `certificate-login` signs the hand-over between the two origins. */
export type TokenPurpose = 'admin' | 'account' | 'interaction' | 'federation-link' | 'certificate-login' | 'demo';

/**
 * Who makes the request:
 * - `form`: a form post, a navigation. `Sec-Fetch-Site` may be `none` (started by the person),
 *   and `Origin` may be `null`: a privacy setting, or `Referrer-Policy: no-referrer`, turns a
 *   same-origin post's Origin into "null", so that alone is no refusal.
 * - `script`: a fetch() from our own page's script: same-origin, with our Origin when there is one.
 */
export type Caller = 'form' | 'script';

const REFUSAL: Record<Caller, string> = { form: 'cross-origin form submission refused', script: 'cross-origin call refused' };

export function isCrossOrigin(ctx: AppContext, publicOrigin: string, caller: Caller): boolean {
  const site = ctx.get('sec-fetch-site');
  const origin = ctx.get('origin');
  if (caller === 'script') return (!!site && site !== 'same-origin') || (!!origin && origin !== publicOrigin);
  return (!!site && site !== 'same-origin' && site !== 'none') || (!!origin && origin !== 'null' && origin !== publicOrigin);
}

/** 403 (`forbidden`) for a cross-origin request. */
export function refuseCrossOrigin(ctx: AppContext, publicOrigin: string, caller: Caller): void {
  if (isCrossOrigin(ctx, publicOrigin, caller)) throw new AppError('forbidden', REFUSAL[caller]);
}

export function csrfToken(secret: Buffer, purpose: TokenPurpose, key: string): string {
  return createHmac('sha256', secret).update(`${purpose}:${key}`).digest('base64url');
}

/** Constant-time comparison of a token given by the browser with the expected one. */
export function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** 415 unless the body is an HTML form (application/x-www-form-urlencoded). */
export function requireUrlEncoded(ctx: AppContext): void {
  if (!ctx.request.is('application/x-www-form-urlencoded')) throw new AppError('unsupportedMediaType', 'expected an application/x-www-form-urlencoded form');
}

/** The form's fields, read under `limitBytes` (413 beyond). */
export async function readUrlEncoded(ctx: AppContext, limitBytes: number): Promise<URLSearchParams> {
  const form = new URLSearchParams((await readBody(ctx, limitBytes)).toString('utf8'));
  // %00 decodes to a NUL, which no text column holds (parse-input.ts): a 400 naming the field.
  for (const [name, value] of form) refuseUnsafeText({ [name]: value }, 'form');
  return form;
}

export interface FormGuardOptions {
  /** Scheme, host and port of PUBLIC_URL: the only origin our pages post from. */
  publicOrigin: string;
  secret: Buffer;
  purpose: TokenPurpose;
}

/** The guard of one family of pages: its tokens, and the two checks with its purpose. */
export interface FormGuard {
  /** The token the pages' forms carry for `key` (an interaction uid, a session uid). */
  token(key: string): string;
  /** Refuses a cross-origin form post (403 `forbidden`). */
  checkOrigin(ctx: AppContext): void;
  /** The form's token is the one for `key`. */
  accepts(key: string, given: string | null | undefined): boolean;
  /** A JSON call of our page's script: same-origin, and the page's token in `X-CSRF-Token` (403 otherwise). */
  checkScriptCall(ctx: AppContext, key: string): void;
}

export function formGuard(options: FormGuardOptions): FormGuard {
  const token = (key: string) => csrfToken(options.secret, options.purpose, key);
  return {
    token,
    checkOrigin: (ctx) => refuseCrossOrigin(ctx, options.publicOrigin, 'form'),
    accepts: (key, given) => sameToken(given ?? '', token(key)),
    checkScriptCall(ctx, key) {
      refuseCrossOrigin(ctx, options.publicOrigin, 'script');
      if (!sameToken(ctx.get('x-csrf-token'), token(key))) throw new AppError('forbidden', 'missing or wrong X-CSRF-Token');
    },
  };
}
