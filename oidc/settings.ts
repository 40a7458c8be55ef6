/**
 * The provider's own settings; the composition root builds them from the service configuration
 * (src/service/oidc-wiring.ts), so oidc/ depends on no configuration schema.
 */
export interface OidcSettings {
  /** The service's public base URL, without a trailing slash. */
  publicUrl: string;
  /**
   * Trusted reverse proxies in front of the service (0: none): X-Forwarded-Proto/Host are believed
   * when building URLs, and the client address is that many entries from the right of X-Forwarded-For.
   */
  trustProxyHops: number;
  accessTokenTtlSeconds: number;
  idTokenTtlSeconds: number;
  /** Also the lifetime of a grant: a refresh token cannot outlive it. */
  refreshTokenTtlSeconds: number;
  sessionTtlSeconds: number;
  /** How often a node checks whether another one rotated the signing keys. */
  keyPollSeconds: number;
}

/** The issuer (`iss`): the provider is mounted under /oidc. */
export const issuerOf = (settings: Pick<OidcSettings, 'publicUrl'>) => `${settings.publicUrl}/oidc`;

/** The API's resource indicator (RFC 8707): access tokens for it are JWTs (RFC 9068). */
export const apiResource = (settings: Pick<OidcSettings, 'publicUrl'>) => `${settings.publicUrl}/api`;

/**
 * How long a retired signing key stays published: the longest lifetime of a JWT we sign, plus
 * five minutes of clock skew, so every token it signed can still be verified.
 */
export const retiredKeyLifetimeMs = (settings: Pick<OidcSettings, 'accessTokenTtlSeconds' | 'idTokenTtlSeconds'>) =>
  (Math.max(settings.accessTokenTtlSeconds, settings.idTokenTtlSeconds) + 300) * 1000;
