import type { Middleware } from 'koa';
import { AppError } from '../../errors/app-error.js';
import { AccessTokenError, type AccessTokenVerifier, type VerifiedAccessToken } from '../../auth/access-token-verifier.js';
import { DPOP_ALGORITHMS, DpopProofError } from '../../auth/dpop.js';
import type { AppState } from '../context.js';
import { ACR, HIGH_ACR_SCOPES, acrAtLeast } from '../../../oidc/scopes.js';

declare module '../context.js' {
  interface AppState {
    auth?: VerifiedAccessToken;
  }
}

const REALM = 'tinnhiem';
const quote = (v: string) => v.replace(/["\\]/g, '');

/**
 * Bearer-token protection for the REST API (RFC 6750): only access tokens of this provider for
 * this resource, unexpired, carrying every scope the route needs. 401 with `invalid_token` for a
 * missing, forged, expired or foreign-audience token; 403 with `insufficient_scope` naming the
 * scope otherwise. The actor of audit events is then `user:<sub>` or `client:<client_id>`.
 */
export function requireScopes(verifier: AccessTokenVerifier, ...scopes: string[]): Middleware<AppState> {
  return async function apiAuthMiddleware(ctx, next) {
    const header = ctx.get('authorization');
    // RFC 7235 §2.1: the auth scheme is case-insensitive ("bearer" is as good as "Bearer").
    const match = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
    if (!match) {
      // RFC 6750 §3.1: no error code when the request carried no credentials at all.
      ctx.set('WWW-Authenticate', header ? `Bearer realm="${REALM}", error="invalid_request", error_description="malformed Authorization header"` : `Bearer realm="${REALM}"`);
      throw new AppError('unauthorized', header ? 'the Authorization header is not a Bearer token' : 'an access token is required (Authorization: Bearer …)');
    }
    const dpopScheme = match[1].toLowerCase() === 'dpop';
    const scheme = dpopScheme ? 'DPoP' : 'Bearer';
    let token: VerifiedAccessToken;
    try {
      token = await verifier.verify(match[2]);
    } catch (err) {
      if (!(err instanceof AccessTokenError)) throw err;
      ctx.set('WWW-Authenticate', `${scheme} realm="${REALM}", error="invalid_token", error_description="${quote(err.description)}"`);
      throw new AppError('unauthorized', err.description);
    }
    await checkBinding(ctx, verifier, token, match[2], dpopScheme);
    const missing = scopes.filter((s) => !token.scopes.has(s));
    if (missing.length) {
      ctx.set('WWW-Authenticate', `Bearer realm="${REALM}", error="insufficient_scope", scope="${scopes.join(' ')}"`);
      throw new AppError('forbidden', `this operation needs the scope ${missing.join(' ')}`, { error: 'insufficient_scope', requiredScopes: scopes });
    }
    // RFC 9470 §3: a person's token for an administration operation needs a high-assurance login;
    // the challenge names the acr, and the portal sends the person through step-up to get it.
    const needsHigh = scopes.filter((s) => (HIGH_ACR_SCOPES as readonly string[]).includes(s));
    if (needsHigh.length && token.subject !== token.clientId && !acrAtLeast(token.acr, ACR.high)) {
      ctx.set('WWW-Authenticate', `Bearer realm="${REALM}", error="insufficient_user_authentication", error_description="a stronger authentication is required", acr_values="${ACR.high}"`);
      throw new AppError('unauthorized', `${needsHigh.join(' ')} needs a login with a passkey or a certificate (acr ${ACR.high})`, { error: 'insufficient_user_authentication', acrValues: ACR.high });
    }
    ctx.state.auth = token;
    await next();
  };
}

/**
 * RFC 9449 §7.1–7.2: a token bound to a key (`cnf.jkt`) is accepted only with the DPoP scheme and
 * a valid proof; sent as Bearer it is refused (whoever copied it lacks the key). The DPoP scheme
 * with an unbound token is refused too (§7.1: "DPoP-bound access token").
 */
async function checkBinding(ctx: Parameters<Middleware<AppState>>[0], verifier: AccessTokenVerifier, token: VerifiedAccessToken, raw: string, dpopScheme: boolean): Promise<void> {
  const algs = `algs="${DPOP_ALGORITHMS.join(' ')}"`;
  const refuse = (error: string, description: string): never => {
    ctx.set('WWW-Authenticate', `DPoP ${algs}, error="${error}", error_description="${quote(description)}"`);
    throw new AppError('unauthorized', description);
  };
  if (!token.jkt) {
    if (dpopScheme) refuse('invalid_token', 'this access token is not bound to a key: send it as a Bearer token');
    return;
  }
  if (!dpopScheme) refuse('invalid_token', 'this access token is bound to a key (DPoP): send it with Authorization: DPoP and a DPoP proof');
  if (!verifier.dpop) refuse('invalid_token', 'DPoP-bound tokens are not accepted here');
  try {
    // Two DPoP headers may arrive as two lines or joined by a comma (RFC 9110 §5.3); a JWS has none.
    const proofs = (ctx.req.headersDistinct.dpop ?? []).flatMap((v) => v.split(',')).map((v) => v.trim());
    await verifier.dpop!.verify({ method: ctx.method, path: ctx.path, proofs }, raw, token.jkt);
  } catch (err) {
    if (!(err instanceof DpopProofError)) throw err;
    refuse('invalid_dpop_proof', err.description);
  }
}

/** Who did it, for the audit log. */
export function actorOf(state: AppState): string {
  const auth = state.auth;
  if (!auth) return 'anonymous';
  return auth.subject === auth.clientId ? `client:${auth.clientId}` : `user:${auth.subject}`;
}
