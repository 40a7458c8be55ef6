import type { IncomingMessage, ServerResponse } from 'node:http';
import mount from 'koa-mount';
import type Koa from 'koa';
import type { Middleware, ParameterizedContext } from 'koa';
import { Provider, type errors, type Adapter, type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';
import type { JWK } from 'jose';
import type { SigningKeyService, KeySet } from './keys/signing-keys.js';
import { providerConfiguration } from './configuration.js';
import type { ApiTokens, FindAccount, Logger, ProviderPages } from './ports.js';
import { apiTokenEndpoints } from './api-token-endpoints.js';
import { asAuthorizationRequest, asTokenRequest, type TokenRequestOutcome } from './adapter.js';
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
  /**
   * The client registry's cached entry of a client, without a read (ClientRegistry.cachedEntry): a
   * new object whenever the client changes. oidc-provider's Client is then kept by it (see
   * keepClientsByEntry).
   */
  cachedClient?(clientId: string): object | undefined;
  /**
   * The verdict the client registry gave `attempt` (the host's client-auth check of this request,
   * at `ctx.state.clientAuthAttempt`) against the cached entry `entry`, or undefined if it did not
   * compare that attempt with that entry (ClientRegistry.presentedVerdict).
   */
  secretVerdict?(attempt: object, entry: object): boolean | undefined;
}

/** What the host's client-auth check leaves on the request's state (src/web/context.ts). */
type CheckedAttempt = Readonly<{ clientId: string | null; secret?: string | null }>;

/** oidc-provider's token endpoint, under the provider's mount path (its default route; the configuration keeps it). */
const TOKEN_PATH = '/token';

