import type { Config } from '../config/schema.js';
import { DVCQG_CLAIMS, resolveUpstreams, type Upstream, type UpstreamInput } from '../../oidc/federation/upstreams.js';
import { startDvcqgSimulator, type DvcqgSimulator } from './dvcqg-simulator.js';
import { federationCallbackPath, federationLoggedOutPath } from '../web/login/federation-router.js';

/** Development only: the broker's client at the simulator (documented in the README). */
export const DEV_DVCQG_CLIENT = { clientId: 'tinnhiem-dev', clientSecret: 'tinnhiem-dev-dvcqg-secret-for-development-only' };

/** The DVCQG upstream declaration, pointed at a simulator (what oidc/upstreams.example.json says for the real one). */
export function dvcqgUpstreamInput(simulatorUrl: string, overrides: Partial<UpstreamInput> = {}): UpstreamInput {
  return {
    id: 'dvcqg',
    kind: 'oauth2-userinfo',
    label: { vi: 'Tài khoản Cổng dịch vụ công quốc gia (VNeID)', en: 'National public-service portal account (VNeID)' },
    issuer: simulatorUrl,
    authorizationEndpoint: `${simulatorUrl}/oauth2/authorize`,
    tokenEndpoint: `${simulatorUrl}/oauth2/token`,
    userinfoEndpoint: `${simulatorUrl}/oauth2/userinfo`,
    endSessionEndpoint: `${simulatorUrl}/oauth2/logout`,
    clientId: DEV_DVCQG_CLIENT.clientId,
    clientSecret: { env: 'DVCQG_DEV_CLIENT_SECRET' },
    tokenEndpointAuthMethod: 'client_secret_post',
    scope: 'openid',
    pkce: false,
    defaultAcrValues: 'LoA1',
    assurance: { claim: 'loAs', levels: { LoA1: 'urn:tinnhiem:acr:low', LoA2: 'urn:tinnhiem:acr:substantial' } },
    claims: { ...DVCQG_CLAIMS, accountTypes: { ...DVCQG_CLAIMS.accountTypes }, keep: [...DVCQG_CLAIMS.keep] },
    ...overrides,
  };
}

/**
 * Starts the simulator for a development instance and returns the matching upstream; null (with
 * the reason) when its port is taken, so a second development instance still starts.
 * Browsers share cookies between ports of one host name, and both tinnhiem and the simulator (two
 * oidc-provider instances) name theirs `_session`: the default PUBLIC_URL says localhost, so the
 * simulator is reached as 127.0.0.1.
 */
export async function startDevDvcqg(config: Config): Promise<{ simulator: DvcqgSimulator; upstreams: Upstream[] } | { unavailable: string }> {
  let simulator: DvcqgSimulator;
  try {
    simulator = await startDvcqgSimulator({ port: config.federation.simulatorPort, host: '127.0.0.1', hostname: '127.0.0.1' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    return { unavailable: `port ${config.federation.simulatorPort} is in use (set DVCQG_SIM_PORT)` };
  }
  registerDevClient(simulator, config.server.publicUrl);
  const upstreams = resolveUpstreams({ upstreams: [dvcqgUpstreamInput(simulator.url)] }, { DVCQG_DEV_CLIENT_SECRET: DEV_DVCQG_CLIENT.clientSecret });
  return { simulator, upstreams };
}

export function registerDevClient(simulator: DvcqgSimulator, publicUrl: string): void {
  simulator.registerClient({
    ...DEV_DVCQG_CLIENT,
    redirectUris: [`${publicUrl}${federationCallbackPath('dvcqg')}`],
    postLogoutRedirectUris: [`${publicUrl}${federationLoggedOutPath('dvcqg')}`],
  });
}
