import type { Config } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../lifecycle/clock.js';
import type { BackgroundJobs } from '../lifecycle/background-jobs.js';
import type { Database, DatabaseTarget } from '../storage/db.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { InstallationSecrets } from '../secrets/installation.js';
import type Router from '@koa/router';
import type { AppState } from '../web/context.js';
import type { Upstream } from '../../oidc/federation/upstreams.js';

/**
 * What every part of the composition root is built from: the configuration, the open database,
 * the audit log, the installation's secrets, the node's role and its background jobs. Each
 * `build*` function of src/service takes this and returns its part of the service.
 */
export interface Wiring {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
  readonly db: Database;
  readonly target: DatabaseTarget;
  readonly audit: AuditRepository;
  readonly secrets: InstallationSecrets;
  /** `ocsp`: a responder-only node; `all`: every service. */
  readonly role: 'all' | 'ocsp';
  readonly jobs: BackgroundJobs;
  readonly options: CreateServiceOptions;
  /** Run in reverse order by close(), and when the start fails half-way. */
  onClose(cleanup: () => void | Promise<void>): void;
}

export interface CreateServiceOptions {
  log: Logger;
  clock?: Clock;
  /** Who holds the embedded database (shown to a refused second process). */
  purpose?: string;
  /** Overrides the database chosen by the config (tests). */
  database?: DatabaseTarget;
  /** The master passphrase (resolved by the caller from config or the dev file). */
  masterPassphrase: string;
  /** Create the installation's secrets and signing keys when missing (`init`, dev start, tests). */
  initialise?: boolean;
  /** Create a development CA hierarchy when there is none (dev start, tests); production uses `ca init`. */
  devCa?: boolean;
  /** Extra routers (tests add a slow route to exercise graceful shutdown). */
  extraRouters?: readonly Router<AppState>[];
  /**
   * The root key's passphrase: only CA ceremonies (`ca ceremony …`, `ca init`, `ca rotate`) and the
   * development start pass it; `tinnhiem serve` never does, so the service cannot open the root key.
   */
  rootPassphrase?: string;
  /** Where `root:` keys live (default DATA_DIR/root-keys; removable media for a ceremony). */
  rootKeyDir?: string;
  /** PBKDF2 iterations for new CA key files (default 600,000; tests lower it for speed). */
  keyKdfIterations?: number;
  /** `ocsp`: serve only the OCSP responder and the health routes (a responder fleet). Default `all`. */
  role?: 'all' | 'ocsp';
  /** Upstream identity providers given directly (the dev start's DVCQG simulator); else FEDERATION_UPSTREAMS_FILE. */
  upstreams?: Upstream[];
  /**
   * The development start (`serve --dev`): the home page shows these demo credentials, and the
   * demo portal is mounted at /demo with the client named here. Given by the caller (the CLI, a
   * test), so the service never imports the demo data of src/dev.
   */
  development?: DevelopmentDemo;
}

export interface DevelopmentDemo {
  password: string;
  officials: string[];
  clients: Array<{ clientId: string; secret: string }>;
  /** The demo portal's client (redirect `${PUBLIC_URL}/demo/callback`); absent: no /demo. */
  portalClientId?: string;
}
