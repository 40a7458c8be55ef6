import type { Knex } from 'knex';
import * as createAuditEvents from './20261127090000_create_audit_events.js';
import * as createIdentity from './20261127100000_create_identity.js';
import * as createCa from './20261127110000_create_ca.js';
import * as createOcsp from './20261127120000_create_ocsp.js';
import * as createTrustStore from './20261127130000_create_trust_store.js';
import * as createFederation from './20261127140000_create_federation.js';
import * as createPasskeys from './20261127150000_create_passkeys.js';
import * as createEnrolmentAndAccountChanges from './20261203100000_create_enrolment_and_account_changes.js';
import * as addPendingToLoginThrottle from './20261203110000_add_pending_to_login_throttle.js';
import * as hashOidcBearerValues from './20261203120000_hash_oidc_bearer_values.js';
import * as createTokenRevocations from './20261203120100_create_token_revocations.js';
import * as addCertificatesCrlEntry from './20261204080000_add_certificates_crl_entry.js';
import * as addCertificateRegisteredIndexes from './20261205020000_add_certificate_registered_indexes.js';
import * as addCertificateCompactSearch from './20261205021000_add_certificate_compact_search.js';
import * as addCertificatesReleasedAt from './20261203140000_add_certificates_released_at.js';
import * as addIssuersAnnouncedAt from './20261203140100_add_issuers_announced_at.js';
import * as createAuditCheckpoints from './20261203150000_create_audit_checkpoints.js';
import * as addTrustTimestamping from './20261203160000_add_trust_timestamping.js';
import * as addCertificateFoldedText from './20261204060000_add_certificate_folded_text.js';
import * as createBlockedKeys from './20261203130000_create_blocked_keys.js';
import * as createRegisteredDocuments from './20261204020000_create_registered_documents.js';
import * as addLeaseToLoginThrottle from './20261205040000_add_lease_to_login_throttle.js';
import * as registeredSearchIndexes from './20261206010000_registered_search_indexes.js';
import * as raiseSearchCompactStatistics from './20261206050000_raise_search_compact_statistics.js';
import * as auditAppendFunction from './20261207200000_audit_append_function.js';
import * as webauthnSpentChallenges from './20261208300000_webauthn_spent_challenges.js';
import * as oidcPayloadsPartialIndexes from './20261209100000_oidc_payloads_partial_indexes.js';

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
  { name: '20261203100000_create_enrolment_and_account_changes', ...createEnrolmentAndAccountChanges },
  { name: '20261203110000_add_pending_to_login_throttle', ...addPendingToLoginThrottle },
  { name: '20261203120000_hash_oidc_bearer_values', ...hashOidcBearerValues },
  { name: '20261203120100_create_token_revocations', ...createTokenRevocations },
  { name: '20261203140000_add_certificates_released_at', ...addCertificatesReleasedAt },
  { name: '20261203140100_add_issuers_announced_at', ...addIssuersAnnouncedAt },
  { name: '20261203150000_create_audit_checkpoints', ...createAuditCheckpoints },
  { name: '20261203160000_add_trust_timestamping', ...addTrustTimestamping },
  { name: '20261203130000_create_blocked_keys', ...createBlockedKeys },
  { name: '20261204060000_add_certificate_folded_text', ...addCertificateFoldedText },
  { name: '20261204080000_add_certificates_crl_entry', ...addCertificatesCrlEntry },
  { name: '20261204020000_create_registered_documents', ...createRegisteredDocuments },
  { name: '20261205020000_add_certificate_registered_indexes', ...addCertificateRegisteredIndexes },
  { name: '20261205021000_add_certificate_compact_search', ...addCertificateCompactSearch },
  { name: '20261205040000_add_lease_to_login_throttle', ...addLeaseToLoginThrottle },
  { name: '20261206010000_registered_search_indexes', ...registeredSearchIndexes },
  { name: '20261206050000_raise_search_compact_statistics', ...raiseSearchCompactStatistics },
  { name: '20261207200000_audit_append_function', ...auditAppendFunction },
  { name: '20261208300000_webauthn_spent_challenges', ...webauthnSpentChallenges },
  { name: '20261209100000_oidc_payloads_partial_indexes', ...oidcPayloadsPartialIndexes },
];

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => [...migrations],
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m,
};
