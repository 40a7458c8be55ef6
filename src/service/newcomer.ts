import type Router from '@koa/router';
import type { Wiring } from './wiring.js';
import type { CertificateService } from '../certificates/certificate-service.js';
import type { AppState } from '../web/context.js';
import { homeRouter } from '../web/home/home-router.js';
import { demoRouter } from '../web/home/demo-router.js';
import type { Identity } from './identity.js';
import { AccountSessions } from '../accounts/account-sessions.js';
import { OidcPayloadRepository } from '../storage/oidc-payload-repository.js';

/**
 * The home page `/` on every full node; in a development start (`serve --dev`) also the demo
 * credentials on it and the demo portal at /demo, which is not mounted at all otherwise.
 */
export function newcomerRouters(w: Wiring, certificates: CertificateService): Router<AppState>[] {
  const { config } = w;
  const development = w.options.development;
  const issuers = async () =>
    (await certificates.ca.issuers())
      .filter((i) => (i.role === 'root' || i.role === 'issuing') && i.status === 'active' && i.certificate)
      .map((i) => ({ id: i.id, name: i.subjectDn ?? i.id }));
  const home = homeRouter({
    publicUrl: config.server.publicUrl,
    issuers,
    development: development ? { password: development.password, officials: development.officials, clients: development.clients } : undefined,
  });
  if (!development) return [home];
  const portal = development.clients.find((c) => c.clientId === development.portalClientId);
  if (!portal) return [home];
  return [home, demoRouter({ publicUrl: config.server.publicUrl, csrfSecret: w.secrets.csrfSecret, clientId: portal.clientId, clientSecret: portal.secret, now: () => w.clock.now() })];
}

/** The account page's sessions and consents, over the provider's store; a withdrawn grant's JWTs are revoked on every node. */
export function accountSessions(w: Wiring, identity: Identity): AccountSessions {
  return new AccountSessions(w.db, new OidcPayloadRepository(w.db.knex), w.audit, w.clock, (trx, grantId) => identity.revocations.revoke(trx, 'grant', grantId));
}
