import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { normalise, type Transaction } from './db.js';
import { auditAppendCall, type AppendedRow } from './audit-repository.js';
import type { AuditEventInput } from '../audit/audit-chain.js';
import type { AccountCertificate, NewPasskey, Passkey, StoredChallenge } from '../webauthn/passkey.js';
import type { AccountCertificateStore, PasskeyStore, SpentChallengeUse, WrittenWithLogin } from '../webauthn/ports.js';
import { accountFromJson, lookupKey, payloadsJson, storedPayloadJson, upsertPayloadsFromJson } from './oidc-payload-repository.js';
import { runPooledStatement } from './pooled-statement.js';

interface PasskeyRow {
  id: string;
  account_id: string;
  credential_id: string;
  public_key: Buffer | Uint8Array;
  counter: string | number | bigint;
  transports: string[];
  aaguid: string;
  device_type: string;
  backed_up: boolean;
  name: string;
  created_at: Date | string;
  last_used_at: Date | string | null;
}

const toPasskey = (r: PasskeyRow): Passkey => ({
  id: r.id,
  accountId: r.account_id,
  credentialId: r.credential_id,
  publicKey: normalise.bytes(r.public_key)!,
  counter: normalise.int(r.counter),
  transports: r.transports ?? [],
  aaguid: r.aaguid,
  deviceType: r.device_type === 'multiDevice' ? 'multiDevice' : 'singleDevice',
  backedUp: r.backed_up,
  name: r.name,
  createdAt: normalise.date(r.created_at),
  lastUsedAt: r.last_used_at ? normalise.date(r.last_used_at) : null,
});

/**
 * advanceCounterSpendingChallenge's rows stored with the login (a data-modifying CTE runs whether
 * or not it is read): written only if the counter advanced, which is when the event is appended.
 */
const STORED_WITH_LOGIN = `, stored AS (
           ${upsertPayloadsFromJson('WHERE EXISTS (SELECT 1 FROM advanced)')}
           RETURNING 1
         )`;

/**
 * With a login's rows: the passkey's account as AccountRepository.findById reads it, read by the
 * statement that accepts the assertion, after its writes are decided (a later statement of the
 * same request would read what this one does, but for a change committed in between). The login's
 * resume, in the same request, takes it as its account read: one round trip fewer
 * (docs/performance.md, "Passkey login, thirteenth pass").
 */
const ACCOUNT_WITH_LOGIN = `,
           (SELECT to_jsonb(a) - 'password_hash' FROM passkeys p JOIN accounts a ON a.id = p.account_id WHERE p.id = (SELECT id FROM advanced)) AS account`;

/**
 * The guard of a login's interaction (`alongside`'s row with `expected`): its row, if it still
 * holds exactly the payload the login step read and has not expired, locked; the statement's
 * writes all depend on it (the spent marker first, and all else on that).
 */
const GUARD = `live AS (
           SELECT 1 FROM oidc_payloads WHERE model = 'Interaction' AND id = ? AND payload = ?::jsonb AND (expires_at IS NULL OR expires_at > ?::timestamptz) FOR UPDATE
         ), `;

/** Passkeys, WebAuthn challenges and certificates registered to accounts. */
export class PasskeyRepository implements PasskeyStore<Transaction>, AccountCertificateStore<Transaction> {
  constructor(private readonly knex: Knex) {}

  async listForAccount(accountId: string, trx?: Transaction): Promise<Passkey[]> {
    const rows = await (trx ?? this.knex)<PasskeyRow>('passkeys').where({ account_id: accountId }).orderBy('created_at');
    return rows.map(toPasskey);
  }

  async findByCredentialId(credentialId: string, trx?: Transaction, forUpdate = false): Promise<Passkey | null> {
    const q = (trx ?? this.knex)<PasskeyRow>('passkeys').where({ credential_id: credentialId }).first();
    if (forUpdate && trx) q.forUpdate();
    const row = await q;
    return row ? toPasskey(row) : null;
  }

  async findById(id: string, trx?: Transaction): Promise<Passkey | null> {
    const row = await (trx ?? this.knex)<PasskeyRow>('passkeys').where({ id }).first();
    return row ? toPasskey(row) : null;
  }

  async create(trx: Transaction, passkey: NewPasskey, now: Date): Promise<Passkey> {
    const id = randomUUID();
    await trx('passkeys').insert({
      id,
      account_id: passkey.accountId,
      credential_id: passkey.credentialId,
      public_key: passkey.publicKey,
      counter: passkey.counter,
      transports: passkey.transports,
      aaguid: passkey.aaguid,
      device_type: passkey.deviceType,
      backed_up: passkey.backedUp,
      name: passkey.name,
      created_at: now,
      last_used_at: null,
    });
    return { ...passkey, id, createdAt: now, lastUsedAt: null };
  }