/** koa-compose's work for a fixed list: each middleware calls the next. */
function composeAll(middleware: readonly Middleware[]): (ctx: ParameterizedContext) => Promise<void> {
  const dispatch = (i: number, ctx: ParameterizedContext): Promise<void> => {
    const fn = middleware[i];
    if (!fn) return Promise.resolve();
    try {
      return Promise.resolve(fn(ctx, () => dispatch(i + 1, ctx)));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  };
  return (ctx) => dispatch(0, ctx);
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
 * oidc-provider reads a registered (dynamic) client through the adapter on every request, then
 * hashes its JSON to find the Client it built from the same metadata (lib/models/client.js
 * `find`); with the registry's copy (a `structuredClone`, as oidc-provider may change what it
 * is given), a quarter of what the token endpoint spent beyond the bare provider
 * (docs/performance.md). While the registry holds a trusted cached entry of the client, the
 * Client built from it is answered instead: the entry is replaced (a new object) whenever the
 * client changes, here at once and on other nodes through the change feed, so a Client kept by
 * an entry that is gone is never answered again. The Client is the one oidc-provider built and
 * shares between requests anyway. Static clients, and clients without a cached entry, take
 * oidc-provider's own path.
 */
function keepClientsByEntry(
  Client: Provider['Client'],
  staticIds: ReadonlySet<string>,
  cachedEntry: (clientId: string) => object | undefined,
  secretVerdict?: (attempt: object, entry: object) => boolean | undefined,
): void {
  const find = Client.find.bind(Client);
  const built = new WeakMap<object, Awaited<ReturnType<typeof find>>>();
  Client.find = async function findClient(id: string) {
    const entry = typeof id === 'string' && !staticIds.has(id) ? cachedEntry(id) : undefined;
    if (!entry) return find(id);
    const known = built.get(entry);
    if (known) return known;
    // Read after the entry was seen: the Client is of that entry or of a newer one. Kept by the
    // entry seen, it is answered only while that entry is the registry's.
    const client = await find(id);
    if (client && cachedEntry(id) === entry) {
      if (secretVerdict) answerSecretFromVerdict(client, id, entry, secretVerdict);
      built.set(entry, client);
    }
    return client;
  };
}

/** oidc-provider's own comparison on a Client whose comparison answerSecretFromVerdict replaced. */
const OWN_COMPARISON = Symbol("oidc-provider's own compareClientSecret");

/**
 * The host's client-auth throttle has compared the request's secret with the registry's cached
 * entry before oidc-provider runs (src/auth/client-auth-throttle.ts), in constant time; oidc-provider
 * then compared it again (`compareClientSecret`, padding both to 1,000 bytes): two comparisons and
 * two such buffers per grant (docs/performance.md, "Token endpoint and refresh, ninth pass"). The
 * Client kept for `entry` (built from that entry's metadata, so of its secret) answers with the
 * registry's verdict when that verdict is this request's: the attempt on the request's
 * state names this client and presents the very secret oidc-provider parsed (both strings are the
 * caller's own input, so comparing them reveals nothing), and the registry compared that attempt
 * with this entry. Anything else (no attempt, another client, a secret parsed differently, a
 * verdict against another entry) takes oidc-provider's own comparison.
 */
function answerSecretFromVerdict(
  client: object,
  clientId: string,
  entry: object,
  secretVerdict: (attempt: object, entry: object) => boolean | undefined,
): void {
  const target = client as { compareClientSecret(actual: string): boolean | Promise<boolean>; [OWN_COMPARISON]?: (actual: string) => boolean | Promise<boolean> };
  // oidc-provider answers one Client for equal metadata: an entry replaced by an equal one finds
  // the Client of the last, whose own comparison is the one to fall back on (not the last's answer).
  const own = (target[OWN_COMPARISON] ??= target.compareClientSecret.bind(target));
  target.compareClientSecret = (actual: string) => {
    const attempt = (Provider.ctx as { state?: { clientAuthAttempt?: CheckedAttempt } } | undefined)?.state?.clientAuthAttempt;
    if (attempt !== undefined && attempt.clientId === clientId && attempt.secret === actual) {
      const verdict = secretVerdict(attempt, entry);
      if (verdict !== undefined) return verdict;
    }
    return own(actual);
  };
}

/** How a token request's held rotation reads and changes the answer (asTokenRequest), one object per request and no closures. */
class TokenAnswer implements TokenRequestOutcome {
  constructor(private readonly ctx: { status: number; body: unknown }) {}

  succeeded(): boolean {
    return this.ctx.status === 200;
  }

  refuse(err: InstanceType<typeof errors.OIDCProviderError>): void {
    // As oidc-provider's error handler answers it (lib/shared/error_handler.js).
    this.ctx.status = err.statusCode;
    this.ctx.body = { error: err.error, error_description: err.error_description };
  }
}

/** The token endpoint's lean path (OidcProvider.tokenListener): the request's URL back when the provider is done. */
class LeanTokenAnswer extends TokenAnswer {
  constructor(ctx: { status: number; body: unknown; request: { req: { url?: string } } }) {
    super(ctx);
    this.request = ctx.request.req;
  }

  /** Koa's request's Node request: what `ctx.url = …` sets, without the context's and request's delegating setters. */
  private readonly request: { url?: string };

  finished(): void {
    this.request.url = '/oidc/token';
  }
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
  /** The provider's own middleware, composed (koa-mount's downstream without the path check). */
  private composed!: Middleware;

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
    const configuration = providerConfiguration({ ...this.deps, jwks: keySet.privateJwks });
    const provider = new Provider(issuerOf(settings), configuration);
    if (this.deps.cachedClient) keepClientsByEntry(provider.Client, new Set((configuration.clients ?? []).map((c) => c.client_id)), this.deps.cachedClient, this.deps.secretVerdict);
    // The provider is a Koa application of its own: the same hops as the service's (src/web/app.ts).
    provider.proxy = settings.trustProxyHops > 0;
    provider.maxIpsCount = settings.trustProxyHops;
    provider.on('server_error', (_ctx, err) => log.error({ err }, 'oidc-provider server error'));
    provider.on('backchannel.error', (_ctx, err, client) => log.warn({ err, clientId: client?.clientId }, 'back-channel logout delivery failed'));
    const { logoutRedirect } = this.deps;
    // One hook after oidc-provider's answer for the three routes we adjust (each route has at
    // most one of them): one async frame per request instead of three on every route, the token
    // endpoint's included (docs/performance.md, "Token endpoint, fourth pass").
    const adjustAnswer = async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
      await next();
      const route = ctx.oidc?.route;
      if (route === undefined || route === 'token') return;
      if (route === 'discovery') {
        // The discovery document changes only with the configuration (a restart): caches may keep
        // it for five minutes. The JWKS keeps oidc-provider's own headers (keys rotate).
        if (ctx.status === 200) ctx.set('Cache-Control', 'public, max-age=300');
        return;
      }
      if (route === 'end_session_confirm') {
        if (!logoutRedirect) return;
        // end_session_confirm has destroyed the session (and sent the back-channel logout tokens);
        // the object still says who it was and how they logged in.
        const session = ctx.oidc.session as unknown as { accountId?: string; amr?: string[] } | undefined;
        const location = ctx.response.get('location');
        if (!ctx.oidc.params?.logout || !session || !location || ctx.status < 300 || ctx.status >= 400) return;
        const through = await logoutRedirect({ accountId: session.accountId, amr: session.amr }, location);
        if (through) ctx.redirect(through);
        return;
      }
      // Without a session, oidc-provider answers RP-initiated logout with its own page: English,
      // an inline auto-submit script, no CSP. Ours instead: the same form (its xsrf token and
      // logout=yes), shown by the host's logout page with one button.
      if (route !== 'end_session' || ctx.status !== 200 || ctx.oidc.session?.accountId) return;
      const secret = (ctx.oidc.session?.state as { secret?: string } | undefined)?.secret;
      if (!secret) return;
      const action = ctx.oidc.urlFor('end_session_confirm');
      const form = `<form id="op.logoutForm" method="post" action="${escapeAttribute(action)}"><input type="hidden" name="xsrf" value="${escapeAttribute(secret)}"/></form>`;
      await this.deps.pages.logoutSource(ctx, form);
    };
    // The token endpoint's path is none of those three routes': its requests pass without the
    // hook's frame (docs/performance.md, "Token endpoint, sixth pass").
    provider.use((ctx, next) => (ctx.path === TOKEN_PATH ? next() : adjustAnswer(ctx as unknown as KoaContextWithOIDC, next)));
    // Errors that escape the middleware (a socket's) reach the provider's own application on the
    // token endpoint's lean path: as quiet as the host application (src/web/app.ts).
    provider.silent = true;
    const app = provider as unknown as Koa;
    if (!app.listenerCount('error')) app.on('error', (err: Error) => app.onerror(err));
    this.current = provider;
    this.keySet = keySet;
    this.mounted = mount('/oidc', provider);
    this.composed = mount('/', provider);
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
        return asTokenRequest(serve, new TokenAnswer(ctx));
      }
      return this.mounted(ctx, next);
    };
  }

  /**
   * `POST /oidc/token` on the provider's own Koa context, ahead of the host application
   * (src/web/token-fast-path.ts): `front` (the host's request id, access line and metrics,
   * problem documents, security headers, and the client authentication throttle) and then what
   * `middleware()` does for that route (the held refresh rotation, the public origin pinned,
   * oidc-provider's cookie jar, which is the provider context's own here), without the host's
   * second context, router matching and koa-mount. The context is the provider's, so its client
   * address follows the same TRUST_PROXY hops (build sets them on the provider).
   */
  tokenListener(front: readonly Middleware[]): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
    const noop = () => Promise.resolve();
    // As koa-mount: the provider sees its own path (the lean path takes no query string, so the
    // URL is the path; Koa's path setter would parse and format it twice per request), and the
    // URL is put back when it is done (LeanTokenAnswer.finished). The token endpoint is the
    // chain's last middleware: nothing after it to await. asTokenRequest's one `then` is the only
    // promise of this step (docs/performance.md, "Token endpoint (client credentials), seventh pass").
    const token: Middleware = (ctx) => {
      ctx.state.routeLabel = '/oidc/*';
      return asTokenRequest(() => {
        ctx.mountPath = '/oidc';
        // What `ctx.url = '/token'` does (Koa's request.url setter), without its two delegating setters.
        ctx.request.req.url = '/token';
        return Promise.resolve(this.composed(ctx, noop));
      }, new LeanTokenAnswer(ctx));
    };
    const chain = composeAll([...front, token]);
    // Per provider (keys rotated: a new one): an application whose requests have the public origin
    // pinned on their prototype, as pinPublicOrigin pins it per request on the host's context.
    let built: { provider: Provider; app: Koa } | undefined;
    const origin = this.publicOrigin;
    const protocol = origin.protocol.slice(0, -1);
    return (req, res) => {
      const provider = this.current;
      if (built?.provider !== provider) {
        const app = Object.create(provider) as Koa;
        app.request = Object.create(provider.request, {
          protocol: { value: protocol, configurable: true },
          secure: { value: protocol === 'https', configurable: true },
          host: { value: origin.host, configurable: true },
          hostname: { value: origin.hostname, configurable: true },
          origin: { value: origin.origin, configurable: true },
        }) as Koa['request'];
        built = { provider, app };
      }
      const { app } = built;
      const ctx = app.createContext(req, res);
      // Labelled before the throttle, so its 429s are counted under the route too.
      (ctx.state as { routeLabel?: string }).routeLabel = '/oidc/*';
      return (app as unknown as { handleRequest(ctx: unknown, fn: (ctx: ParameterizedContext) => Promise<void>): Promise<void> }).handleRequest(ctx, chain);
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
