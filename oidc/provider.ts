import mount from 'koa-mount';
import type { Middleware } from 'koa';
import { Provider, type Adapter, type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';
import type { JWK } from 'jose';
import type { SigningKeyService, KeySet } from './keys/signing-keys.js';
import { providerConfiguration } from './configuration.js';
import type { ApiTokens, FindAccount, Logger, ProviderPages } from './ports.js';
import { apiTokenEndpoints } from './api-token-endpoints.js';
import { asAuthorizationRequest, asTokenRequest } from './adapter.js';
import { issuerOf, type OidcSettings } from './settings.js';

export interface OidcDeps {
  settings: OidcSettings;
  log: Logger;
  keys: Pick<SigningKeyService, 'load' | 'version'>;
  cookieKeys: string[];
  adapter: new (model: string) => Adapter;
  findAccount: FindAccount;
  /** The error and logout pages, rendered by the host (the provider renders none). */
  pages: ProviderPages;
  /**
   * After a full RP-initiated logout: another place to send the browser first (the upstream
   * identity provider's end-session endpoint), which returns it to `location`; null keeps `location`.
   */
  logoutRedirect?(session: { accountId?: string; amr?: string[] }, location: string): Promise<string | null>;
  /** Revocation and introspection of the API's JWT access tokens (oidc/api-token-endpoints.ts). */
  apiTokens?: ApiTokens;
}

const escapeAttribute = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * oidc-provider builds every URL it publishes or redirects to (discovery's endpoints, jwks_uri,
 * the resume URL of an interaction, the logout form's action) from the request's origin, which
 * comes from Host, or X-Forwarded-Host/-Proto behind a trusted proxy: a request with
 * `Host: evil.example` would get a discovery document whose token_endpoint points elsewhere, and a
 * cache in front would serve it to everyone. The public URL is the only origin: pin it on the
 * request before the provider reads it.
 */
function pinPublicOrigin(ctx: { request: object }, publicUrl: URL): void {
  const protocol = publicUrl.protocol.slice(0, -1);
  Object.defineProperties(ctx.request, {
    protocol: { value: protocol, configurable: true },
    secure: { value: protocol === 'https', configurable: true },
    host: { value: publicUrl.host, configurable: true },
    hostname: { value: publicUrl.hostname, configurable: true },
    origin: { value: publicUrl.origin, configurable: true },
  });
}

/**
 * Holds the oidc-provider instance, mounted under /oidc. oidc-provider reads its keys once at
 * construction, so when another node rotates the signing keys this holder builds a new instance
 * (a cheap, synchronous step) and swaps it in; requests in flight finish on the old one.
 */
export class OidcProvider {
  private current!: Provider;
  private mounted!: Middleware;
  private keySet!: KeySet;
  private timer: NodeJS.Timeout | undefined;
  private readonly tokenEndpoints: Middleware | null;
  private readonly publicOrigin: URL;

  private constructor(private readonly deps: OidcDeps) {
    this.publicOrigin = new URL(deps.settings.publicUrl);
    this.tokenEndpoints = deps.apiTokens ? apiTokenEndpoints(deps.apiTokens, () => this.mounted) : null;
  }

  static async create(deps: OidcDeps): Promise<OidcProvider> {
    const holder = new OidcProvider(deps);
    holder.build(await deps.keys.load());
    return holder;
  }

  private build(keySet: KeySet): void {
    const { settings, log } = this.deps;
    const provider = new Provider(issuerOf(settings), providerConfiguration({ ...this.deps, jwks: keySet.privateJwks }));
    // The provider is a Koa application of its own: the same hops as the service's (src/web/app.ts).
    provider.proxy = settings.trustProxyHops > 0;
    provider.maxIpsCount = settings.trustProxyHops;
    provider.on('server_error', (_ctx, err) => log.error({ err }, 'oidc-provider server error'));
    provider.use(async (ctx, next) => {
      await next();
      // The discovery document changes only with the configuration (a restart): caches may keep
      // it for five minutes. The JWKS keeps oidc-provider's own headers (keys rotate).
      if (ctx.oidc?.route === 'discovery' && ctx.status === 200) ctx.set('Cache-Control', 'public, max-age=300');
    });
    provider.use(async (ctx, next) => {
      await next();
      // Without a session, oidc-provider answers RP-initiated logout with its own page: English,
      // an inline auto-submit script, no CSP. Ours instead: the same form (its xsrf token and
      // logout=yes), shown by the host's logout page with one button.
      if (ctx.oidc?.route !== 'end_session' || ctx.status !== 200 || ctx.oidc.session?.accountId) return;
      const secret = (ctx.oidc.session?.state as { secret?: string } | undefined)?.secret;
      if (!secret) return;
      const action = ctx.oidc.urlFor('end_session_confirm');
      const form = `<form id="op.logoutForm" method="post" action="${escapeAttribute(action)}"><input type="hidden" name="xsrf" value="${escapeAttribute(secret)}"/></form>`;
      await this.deps.pages.logoutSource(ctx as unknown as KoaContextWithOIDC, form);
    });
    provider.on('backchannel.error', (_ctx, err, client) => log.warn({ err, clientId: client?.clientId }, 'back-channel logout delivery failed'));
    const { logoutRedirect } = this.deps;
    if (logoutRedirect) {
      provider.use(async (ctx, next) => {
        await next();
        // end_session_confirm has destroyed the session (and sent the back-channel logout tokens);
        // the object still says who it was and how they logged in.
        const session = ctx.oidc?.session as unknown as { accountId?: string; amr?: string[] } | undefined;
        const location = ctx.response.get('location');
        if (ctx.oidc?.route !== 'end_session_confirm' || !ctx.oidc.params?.logout || !session || !location || ctx.status < 300 || ctx.status >= 400) return;
        const through = await logoutRedirect({ accountId: session.accountId, amr: session.amr }, location);
        if (through) ctx.redirect(through);
      });
    }
    this.current = provider;
    this.keySet = keySet;
    this.mounted = mount('/oidc', provider);
  }

  get provider(): Provider {
    return this.current;
  }

  /** Public keys of every published signing key: what our own API verifies access tokens with. */
  get publicJwks(): JWK[] {
    return this.keySet.publicJwks;
  }

  middleware(): Middleware {
    return (ctx, next) => {
      if (ctx.path === '/oidc' || ctx.path.startsWith('/oidc/')) {
        ctx.state.routeLabel = '/oidc/*';
        // koa-mount runs oidc-provider's middleware on the host app's context, whose cookie jar
        // has the host's keys (none): signing the interaction and session cookies then fails
        // (".keys required for signed cookies"). Give the request a jar keyed like the provider.
        const { provider, mounted, tokenEndpoints } = this;
        pinPublicOrigin(ctx, this.publicOrigin);
        // Made when first used: the token endpoint never reads a cookie, and a provider context per request costs.
        let jar: typeof ctx.cookies | undefined;
        Object.defineProperty(ctx, 'cookies', {
          configurable: true,
          get: () => (jar ??= provider.createContext(ctx.req, ctx.res).cookies),
          set: (value: typeof ctx.cookies) => {
            jar = value;
          },
        });
        const serve = () => (tokenEndpoints ?? mounted)(ctx, next);
        // oidc-provider's default authorization route (and its PAR-referencing form): see adapter.ts.
        if (ctx.path === '/oidc/auth' || ctx.path.startsWith('/oidc/auth/')) return asAuthorizationRequest(serve);
        if (ctx.path !== '/oidc/token' || ctx.method !== 'POST') return serve();
        return asTokenRequest(serve, {
          succeeded: () => ctx.status === 200,
          refuse(err) {
            // As oidc-provider's error handler answers it (lib/shared/error_handler.js).
            ctx.status = err.statusCode;
            ctx.body = { error: err.error, error_description: err.error_description };
          },
        });
      }
      return this.mounted(ctx, next);
    };
  }

  /** Rebuilds the provider when the published keys changed; returns whether it did. */
  async refreshKeys(): Promise<boolean> {
    if ((await this.deps.keys.version()) === this.keySet.version) return false;
    this.build(await this.deps.keys.load());
    this.deps.log.info({ keys: this.keySet.version }, 'token signing keys reloaded');
    return true;
  }

  startKeyPolling(): void {
    const every = this.deps.settings.keyPollSeconds * 1000;
    this.timer = setInterval(() => {
      this.refreshKeys().catch((err: unknown) => this.deps.log.warn({ err }, 'could not check the signing keys'));
    }, every);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** oidc-provider's own validation of client metadata (used by the client registry). */
  async validateClient(metadata: ClientMetadata): Promise<void> {
    await this.current.Client.validate(metadata);
  }
}
