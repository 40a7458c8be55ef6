import type { Middleware } from 'koa';
import { AppError, errorKinds } from '../../errors/app-error.js';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../../errors/dependency-unavailable.js';
import type { AppState } from '../context.js';

type ClientAuthVerdict<A> = { allowed: true; admission: A } | { allowed: false; retryAfterSeconds: number };

/** What this middleware needs of the throttle (src/auth/client-auth-throttle.ts). */
export interface ClientAuthGuard<A = unknown> {
  /** A value rather than a promise when answered from memory (the token endpoint's common case). */
  admit(a: { clientId: string | null; secret?: string | null; ip: string; endpoint: string }): ClientAuthVerdict<A> | Promise<ClientAuthVerdict<A>>;
  /** undefined when there was nothing to settle. */
  settle(admission: A, a: { clientId: string | null; ip: string; endpoint: string }, failure: { reason: string } | null): Promise<void> | undefined;
  abandoned(admission: A): Promise<void>;
}

/** The provider's endpoints that authenticate clients (mounted under /oidc). */
const CLIENT_AUTH_PATHS = new Set(['/oidc/token', '/oidc/token/introspection', '/oidc/token/revocation']);

/** oidc-provider's own cap on a form body (lib/shared/selective_body.js). */
const BODY_LIMIT = 56 * 1024;

/**
 * A form-encoded part of Basic credentials (RFC 6749 §2.3.1); throws on a malformed escape. A part
 * without '%' or '+' (a generated secret is base64url) decodes to itself: returned as it is.
 */
const formDecoded = (v: string) => (v.includes('%') || v.includes('+') ? decodeURIComponent(v.replace(/\+/g, ' ')) : v);

/** RFC 6749 §2.3.1: client_secret_basic carries form-encoded id and secret. */
function basicCredentials(authorization: string): { clientId: string; secret: string | null } | null {
  const m = /^basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(authorization);
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return null;
  let clientId: string;
  try {
    clientId = formDecoded(decoded.slice(0, colon));
  } catch {
    return null;
  }
  try {
    return { clientId, secret: formDecoded(decoded.slice(colon + 1)) };
  } catch {
    return { clientId, secret: null };
  }
}

/**
 * The client_id of a client_secret_post request is in the body, which oidc-provider reads itself.
 * The body is read here (within the provider's own cap) and handed on as a stream that yields the
 * same bytes, so the provider parses exactly what was counted.
 */
async function bodyCredentials(ctx: Parameters<Middleware<AppState>>[0]): Promise<{ clientId: string | null; secret: string | null }> {
  const none = { clientId: null, secret: null };
  if (!ctx.is('application/x-www-form-urlencoded')) return none;
  const declared = ctx.request.length;
  if (declared !== undefined && declared > BODY_LIMIT) return none; // the provider refuses it
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of ctx.req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > BODY_LIMIT) throw new AppError('payloadTooLarge', `a form body at ${ctx.path} is limited to ${BODY_LIMIT} bytes`);
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks, received);
  const original = ctx.req;
  ctx.req = Object.create(original, {
    readable: { value: true },
    readableEncoding: { value: null },
    iterator: {
      value: async function* replay() {
        yield body;
      },
    },
  }) as typeof original;
  const form = new URLSearchParams(body.toString('utf8'));
  return { clientId: form.get('client_id'), secret: form.get('client_secret') };
}

type Ctx = Parameters<Middleware<AppState>>[0];
type Attempt = Readonly<{ clientId: string | null; secret?: string | null; ip: string; endpoint: string }>;

/** An attempt made from Basic credentials, with the address and endpoint it was made for. */
interface RecentAttempt {
  ip: string;
  endpoint: string;
  attempt: Attempt;
}

/**
 * Headers whose attempts are kept (all are dropped when full: an address cycling through headers
 * only makes its own requests decode theirs again, as every request did before).
 */
const RECENT_ATTEMPTS = 256;

/** Nothing can be counted, so nothing is checked: the provider's own answer for a database that is away. */
function databaseAway(ctx: Ctx): void {
  // RFC 6749 §5.2 has no such error; oidc-provider answers it so too.
  ctx.status = 503;
  ctx.set('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: errorKinds.unavailable.oauth, error_description: 'the database is unavailable' };
}

function refused(ctx: Ctx, retryAfterSeconds: number): void {
  ctx.status = 429;
  ctx.set('Retry-After', String(retryAfterSeconds));
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: errorKinds.rateLimited.oauth, error_description: `too many failed client authentications from this address; retry after ${retryAfterSeconds} s` };
}

/**
 * The attempt last made from each Authorization header, for any connection: a client sends the
 * same credentials on every request, over one keep-alive connection or a new connection each
 * time. Used again only for the same header, address and endpoint (the same input, the same
 * attempt; the throttle keeps its keys and the registry its verdict by the attempt). Kept on the
 * socket until the tenth pass, a client that opened a connection per request decoded its header,
 * made its keys and compared its secret at every request (docs/performance.md, "Token endpoint
 * (client credentials), tenth pass"). undefined: no Basic credentials in the header.
 */