  /**
   * Records a use whose signature counter advances (WebAuthn §7.2 step 21: it must grow, unless it
   * stays 0 on an authenticator without one), checked and written in one statement: the row's
   * lock orders two assertions of one passkey, and the second re-reads the first's counter.
   * False when it would not advance (or the passkey is gone): nothing is written.
   */
  async advanceCounter(trx: Transaction, id: string, counter: number, backedUp: boolean, now: Date): Promise<boolean> {
    const q = trx('passkeys').where({ id });
    if (counter === 0) q.andWhere('counter', 0);
    else q.andWhere('counter', '<', counter);
    const rows = (await q.update({ counter, backed_up: backedUp, last_used_at: now }).returning('id')) as unknown[];
    return rows.length === 1;
  }

  /**
   * A sealed challenge's use, in one statement without a transaction (docs/performance.md,
   * "Passkey login, sixth pass"): its spent marker inserted (`ON CONFLICT DO NOTHING`: of two
   * assertions on one challenge, the second waits for the first's marker and inserts nothing),
   * the counter's conditional UPDATE only if the marker was inserted now, and for its row the
   * audit chain's append function in a LATERAL join (so the event exists only if the counter
   * advanced; the passkey's row lock is taken before the chain's lock, as in advanceCounter's
   * transaction). One statement commits all of it or nothing. `spent`: the challenge was used before (nothing written);
   * `stale`: the marker is written (the challenge is used up) but the counter would not advance,
   * or the passkey is gone; `advanced`: the counter, the use and the event are written.
   */
  async advanceCounterSpendingChallenge(
    challenge: { challenge: string; expiresAt: Date },
    id: string,
    counter: number,
    backedUp: boolean,
    now: Date,
    event: AuditEventInput,
    alongside: readonly WrittenWithLogin[] = [],
  ): Promise<SpentChallengeUse> {
    const call = auditAppendCall(event, now);
    const zero = counter === 0;
    const storing = alongside.length > 0;
    // The interaction as the login step read it: the statement writes nothing unless the stored
    // one is still exactly that, unexpired, and holds its row lock until it commits
    // (oidc/login-capture.ts; docs/performance.md, "Passkey login, sixteenth pass").
    const guarded = alongside.find((r) => r.expected);
    // The provider's rows the login stores (its interaction's result, oidc/login-capture.ts
    // capturingInteraction), upserted as OidcPayloadRepository.upsertMany writes them, only if the
    // counter advanced: a refused assertion stores no result (docs/performance.md, "Logins,
    // seventh pass").
    const result = await runPooledStatement<Partial<AppendedRow> & { fresh: number | string; live: number | string; account?: unknown }>(
      this.knex,
      `tinnhiem_passkey_use_spending${zero ? '_zero' : ''}${storing ? '_storing' : ''}${guarded ? '_guarded' : ''}`,
      `WITH ${guarded ? GUARD : ''}spent AS (
           INSERT INTO webauthn_spent_challenges (challenge, expires_at) ${guarded ? 'SELECT ?::text, ?::timestamptz FROM live' : 'VALUES (?, ?)'} ON CONFLICT (challenge) DO NOTHING RETURNING challenge
         ), advanced AS (
           UPDATE passkeys SET counter = ?, backed_up = ?, last_used_at = ? FROM spent WHERE passkeys.id = ? AND ${zero ? 'passkeys.counter = 0' : 'passkeys.counter < ?'} RETURNING passkeys.id
         ), appended AS (
           SELECT a.out_seq, a.out_prev_hash, a.out_hash FROM advanced CROSS JOIN LATERAL ${call.sql} a
         )${storing ? STORED_WITH_LOGIN : ''}
         SELECT (SELECT count(*) FROM spent)::int AS fresh, ${guarded ? '(SELECT count(*) FROM live)::int' : '1'} AS live, appended.out_seq, appended.out_prev_hash, appended.out_hash${storing ? ACCOUNT_WITH_LOGIN : ''} FROM (SELECT 1) one LEFT JOIN appended ON true`,
      [
        ...(guarded ? [lookupKey(guarded.id), storedPayloadJson(guarded.model, guarded.id, guarded.expected!), now] : []),
        challenge.challenge, challenge.expiresAt, counter, backedUp, now, id, ...(zero ? [] : [counter]), ...call.bindings, ...(storing ? [payloadsJson(alongside)] : []),
      ],
    );
    const row = result.rows[0];
    if (!row || Number(row.live) !== 1) return { use: 'ended' };
    if (Number(row.fresh) !== 1) return { use: 'spent' };
    if (row.out_seq === null || row.out_seq === undefined) return { use: 'stale' };
    call.appended(row as AppendedRow);
    if (!storing) return { use: 'advanced' };
    return { use: 'advanced', account: accountFromJson(row.account) };
  }

