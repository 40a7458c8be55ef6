import type { Config } from '../config/schema.js';
import { ConfigError } from '../config/load-config.js';
import { loadUpstreamsFile, UpstreamConfigError, type Upstream } from '../../oidc/federation/upstreams.js';
import type { OidcSettings } from '../../oidc/settings.js';

/**
 * What the composition root adapts between the service and oidc/ (which imports nothing of src/):
 * its settings and its configuration errors (its domain errors are mapped by src/errors). The ports themselves
 * (oidc/ports.ts) are implemented by src/storage, src/secrets, src/errors and src/web/views as
 * they are; service.ts wires them.
 */

/** The provider's settings, from the service's configuration. */
export function oidcSettings(config: Config): OidcSettings {
  const { accessTokenTtlSeconds, idTokenTtlSeconds, refreshTokenTtlSeconds, sessionTtlSeconds, keyPollSeconds } = config.oidc;
  return {
    publicUrl: config.server.publicUrl,
    trustProxyHops: config.server.trustProxy,
    accessTokenTtlSeconds,
    idTokenTtlSeconds,
    refreshTokenTtlSeconds,
    sessionTtlSeconds,
    keyPollSeconds,
  };
}

/**
 * Upstream identity providers: those given (the dev start's DVCQG simulator), else the
 * FEDERATION_UPSTREAMS_FILE declarations. Invalid declarations are a configuration error like any
 * invalid variable (the CLI exits 2 with every problem listed).
 */
export function loadUpstreams(config: Config, given: Upstream[] | undefined): Upstream[] {
  if (given) return given;
  if (!config.federation.upstreamsFile) return [];
  try {
    return loadUpstreamsFile(config.federation.upstreamsFile);
  } catch (err) {
    if (err instanceof UpstreamConfigError) throw new ConfigError(err.problems);
    throw err;
  }
}
