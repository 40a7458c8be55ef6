import type { Knex } from 'knex';

/**
 * The audit chain's append as one round trip (docs/performance.md, "Logins: one round trip per
 * audit event"): the chain's lock, the read of its head and the insert in one function call,
 * instead of three statements. The caller (src/storage/audit-repository.ts) passes the event's
 * canonical JSON around its sequence number (`head` ‖ seq ‖ `tail`, keys sorted: `seq` falls
 * between `occurredAt` and `target`), and checks the hash it gets back against its own.
 *
 * Why a function and not one statement: under READ COMMITTED a statement's snapshot is taken
 * before its advisory lock is granted, so a head read in the same statement could miss the event
 * the previous holder of the lock committed. In a VOLATILE PL/pgSQL function each statement takes
 * a new snapshot: the head is read after the lock is held, as the three statements did. The lock
 * key is the chain's (AUDIT_LOCK_KEY: "tinnhinm"), so appends through the function and through
 * appendMany's statements are serialised together.
 */
/** src/storage/audit-repository.ts's AUDIT_LOCK_KEY as a signed 64-bit integer. */
const AUDIT_LOCK_KEY = BigInt.asIntN(64, 0x74696e6e68696e6dn).toString();

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION tinnhiem_audit_append(
      p_occurred_at timestamptz, p_actor text, p_action text, p_target text, p_details jsonb, p_head text, p_tail text,
      OUT out_seq bigint, OUT out_prev_hash bytea, OUT out_hash bytea)
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      last_seq bigint;
      last_hash bytea;
    BEGIN
      PERFORM pg_advisory_xact_lock(${AUDIT_LOCK_KEY});
      SELECT e.seq, e.hash INTO last_seq, last_hash FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
      out_seq := coalesce(last_seq, 0) + 1;
      out_prev_hash := coalesce(last_hash, decode(repeat('00', 32), 'hex'));
      out_hash := sha256(out_prev_hash || convert_to(p_head || out_seq::text || p_tail, 'UTF8'));
      INSERT INTO audit_events (seq, occurred_at, actor, action, target, details, prev_hash, hash)
        VALUES (out_seq, p_occurred_at, p_actor, p_action, p_target, p_details, out_prev_hash, out_hash);
    END
    $fn$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION IF EXISTS tinnhiem_audit_append(timestamptz, text, text, text, jsonb, text, text)');
}
