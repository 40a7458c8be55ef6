import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWK, type JWTPayload } from 'jose';
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
    const { payload } = await jwtVerify(token, this.jwks(), {
      issuer: this.issuer,
      audience: this.audience,
      typ: 'at+jwt',
      algorithms: ['ES256', 'RS256', 'PS256'],
      clockTolerance: this.clockTolerance,
      currentDate: this.clock.now(),
      requiredClaims: ['exp', 'iat', 'client_id', 'sub'],
    });
    return payload;
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
