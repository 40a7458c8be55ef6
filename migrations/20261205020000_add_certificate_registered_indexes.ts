import type { Knex } from 'knex';

/**
 * Registry search at a million certificates, the counts (docs/ca.md, "Registry search"): every
 * registry query filters `state in ('issued', 'imported')` (a reserved or abandoned serial is no
 * certificate), so indexes restricted to those states answer it from the index alone, and a count
 * ("exact up to 1,000") reads index entries only, no table rows (an index-only scan, once VACUUM
 * has marked the pages visible, as autovacuum does):
 * - `(status, agency_folded, not_after)`: agency + status, its count and its expiry test
 *   (replaces `(status, agency_folded)`, whose count read every matching row);
 * - `(not_after, serial, issuer_id)`: "expiring within N days", soonest first, the whole keyset
 *   order (replaces `(not_after, serial)`) and its count;
 * - `(status, not_after)`: the console dashboard's "good and expiring within 30/60/90 days".
 * Net one index more on every write of a certificate.
 */
const REGISTERED = `where state in ('issued', 'imported')`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create index certificates_registered_status_agency on certificates (status, agency_folded text_pattern_ops, not_after) ${REGISTERED}`);
  await knex.raw(`create index certificates_registered_expiry on certificates (not_after, serial, issuer_id) ${REGISTERED}`);
  await knex.raw(`create index certificates_registered_status_expiry on certificates (status, not_after) ${REGISTERED}`);
  await knex.raw('drop index if exists certificates_status_agency_folded');
  await knex.raw('drop index if exists certificates_not_after_serial');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('create index if not exists certificates_status_agency_folded on certificates (status, agency_folded text_pattern_ops)');
  await knex.raw('create index if not exists certificates_not_after_serial on certificates (not_after, serial)');
  for (const index of ['certificates_registered_status_agency', 'certificates_registered_expiry', 'certificates_registered_status_expiry']) {
    await knex.raw(`drop index if exists ${index}`);
  }
}