function basicAttempts(): (authorization: string, ip: string, endpoint: string) => Attempt | undefined {
  const recent = new Map<string, RecentAttempt>();
  return (authorization, ip, endpoint) => {
    const last = recent.get(authorization);
    if (last !== undefined && last.ip === ip && last.endpoint === endpoint) return last.attempt;
    const credentials = basicCredentials(authorization);
    if (!credentials) return undefined;
    const attempt = Object.freeze({ clientId: credentials.clientId, secret: credentials.secret, ip, endpoint });
    if (last === undefined && recent.size >= RECENT_ATTEMPTS) recent.clear();
    recent.set(authorization, { ip, endpoint, attempt });
    return attempt;
  };
}

/**
 * Throttles client authentication at the token, introspection and revocation endpoints: the
 * attempt is counted before oidc-provider checks the secret, and settled by its answer (401
 * `invalid_client` is a failure). A refused request gets 429 with Retry-After and an OAuth error
 * body, without reaching the provider.
 *
 * The common case (Basic credentials, a verdict the guard answers from memory) runs without an
 * async function of its own: one `then` after the rest of the request, where an async function
 * and its awaits made two promises and more per request (docs/performance.md, "Token endpoint
 * (client credentials), seventh pass"). The other cases take the awaited path as before; the
 * decisions, answers and settlements are the same on both.
 */
export function clientAuthThrottle<A>(guard: ClientAuthGuard<A>): Middleware<AppState> {
  const basicAttempt = basicAttempts();
  /** The provider answered: a failed client authentication keeps its count, anything else gives it back. */
  const settle = (ctx: Ctx, admission: A, attempt: Attempt): Promise<void> | undefined => {
    const body = ctx.body as { error?: unknown; error_description?: unknown } | null;
    const failed = ctx.status === 401 && body?.error === 'invalid_client';
    let settling: Promise<void> | undefined;
    try {
      settling = guard.settle(admission, attempt, failed ? { reason: String(body?.error_description ?? 'invalid_client') } : null);
    } catch (err) {
      settling = Promise.reject(err as Error);
    }
    return settling?.catch((err: unknown) => {
      // The provider has answered; an attempt left pending ends with its window.
      if (!isDatabaseUnavailable(err)) throw err;
      ctx.state.log?.warn({ err }, 'could not settle a client authentication attempt');
    });
  };

  /** The rest of the request after an admission, then its settlement (one promise). */
  const admitted = (ctx: Ctx, next: () => Promise<unknown>, attempt: Attempt, admission: A): Promise<void> => {
    const abandon = (err: unknown) => guard.abandoned(admission).then(() => Promise.reject(err as Error));
    ctx.state.clientAuthAttempt = attempt; // the provider's check of the secret takes the guard's verdict (oidc/provider.ts)
    let running: Promise<unknown>;
    try {
      running = next();
    } catch (err) {
      return abandon(err);
    }
    return running.then(() => settle(ctx, admission, attempt), abandon);
  };

  /** Credentials in the body, or a verdict that needs the database: awaited, as it always was. */
  const awaited = async (ctx: Ctx, next: () => Promise<unknown>, known?: { attempt: Attempt; pending: Promise<ClientAuthVerdict<A>> }): Promise<void> => {
    let attempt: Attempt;
    if (known) attempt = known.attempt;
    else {
      const found = await bodyCredentials(ctx);
      attempt = { clientId: found.clientId, secret: found.secret, ip: ctx.ip, endpoint: ctx.path };
    }
    let verdict: ClientAuthVerdict<A>;
    try {
      verdict = await (known ? known.pending : guard.admit(attempt));
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      return databaseAway(ctx);
    }
    if (!verdict.allowed) return refused(ctx, verdict.retryAfterSeconds);
    return admitted(ctx, next, attempt, verdict.admission);
  };

  return function clientAuthThrottle(ctx, next) {
    const endpoint = ctx.path;
    if (ctx.method !== 'POST' || !CLIENT_AUTH_PATHS.has(endpoint)) return next();
    const authorization = ctx.get('authorization');
    const ip = ctx.ip;
    const attempt = basicAttempt(authorization, ip, endpoint);
    if (!attempt) return awaited(ctx, next);
    let verdict: ClientAuthVerdict<A> | Promise<ClientAuthVerdict<A>>;
    try {
      verdict = guard.admit(attempt);
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      return databaseAway(ctx);
    }
    if (verdict instanceof Promise) return awaited(ctx, next, { attempt, pending: verdict });
    if (!verdict.allowed) return refused(ctx, verdict.retryAfterSeconds);
    return admitted(ctx, next, attempt, verdict.admission);
  };
}
