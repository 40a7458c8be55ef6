import type { Knex } from 'knex';

/**
 * The OCSP responder's shared state (docs/ocsp.md):
 * - `ocsp_responses`: one pre-signed OCSPResponse per (issuer, serial, CertID variant), served byte
 *   for byte and refreshed before nextUpdate by a bounded background job. `status_at` is the
 *   certificate's status_changed_at the response was signed from: a write carrying an older status
 *   never replaces a newer one (a slow signer cannot resurrect `good` after a revocation).
 * - `ocsp_changes`: the status-change feed. Every revoke, hold or release appends a row; nodes
 *   follow it (LISTEN/NOTIFY on PostgreSQL, polling on the embedded database) and drop their
 *   in-memory copies of that certificate's responses.
 * - `ocsp_nodes`: every running responder, with the last change it applied and a heartbeat, so
 *   the node that revokes waits until every live node has applied the change before returning.
 * - `ocsp_leases`: one row per background job, so only one node at a time pre-signs.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ocsp_responses', (t) => {
    t.text('issuer_id').notNullable();
    t.text('serial').notNullable(); // as certificates.serial: lower-case hex of the magnitude
    t.text('variant').notNullable(); // sha1 (pre-signed ahead of time), sha256, sha1-noparams, …
    t.binary('der').notNullable();
    t.text('status').notNullable(); // good | revoked | hold, what `der` says
    t.timestamp('revoked_at', { useTz: true }).nullable();
    t.text('revocation_reason').nullable();
    t.timestamp('status_at', { useTz: true }).notNullable();
    t.timestamp('this_update', { useTz: true }).notNullable();
    t.timestamp('next_update', { useTz: true }).notNullable();
    t.timestamp('produced_at', { useTz: true }).notNullable();
    t.timestamp('refresh_at', { useTz: true }).notNullable(); // half-life: the job re-signs from here
    t.primary(['issuer_id', 'serial', 'variant']);
    t.index(['refresh_at']);
  });

  await knex.schema.createTable('ocsp_changes', (t) => {
    t.bigIncrements('id').primary();
    t.text('issuer_id').notNullable();
    t.text('serial').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['created_at']);
  });

  await knex.schema.createTable('ocsp_nodes', (t) => {
    t.text('node_id').primary();
    t.text('description').notNullable(); // host, pid, role: for operators
    t.bigInteger('applied_change').notNullable();
    t.timestamp('heartbeat_at', { useTz: true }).notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('ocsp_leases', (t) => {
    t.text('name').primary();
    t.text('holder').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['ocsp_leases', 'ocsp_nodes', 'ocsp_changes', 'ocsp_responses']) await knex.schema.dropTableIfExists(table);
}
