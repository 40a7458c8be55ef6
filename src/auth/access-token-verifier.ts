import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { registerCache } from '../../ca/cache-registry.js';
import { systemClock, type Clock } from '../lifecycle/clock.js';
import type { DpopProofs } from './dpop.js';

export interface VerifiedAccessToken {
  subject: string;
  clientId: string;
  scopes: Set<string>;
  /** Authentication context of the login behind the token (absent for client credentials). */
  acr?: string;
  /** RFC 9449 §6.1: the SHA-256 thumbprint of the key the token is bound to (DPoP), if any. */
  jkt?: string;
  claims: JWTPayload;
}

/** The revocation list the verifier consults (src/auth/token-revocations.ts). */
export interface RevocationCheck {
  revokedBecause(claims: JWTPayload): string | null;
}

const VERIFIED_TOKENS = 10_000;

export class AccessTokenError extends Error {
  constructor(readonly description: string) {
    super(description);
  }
}

/**
 * Verifies access tokens for the service's own API: JWTs (RFC 9068, `typ: at+jwt`) signed by
 * this provider's published keys, issued for the API resource, unexpired. Keys come from memory
 * (the same ones the provider signs with), so no HTTP round trip to our own JWKS.
 */
export class AccessTokenVerifier {
  private cached: { version: string; set: ReturnType<typeof createLocalJWKSet> } | null = null;
  /**
   * Tokens whose signature and fixed claims (iss, aud, typ, alg, required claims) verified, by
   * the token's exact text and the key set's version: a client sends the same token with every
   * request, and the ECDSA check cost more than the validation it authorises (`--cpu-prof` of
   * POST /api/v1/signatures/validate). Only what the token's bytes decide is remembered: expiry
   * and not-before are judged against the clock at every use, revocation is consulted at every use,
   * and a key rotation (a new version) verifies again. Bounded; the oldest entry goes first.
   */
  private readonly verified = registerCache('verified access tokens', new Map<string, { version: string; payload: JWTPayload }>());

  constructor(
    private readonly issuer: string,
    private readonly audience: string,
    private readonly keys: () => { version: string; jwks: JWK[] },
    private readonly clockTolerance = 5,
    /** The service's clock (DESIGN: inject the clock); expiry is judged by it. */
    private readonly clock: Clock = systemClock,
    /** Revoked tokens, grants, clients and accounts (docs/identity.md, "Revoking API tokens"). */
    private readonly revocations?: RevocationCheck,
    /** Proof-of-possession checks for DPoP-bound tokens (RFC 9449), used by the API middleware. */
    readonly dpop?: DpopProofs,
  ) {}

  private jwks() {
    const { version, jwks } = this.keys();
    if (this.cached?.version !== version) this.cached = { version, set: createLocalJWKSet({ keys: jwks }) };
    return this.cached.set;
  }

  private async verifyJwt(token: string): Promise<JWTPayload> {
    const version = this.keys().version;
    const hit = this.verified.get(token);
    if (hit && hit.version === version && this.timely(hit.payload)) return hit.payload;
    const { payload } = await jwtVerify(token, this.jwks(), {
      issuer: this.issuer,
      audience: this.audience,
      typ: 'at+jwt',
      algorithms: ['ES256', 'RS256', 'PS256'],
      clockTolerance: this.clockTolerance,
      currentDate: this.clock.now(),
      requiredClaims: ['exp', 'iat', 'client_id', 'sub'],
    });
    if (this.verified.size >= VERIFIED_TOKENS) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { version, payload });
    return payload;
  }

  /** exp and nbf against the clock now, as jwtVerify judges them (RFC 7519 §4.1.4–4.1.5). */
  private timely(payload: JWTPayload): boolean {
    const now = Math.floor(this.clock.now().getTime() / 1000);
    if (typeof payload.exp !== 'number' || payload.exp <= now - this.clockTolerance) return false;
    return payload.nbf === undefined || (typeof payload.nbf === 'number' && payload.nbf <= now + this.clockTolerance);
  }

  /**
   * For revocation and introspection (oidc/api-token-endpoints.ts): the claims of a valid API
   * token of ours and whether it is revoked; null for anything else (RFC 7662: then inactive).
   */
  async inspect(token: string): Promise<{ claims: JWTPayload; revoked: boolean } | null> {
    try {
      const claims = await this.verifyJwt(token);
      return { claims, revoked: !!this.revocations?.revokedBecause(claims) };
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return null;
      throw err;
    }
  }

  async verify(token: string): Promise<VerifiedAccessToken> {
    try {
      const payload = await this.verifyJwt(token);
      const revoked = this.revocations?.revokedBecause(payload);
      if (revoked) throw new AccessTokenError(revoked);
      const cnf = payload.cnf as { jkt?: unknown } | undefined;
      return {
        subject: String(payload.sub),
        clientId: String(payload.client_id),
        scopes: new Set(typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : []),
        acr: typeof payload.acr === 'string' ? payload.acr : undefined,
        jkt: typeof cnf?.jkt === 'string' ? cnf.jkt : undefined,
        claims: payload,
      };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new AccessTokenError('the access token expired');
      if (err instanceof joseErrors.JWTClaimValidationFailed) throw new AccessTokenError(`the access token is not valid here (${err.claim}: ${err.reason})`);
      if (err instanceof joseErrors.JOSEError) throw new AccessTokenError('the access token is malformed or its signature does not verify');
      throw err;
    }
  }
}
