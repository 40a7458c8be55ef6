import * as client from 'openid-client';
import type { Upstream } from './upstreams.js';

/** Why a brokered login failed on the upstream's side (each has its own page text). */
export type UpstreamFailureReason = 'denied' | 'rejected' | 'timeout' | 'unavailable' | 'malformed';

export class UpstreamFailure extends Error {
  constructor(
    readonly reason: UpstreamFailureReason,
    message: string,
    /** The upstream's own OAuth error code, when it sent one. */
    readonly upstreamError?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamFailure';
  }
}

export interface PendingChecks {
  state: string;
  nonce?: string;
  codeVerifier?: string;
}

/**
 * One upstream identity provider, driven by openid-client v6: configured endpoints and
 * client_secret_post for `oauth2-userinfo` (DVCQG), discovery + ID token + nonce + PKCE for
 * `oidc`. Every outgoing request is bounded by the federation timeout.
 */
export class UpstreamClient {
  private config: Promise<client.Configuration> | null = null;

  constructor(
    readonly upstream: Upstream,
    readonly redirectUri: string,
    private readonly timeoutMs: number,
  ) {}

  get id(): string {
    return this.upstream.id;
  }

  private fetchWithTimeout: client.CustomFetch = (url, options) => fetch(url, { ...options, signal: AbortSignal.timeout(this.timeoutMs) } as RequestInit);

  private configuration(): Promise<client.Configuration> {
    if (!this.config) {
      this.config = this.build().catch((err: unknown) => {
        this.config = null; // a failed discovery is tried again on the next login
        throw classify(err);
      });
    }
    return this.config;
  }

  private async build(): Promise<client.Configuration> {
    const u = this.upstream;
    const auth = u.tokenEndpointAuthMethod === 'client_secret_basic' ? client.ClientSecretBasic(u.clientSecret) : client.ClientSecretPost(u.clientSecret);
    const insecure = [u.issuer, u.authorizationEndpoint, u.tokenEndpoint, u.userinfoEndpoint].some((e) => e?.startsWith('http:'));
    let config: client.Configuration;
    if (u.kind === 'oidc') {
      config = await client.discovery(new URL(u.issuer), u.clientId, { redirect_uris: [this.redirectUri] }, auth, {
        execute: insecure ? [client.allowInsecureRequests] : [],
        [client.customFetch]: this.fetchWithTimeout,
      });
      // OIDC Core §3.1.3.7: the ID token's signature is checked against the upstream's JWKS too,
      // not only its claims (openid-client skips it by default for TLS-protected token responses).
      client.enableNonRepudiationChecks(config);
    } else {
      config = new client.Configuration(
        {
          issuer: u.issuer,
          authorization_endpoint: u.authorizationEndpoint,
          token_endpoint: u.tokenEndpoint,
          userinfo_endpoint: u.userinfoEndpoint,
          end_session_endpoint: u.endSessionEndpoint,
        },
        u.clientId,
        { redirect_uris: [this.redirectUri] },
        auth,
      );
      if (insecure) client.allowInsecureRequests(config);
    }
    config[client.customFetch] = this.fetchWithTimeout;
    return config;
  }

  /** The authorization request: state always, nonce and PKCE when the upstream supports them. */
  async authorizationUrl(acrValues: string | undefined): Promise<{ url: URL; checks: PendingChecks }> {
    const config = await this.configuration();
    const checks: PendingChecks = { state: client.randomState() };
    const params: Record<string, string> = { redirect_uri: this.redirectUri, scope: this.upstream.scope, state: checks.state };
    if (this.upstream.kind === 'oidc') {
      checks.nonce = client.randomNonce();
      params.nonce = checks.nonce;
    }
    if (this.upstream.pkce) {
      checks.codeVerifier = client.randomPKCECodeVerifier();
      params.code_challenge = await client.calculatePKCECodeChallenge(checks.codeVerifier);
      params.code_challenge_method = 'S256';
    }
    if (acrValues) params.acr_values = acrValues;
    return { url: client.buildAuthorizationUrl(config, params), checks };
  }

