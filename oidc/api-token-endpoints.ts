import { randomBytes } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import { decodeProtectedHeader } from 'jose';
import type { ApiTokens } from './ports.js';

/** oidc-provider's own limit on a form body at these endpoints. */
const LIMIT = 56 * 1024;
const ROUTES = new Map<string, 'revocation' | 'introspection'>([
  ['/oidc/token/revocation', 'revocation'],
  ['/oidc/token/introspection', 'introspection'],
]);

function isJwt(token: string): boolean {
  try {
    return !!decodeProtectedHeader(token);
  } catch {
    return false;
  }
}

async function readForm(ctx: Context): Promise<string | null> {
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of ctx.req) {
    received += (chunk as Buffer).length;
    if (received > LIMIT) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** RFC 7662 §2.2: what introspection says of an active API token of ours. */
function introspection(claims: Record<string, unknown>): Record<string, unknown> {
  const pick = ['scope', 'client_id', 'sub', 'exp', 'iat', 'nbf', 'aud', 'iss', 'jti', 'acr', 'amr', 'auth_time', 'cnf'];
  const out: Record<string, unknown> = { active: true };
  for (const k of pick) if (claims[k] !== undefined) out[k] = claims[k];
  out.token_type = (claims.cnf as { jkt?: string } | undefined)?.jkt ? 'DPoP' : 'Bearer';
  return out;
}

/**
 * Revocation (RFC 7009) and introspection (RFC 7662) of the API's JWT access tokens, which
 * oidc-provider refuses by design (`unsupported_token_type`: it keeps no record of structured
 * tokens). For a JWT, oidc-provider still authenticates the client, given a stand-in token it
 * will not find; once it has (200, the client known), we answer: revoke when the token was issued
 * to that client (RFC 7009 §2.1; 200 whatever the token was), or say whether it is active (a
 * client introspects only its own tokens, as oidc-provider's policy says for the others). Any
 * other token goes to oidc-provider unchanged.
 */
export function apiTokenEndpoints(apiTokens: ApiTokens, mounted: () => Middleware): Middleware {
  return async function apiTokenEndpoint(ctx: Context, next: Next) {
    const route = ROUTES.get(ctx.path);
    if (!route || ctx.method !== 'POST' || !ctx.is('application/x-www-form-urlencoded')) return mounted()(ctx, next);
    const raw = await readForm(ctx);
    const params = new URLSearchParams(raw ?? '');
    const token = params.get('token');
    const ours = raw !== null && token !== null && params.getAll('token').length === 1 && isJwt(token);
    // oidc-provider reads an already consumed body from `req.body` (lib/shared/selective_body.js).
    if (ours) params.set('token', randomBytes(32).toString('base64url'));
    (ctx.req as unknown as { body: string }).body = ours ? params.toString() : (raw ?? '');
    await mounted()(ctx, next);
    const client = (ctx as unknown as { oidc?: { client?: { clientId: string } } }).oidc?.client;
    if (!ours || ctx.status !== 200 || !client) return;
    const found = await apiTokens.inspect(token);
    const own = !!found && found.claims.client_id === client.clientId;
    if (route === 'revocation') {
      if (own) await apiTokens.revoke(found.claims);
      ctx.body = '';
      ctx.status = 200;
      return;
    }
    ctx.body = own && !found.revoked ? introspection(found.claims) : { active: false };
  };
}
