import type { Knex } from 'knex';

/**
 * The certificate authority and registry: issuers (our hierarchy, and CAs of imported
 * certificates), certificate requests with their approvals, the certificates themselves (issued
 * here or imported) with their revocation state, and the CRLs published per issuer.
 */
export async function up(knex: Knex): Promise<void> {
  await createIssuersAndRequests(knex);
  await createCertificatesAndCrls(knex);
}

/** Issuers, and certificate requests with their approvals. */
async function createIssuersAndRequests(knex: Knex): Promise<void> {
  await knex.schema.createTable('ca_issuers', (t) => {
    t.text('id').primary();
    t.text('role').notNullable(); // root | issuing | ocsp-signer | external
    t.text('key_uri').nullable(); // null for external issuers (we do not hold their key)
    t.binary('certificate').nullable(); // null while an issuing CA waits for its external root
    t.binary('csr').nullable();
    t.jsonb('signature_algorithm').nullable();
    t.text('parent_id').nullable();
    t.text('status').notNullable(); // pending | active | retired
    t.text('subject_dn').nullable();
    t.text('key_identifier').nullable(); // hex SKI: links imported certificates to their issuer
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('certificate_requests', (t) => {
    t.uuid('id').primary();
    t.text('profile_id').notNullable();
    t.text('issuer_id').notNullable();
    t.binary('csr').notNullable();
    t.jsonb('holder').notNullable(); // subject fields and alt names the RA vouches for
    t.text('subject_dn').notNullable();
    t.text('public_key_fingerprint').notNullable();
    t.text('requested_by').notNullable();
    t.text('status').notNullable(); // pending | approved | issued | rejected
    t.integer('approvals_required').notNullable();
    t.text('reject_reason').nullable();
    t.text('certificate_serial').nullable();
    t.text('predecessor_serial').nullable(); // renewal / re-key
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['status', 'created_at']);
  });

  await knex.schema.createTable('certificate_request_approvals', (t) => {
    t.uuid('request_id').notNullable().references('id').inTable('certificate_requests').onDelete('CASCADE');
    t.text('approver').notNullable();
    t.timestamp('approved_at', { useTz: true }).notNullable();
    t.primary(['request_id', 'approver']); // one approval per officer
  });
}

/** Certificates (issued or imported) and published CRLs. */
async function createCertificatesAndCrls(knex: Knex): Promise<void> {
  await knex.schema.createTable('certificates', (t) => {
    t.text('issuer_id').notNullable();
    t.text('serial').notNullable(); // lower-case hex of the INTEGER's content octets
    t.text('state').notNullable(); // reserved (TBS recorded, not yet signed) | issued | imported
    t.binary('tbs').nullable();
    t.binary('der').nullable();
    t.text('profile_id').nullable();
    t.uuid('request_id').nullable();
    t.text('public_key_fingerprint').notNullable();
    t.timestamp('not_before', { useTz: true }).notNullable();
    t.timestamp('not_after', { useTz: true }).notNullable();
    t.text('status').notNullable(); // good | revoked | hold (a reserved row is 'good' once signed)
    t.timestamp('revoked_at', { useTz: true }).nullable();
    t.text('revocation_reason').nullable();
    t.timestamp('invalidity_date', { useTz: true }).nullable();
    t.timestamp('status_changed_at', { useTz: true }).notNullable();
    t.text('subject_dn').nullable();
    t.text('holder_name').nullable(); // CN
    t.text('national_id').nullable(); // CCCD / CMND from UID
    t.text('tax_code').nullable(); // MST
    t.text('budget_code').nullable(); // MNS
    t.text('agency').nullable(); // O
    t.text('email').nullable();
    t.text('source').notNullable(); // issued | imported
    t.text('status_source').notNullable(); // registry | ocsp:<url> | crl:<url> | none
    t.text('predecessor_serial').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.primary(['issuer_id', 'serial']);
    t.index(['status', 'not_after']);
    t.index(['national_id']);
    t.index(['tax_code']);
    t.index(['agency']);
    t.index(['profile_id']);
    t.index(['public_key_fingerprint']);
    t.index(['not_after']);
  });

  // CRL numbers: one increasing sequence per issuer, shared by full and delta CRLs (RFC 5280 §5.2.3).
  await knex.schema.createTable('crls', (t) => {
    t.text('issuer_id').notNullable();
    t.bigInteger('number').notNullable();
    t.text('kind').notNullable(); // full | delta
    t.bigInteger('base_number').nullable();
    t.timestamp('this_update', { useTz: true }).notNullable();
    t.timestamp('next_update', { useTz: true }).notNullable();
    t.binary('der').notNullable();
    t.jsonb('entries').nullable(); // kept for full CRLs
    // Full CRLs made on schedule are the base of the delta CRLs until the next one; full CRLs made
    // on a revocation are not, so deltas keep listing every change since the scheduled base.
    t.boolean('delta_base').notNullable().defaultTo(false);
    t.primary(['issuer_id', 'number']);
    t.index(['issuer_id', 'kind', 'number']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['crls', 'certificates', 'certificate_request_approvals', 'certificate_requests', 'ca_issuers']) {
    await knex.schema.dropTableIfExists(table);
  }
}
