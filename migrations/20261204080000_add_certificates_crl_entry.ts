import type { Knex } from 'knex';
import type { RevocationReason } from '../ca/status/crl/crl.js';

/**
 * A revoked or held certificate's CRL entry (RFC 5280 §5.1.2.6), encoded once when its status
 * changes and kept on the row: a full CRL is then the concatenation of these entries and one
 * signature (docs/ca.md, "CRLs"), not one ASN.1 encoding per entry. Existing revocations are
 * encoded here; a row without an entry (written by hand) is encoded when a CRL is made.
 *
 * Delta CRLs are made from the rows whose status changed since their base (the index), no longer
 * by comparing the base's whole entry list, so full CRLs stop storing their entries as JSON
 * (10 MB of jsonb for 100,000 entries, written at every revocation).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('certificates', (t) => {
    t.binary('crl_entry').nullable();
    t.index(['issuer_id', 'status_changed_at'], 'certificates_issuer_status_changed_at');
  });
  await knex.schema.alterTable('crls', (t) => {
    t.dropColumn('entries');
  });
  await fillCrlEntries(knex);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('crls', (t) => {
    t.jsonb('entries').nullable();
  });
  await knex.schema.alterTable('certificates', (t) => {
    t.dropIndex(['issuer_id', 'status_changed_at'], 'certificates_issuer_status_changed_at');
    t.dropColumn('crl_entry');
  });
}

interface RevokedRow {
  issuer_id: string;
  serial: string;
  revoked_at: Date | string;
  revocation_reason: RevocationReason;
  invalidity_date: Date | string | null;
}

/** Encodes the entry of every revoked or held row that has none, a page at a time (also bench/crl.ts after its SQL seeding). */
export async function fillCrlEntries(knex: Knex, page = 5_000): Promise<number> {
  // The encoder (asn1js, pkijs) when entries are made, not whenever the migration list is read:
  // every command reads it (docs/cli.md, "Start-up time").
  const { crlEntryDer } = await import('../ca/status/crl/crl.js');
  let done = 0;
  let after: [string, string] = ['', ''];
  for (;;) {
    const rows: RevokedRow[] = await knex('certificates')
      .whereIn('status', ['revoked', 'hold'])
      .whereNull('crl_entry')
      .whereNotNull('revoked_at')
      .whereRaw('(issuer_id, serial) > (?, ?)', after)
      .orderBy([{ column: 'issuer_id' }, { column: 'serial' }])
      .limit(page)
      .select('issuer_id', 'serial', 'revoked_at', 'revocation_reason', 'invalidity_date');
    if (rows.length === 0) return done;
    const hex = rows.map((r) =>
      Buffer.from(
        crlEntryDer({
          serial: r.serial,
          revokedAt: new Date(r.revoked_at),
          reason: r.revocation_reason,
          invalidityDate: r.invalidity_date == null ? null : new Date(r.invalidity_date),
        }),
      ).toString('hex'),
    );
    await knex.raw(
      `UPDATE certificates c SET crl_entry = decode(v.hex, 'hex')
         FROM unnest(?::text[], ?::text[], ?::text[]) AS v(issuer_id, serial, hex)
        WHERE c.issuer_id = v.issuer_id AND c.serial = v.serial`,
      [rows.map((r) => r.issuer_id), rows.map((r) => r.serial), hex],
    );
    done += rows.length;
    const last = rows[rows.length - 1];
    after = [last.issuer_id, last.serial];
  }
}
