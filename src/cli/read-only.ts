import type { Config } from '../config/schema.js';
import type { CertificateRecord, CertificateSearch } from '../../ca/records.js';
import type { ClientRegistry } from '../../oidc/clients/client-registry.js';
import type { SecretSealer } from '../../oidc/ports.js';
import { withDatabase } from './cli-support.js';

/** What the read-only commands (`cert list`, `client list`, `client show`) read. */
export interface ReadOnlyStores {
  searchCertificates(filter: Omit<CertificateSearch, 'limit' | 'offset'> & { limit: number; offset: number }): Promise<{ total: number; items: CertificateRecord[] }>;
  clients: Pick<ClientRegistry, 'list' | 'show'>;
}

/** Listing reads no secret: a sealer that refuses says so if that ever changes. */
const noSecrets: SecretSealer = {
  seal: () => {
    throw new Error('read-only command: no secret is sealed');
  },
  open: () => {
    throw new Error('read-only command: no secret is opened');
  },
};

/**
 * Read-only commands open the database and the repositories they read, nothing else: no key
 * stores, no OCSP responder (and its pre-signing), no OIDC provider, no master key (they open no
 * secret, so they need no MASTER_PASSPHRASE) — docs/cli.md, "Start-up time". The same repositories and the same registry code as
 * the service, so the answers are the service's.
 */
export async function withReadOnlyStores<T>(config: Config, purpose: string, work: (stores: ReadOnlyStores) => Promise<T>): Promise<T> {
  return withDatabase(config, purpose, async (db) => {
    const [{ CertificateSearchRepository }, { systemClock }, { SettingsRepository }, { NotInitialisedError }] = await Promise.all([
      import('../storage/certificate-search-repository.js'),
      import('../lifecycle/clock.js'),
      import('../storage/settings-repository.js'),
      import('../secrets/installation.js'),
    ]);
    // As every command, an installation never initialised is refused (exit 2). The master
    // passphrase is not checked: nothing here opens a secret, and the check is a scrypt
    // derivation (N = 2^17, a third of a second of CPU) that would be most of the command's time.
    if (!(await new SettingsRepository(db.knex, systemClock).get('master_key'))) throw new NotInitialisedError();
    const search = new CertificateSearchRepository(db.knex);
    // The client registry (and its modules) only for the commands that read clients: `cert list` does not.
    let registry: Promise<ReadOnlyStores['clients']> | undefined;
    const clientRegistry = () =>
      (registry ??= (async () => {
        const [{ OidcClientRepository }, { ClientRegistryService }, { AuditRepository }] = await Promise.all([
          import('../storage/oidc-client-repository.js'),
          import('../../oidc/clients/client-registry.js'),
          import('../storage/audit-repository.js'),
        ]);
        const refuse = () => Promise.reject(new Error('read-only command: no client is validated'));
        return new ClientRegistryService(db, new OidcClientRepository(db.knex), new AuditRepository(db.knex, systemClock), noSecrets, systemClock, refuse);
      })());
    return work({
      searchCertificates: (filter) => search.search(null, filter, systemClock.now()),
      clients: {
        list: async (...args) => (await clientRegistry()).list(...args),
        show: async (...args) => (await clientRegistry()).show(...args),
      },
    });
  });
}