  async rename(trx: Transaction, id: string, name: string): Promise<void> {
    await trx('passkeys').where({ id }).update({ name });
  }

  async remove(trx: Transaction, id: string): Promise<void> {
    await trx('passkeys').where({ id }).del();
  }

  /** One statement: no transaction is needed around it (`trx` null). */
  async saveChallenge(trx: Transaction | null, c: StoredChallenge): Promise<void> {
    await (trx ?? this.knex)('webauthn_challenges').insert({ challenge: c.challenge, purpose: c.purpose, account_id: c.accountId, binding: c.binding, expires_at: c.expiresAt });
  }

  /**
   * Takes a challenge (deletes it, so it serves once); null when unknown or already used. One
   * statement (DELETE … RETURNING): of two concurrent takes only one gets the row, with or
   * without a transaction around it (`trx` null).
   */
  async takeChallenge(trx: Transaction | null, challenge: string): Promise<StoredChallenge | null> {
    const rows = await (trx ?? this.knex)<{ challenge: string; purpose: string; account_id: string | null; binding: string; expires_at: Date | string }>('webauthn_challenges')
      .where({ challenge })
      .del()
      .returning(['challenge', 'purpose', 'account_id', 'binding', 'expires_at']);
    const r = rows[0];
    if (!r) return null;
    return { challenge: r.challenge, purpose: r.purpose === 'registration' ? 'registration' : 'authentication', accountId: r.account_id, binding: r.binding, expiresAt: normalise.date(r.expires_at) };
  }

  /**
   * Sweeps stored challenges that expired, and the spent markers of sealed challenges that expired
   * more than `markerGraceMs` ago: the seal refuses an expired challenge by itself, the grace
   * covers the clocks of other nodes running behind this one's.
   */
  async sweepChallenges(now: Date, markerGraceMs = 10 * 60_000): Promise<number> {
    const stored = await this.knex('webauthn_challenges').where('expires_at', '<', now).del().returning('challenge');
    const spent = await this.knex('webauthn_spent_challenges').where('expires_at', '<', new Date(now.getTime() - markerGraceMs)).del().returning('challenge');
    return stored.length + spent.length;
  }

  async addCertificate(trx: Transaction, c: Omit<AccountCertificate, 'createdAt'>, now: Date): Promise<boolean> {
    const rows = await trx('account_certificates')
      .insert({ account_id: c.accountId, fingerprint: c.fingerprint, subject_dn: c.subjectDn, issuer_dn: c.issuerDn, serial: c.serial, created_at: now })
      .onConflict('fingerprint')
      .ignore()
      .returning('fingerprint');
    return rows.length > 0;
  }

  async removeAllPasskeys(trx: Transaction, accountId: string): Promise<number> {
    // RETURNING: PGlite's driver does not answer a DELETE with a row count.
    return (await trx('passkeys').where({ account_id: accountId }).del().returning('id')).length;
  }

  async removeCertificate(trx: Transaction, accountId: string, fingerprint: string): Promise<boolean> {
    return (await trx('account_certificates').where({ account_id: accountId, fingerprint }).del().returning('fingerprint')).length === 1;
  }

  async accountForCertificate(fingerprint: string): Promise<string | null> {
    const row = (await this.knex('account_certificates').where({ fingerprint }).first()) as { account_id: string } | undefined;
    return row?.account_id ?? null;
  }

  async certificatesOf(accountId: string): Promise<AccountCertificate[]> {
    const rows = await this.knex<{ account_id: string; fingerprint: string; subject_dn: string; issuer_dn: string; serial: string; created_at: Date | string }>('account_certificates')
      .where({ account_id: accountId })
      .orderBy('created_at');
    return rows.map((r) => ({ accountId: r.account_id, fingerprint: r.fingerprint, subjectDn: r.subject_dn, issuerDn: r.issuer_dn, serial: r.serial, createdAt: normalise.date(r.created_at) }));
  }
}
