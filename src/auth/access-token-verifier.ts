import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { systemClock, type Clock } from '../lifecycle/clock.js';

export interface VerifiedAccessToken {
  subject: string;
  clientId: string;
  scopes: Set<string>;
  /** Authentication context of the login behind the token (absent for client credentials). */
  acr?: string;
  claims: JWTPayload;
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
  ) {}

  private jwks() {
    const { version, jwks } = this.keys();
    if (this.cached?.version !== version) this.cached = { version, set: createLocalJWKSet({ keys: jwks }) };
    return this.cached.set;
  }

  async verify(token: string): Promise<VerifiedAccessToken> {
    try {
      const { payload } = await jwtVerify(token, this.jwks(), {
        issuer: this.issuer,
        audience: this.audience,
        typ: 'at+jwt',
        algorithms: ['ES256', 'RS256', 'PS256'],
        clockTolerance: this.clockTolerance,
        currentDate: this.clock.now(),
        requiredClaims: ['exp', 'iat', 'client_id', 'sub'],
      });
      return {
        subject: String(payload.sub),
        clientId: String(payload.client_id),
        scopes: new Set(typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : []),
        acr: typeof payload.acr === 'string' ? payload.acr : undefined,
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
