import type { Knex } from 'knex';
import * as createAuditEvents from './20261127090000_create_audit_events.js';
import * as createIdentity from './20261127100000_create_identity.js';
import * as createCa from './20261127110000_create_ca.js';
import * as createOcsp from './20261127120000_create_ocsp.js';
import * as createTrustStore from './20261127130000_create_trust_store.js';
import * as createFederation from './20261127140000_create_federation.js';
import * as createPasskeys from './20261127150000_create_passkeys.js';
import * as createBlockedKeys from './20261203130000_create_blocked_keys.js';

/**
 * Migrations are listed here, not discovered on disk, so the same list runs under tsx, jest and
 * compiled output. Add a new file as <timestamp>_<verb>_<object>.ts (up and down) and list it.
 */
interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const migrations: readonly Migration[] = [
  { name: '20261127090000_create_audit_events', ...createAuditEvents },
  { name: '20261127100000_create_identity', ...createIdentity },
  { name: '20261127110000_create_ca', ...createCa },
  { name: '20261127120000_create_ocsp', ...createOcsp },
  { name: '20261127130000_create_trust_store', ...createTrustStore },
  { name: '20261127140000_create_federation', ...createFederation },
  { name: '20261127150000_create_passkeys', ...createPasskeys },
  { name: '20261203130000_create_blocked_keys', ...createBlockedKeys },
];

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => [...migrations],
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m,
};