  /**
   * Redeems the code of `callbackUrl` and returns the upstream's claims (ID token claims, then
   * userinfo over them). Throws UpstreamFailure, classified for the page and the portal.
   */
  async complete(callbackUrl: URL, checks: PendingChecks): Promise<Record<string, unknown>> {
    const config = await this.configuration();
    try {
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        pkceCodeVerifier: checks.codeVerifier,
        idTokenExpected: this.upstream.kind === 'oidc',
      });
      const idClaims = (tokens.claims() ?? {}) as Record<string, unknown>;
      if (!config.serverMetadata().userinfo_endpoint) return { ...idClaims };
      const subject = typeof idClaims.sub === 'string' ? idClaims.sub : client.skipSubjectCheck;
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, subject);
      if (!userinfo || typeof userinfo !== 'object' || Array.isArray(userinfo)) throw new UpstreamFailure('malformed', 'userinfo is not a JSON object');
      return { ...idClaims, ...(userinfo as Record<string, unknown>) };
    } catch (err) {
      throw classify(err);
    }
  }

  /** The upstream's end-session URL (OpenID RP-Initiated Logout 1.0), when one is configured. */
  async endSessionUrl(postLogoutRedirectUri: string, state: string): Promise<URL | null> {
    const endpoint = this.upstream.endSessionEndpoint;
    if (!endpoint && this.upstream.kind !== 'oidc') return null;
    let url: URL;
    if (endpoint) url = new URL(endpoint);
    else {
      const discovered = (await this.configuration()).serverMetadata().end_session_endpoint;
      if (!discovered) return null;
      url = new URL(discovered);
    }
    url.searchParams.set('client_id', this.upstream.clientId);
    url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri);
    url.searchParams.set('state', state);
    return url;
  }
}

const MALFORMED = new Set(['OAUTH_PARSE_ERROR', 'OAUTH_RESPONSE_IS_NOT_JSON', 'OAUTH_INVALID_RESPONSE', 'OAUTH_JWT_CLAIM_COMPARISON_FAILED', 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED', 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED', 'OAUTH_INVALID_SERVER_METADATA', 'OAUTH_MISSING_SERVER_METADATA', 'OAUTH_KEY_SELECTION_FAILED']);

function classify(err: unknown): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  const e = err as { name?: string; code?: string; error?: string; status?: number; cause?: unknown; message?: string };
  const chain: Array<typeof e> = [];
  for (let c: unknown = err; c && chain.length < 5; c = (c as { cause?: unknown }).cause) chain.push(c as typeof e);
  if (chain.some((c) => c.name === 'TimeoutError' || c.name === 'AbortError')) return new UpstreamFailure('timeout', 'the upstream did not answer in time', undefined, { cause: err });
  if (err instanceof client.AuthorizationResponseError) {
    const denied = ['access_denied', 'login_required', 'interaction_required', 'consent_required', 'account_selection_required'].includes(err.error);
    return new UpstreamFailure(denied ? 'denied' : 'rejected', `the upstream refused: ${err.error}`, err.error, { cause: err });
  }
  if (err instanceof client.ResponseBodyError) {
    return new UpstreamFailure(err.status >= 500 ? 'unavailable' : 'rejected', `the upstream answered ${err.status} ${err.error}`, err.error, { cause: err });
  }
  const status = chain.map((c) => (c.cause as { status?: number } | undefined)?.status ?? c.status).find((s) => typeof s === 'number');
  if (typeof status === 'number' && status >= 500) return new UpstreamFailure('unavailable', `the upstream answered HTTP ${status}`, undefined, { cause: err });
  if (chain.some((c) => c.code && MALFORMED.has(c.code)) || chain.some((c) => c instanceof SyntaxError)) {
    return new UpstreamFailure('malformed', `the upstream's answer is unusable: ${e.message ?? String(err)}`, undefined, { cause: err });
  }
  if (chain.some((c) => c.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM')) {
    return new UpstreamFailure(typeof status === 'number' && status < 500 ? 'rejected' : 'unavailable', `the upstream's answer is unusable: ${e.message ?? ''}`, undefined, { cause: err });
  }
  if (chain.some((c) => c.name === 'TypeError' && /fetch failed/.test(c.message ?? '')) || chain.some((c) => /ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH/.test(c.code ?? ''))) {
    return new UpstreamFailure('unavailable', 'the upstream cannot be reached', undefined, { cause: err });
  }
  return new UpstreamFailure('malformed', `the upstream's answer is unusable: ${e.message ?? String(err)}`, undefined, { cause: err });
}
