/**
 * The token rows' reference (docs/performance.md, "Method"): a bare oidc-provider in a process of
 * its own, with oidc-provider's in-memory adapter and what the service's provider does for the
 * measured grants, nothing more:
 * - `bench-machine`: client_secret_basic, client credentials, an ES256 JWT access token for the
 *   API resource (RFC 9068 format, as oidc/features.ts);
 * - `bench-portal`: client_secret_basic, code + PKCE, refresh tokens rotated on every use
 *   (rotateRefreshToken, as oidc/configuration.ts), an RS256 ID token;
 * - a trivial login step: GET /interaction/<uid> finishes the interaction at once for account
 *   `bench-<n>` (n from the login_hint), with a grant of the requested scopes, so a whole code flow
 *   costs only the provider's own work.
 * The same node:http settings as the service. Prints `BARE-READY {json}`; stops on SIGTERM.
 * The adapter is oidc-provider's in-memory one without its cap: that one keeps 1,000 entries, and
 * at thousands of refresh grants a second it dropped the pool's grants (every later refresh of
 * the bench failed).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration, type JWK } from 'oidc-provider';

const server = createServer();
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 120_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const issuer = `${url}/oidc`;
const api = `${url}/api`;

const jwk = (type: 'ec' | 'rsa', kid: string, alg?: string): JWK => {
  const { privateKey } = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 3072 });
  return { ...(privateKey.export({ format: 'jwk' }) as JWK), kid, use: 'sig', ...(alg && { alg }) };
};
const redirectUri = 'http://127.0.0.1:9/bench/callback';
const machine = { clientId: 'bench-machine', secret: randomBytes(32).toString('base64url') };
const portal = { clientId: 'bench-portal', secret: randomBytes(32).toString('base64url'), redirectUri };
const API_SCOPES = 'certs:read certs:request certs:revoke signatures:validate';

/** oidc-provider's in-memory adapter (lib/adapters/memory_adapter.js) over a plain Map. */
const store = new Map<string, { payload: Record<string, unknown>; expiresAt?: number }>();
const grants = new Map<string, string[]>();
const uids = new Map<string, string>();
class MapAdapter {
  constructor(private readonly model: string) {}
  private key = (id: string) => `${this.model}:${id}`;
  async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
    store.set(this.key(id), { payload, ...(expiresIn && { expiresAt: Date.now() + expiresIn * 1000 }) });
    if (typeof payload.uid === 'string') uids.set(`${this.model}:${payload.uid}`, this.key(id));
    if (typeof payload.grantId === 'string') grants.set(payload.grantId, [...(grants.get(payload.grantId) ?? []), this.key(id)]);
  }
  async find(id: string) {
    const e = store.get(this.key(id));
    if (!e || (e.expiresAt && e.expiresAt <= Date.now())) return undefined;
    return e.payload;
  }
  async findByUid(uid: string) {
    const key = uids.get(`${this.model}:${uid}`);
    return key ? this.find(key.slice(this.model.length + 1)) : undefined;
  }
  async findByUserCode() {
    return undefined;
  }
  async consume(id: string) {
    const e = store.get(this.key(id));
    if (e) e.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    store.delete(this.key(id));
  }
  async revokeByGrantId(grantId: string) {
    for (const k of grants.get(grantId) ?? []) store.delete(k);
    grants.delete(grantId);
  }
}

const configuration: Configuration = {
  adapter: MapAdapter,
  clients: [
    { client_id: machine.clientId, client_secret: machine.secret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' },
    {
      client_id: portal.clientId,
      client_secret: portal.secret,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [jwk('ec', 'es', 'ES256'), jwk('rsa', 'rs')] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  rotateRefreshToken: true,
  ttl: { AccessToken: 600, ClientCredentials: 600, IdToken: 600, AuthorizationCode: 60, Interaction: 1800, RefreshToken: 86_400, Session: 3600, Grant: 86_400 },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, name: `Bench ${sub}` }) }),
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, _client, oneOf) => oneOf ?? (ctx.oidc.params?.grant_type === 'client_credentials' ? api : undefined),
      useGrantedResource: async () => false,
      getResourceServerInfo: async () => ({ scope: API_SCOPES, audience: api, accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
    },
  },
};
const provider = new Provider(issuer, configuration);
provider.proxy = true;
const oidc = provider.callback();

server.on('request', (req, res) => {
  if (req.url?.startsWith('/oidc')) {
    (req as { originalUrl?: string }).originalUrl = req.url;
    req.url = req.url.slice('/oidc'.length) || '/';
    oidc(req, res);
    return;
  }
  if (req.method === 'GET' && req.url?.startsWith('/interaction/')) {
    // The trivial login step: the interaction ends at once, for the account the hint names.
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      const accountId = `bench-${String(details.params.login_hint ?? '0')}`;
      const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
    })().catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
    return;
  }
  res.statusCode = 404;
  res.end();
});

process.stdout.write(`BARE-READY ${JSON.stringify({ url, pid: process.pid, issuer, machine, portal })}\n`);
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
