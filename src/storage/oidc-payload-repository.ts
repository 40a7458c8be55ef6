import { hash } from 'node:crypto';
import type { Knex } from 'knex';
import type { PayloadStore, StoredPayload } from '../../oidc/ports.js';
import type { Account } from '../../oidc/account.js';
import { toAccount, type AccountRow } from './account-repository.js';
import { normalise } from './db.js';
import { runPooledStatement } from './pooled-statement.js';

interface Row {
  payload: Record<string, unknown>;
  consumed_at: Date | string | null;
  expires_at: Date | string | null;
}

/**
 * Bearer values never rest in clear (docs/identity.md, "Bearer values at rest"): a row's key is
 * the SHA-256 of the model's id (an authorization code, a refresh token, an opaque access token,
 * a session or interaction id), the payload loses its `jti` (the same value) and is given it back
 * on read from the value the caller looked it up with. A device flow's user code likewise. The
 * values are 256-bit random, so an unsalted hash cannot be reversed by guessing.
 */
export function lookupKey(value: string): string {
  // The one-shot digest: no Hash object per call (three or four per refresh).
  return hash('sha256', value, 'hex');
}

/** pg answers a DELETE with a count, PGlite's driver with a result object. */
function deleted(result: unknown): number {
  return typeof result === 'number' ? result : Number((result as { rowCount?: number }).rowCount ?? 0);
}

/** An account id as the accounts table keys it (AccountRepository.findById reads no other). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * findWithGrant's one query: the payload, its grant (keyed by the SHA-256 of its id, as every
 * row) and its account (every column but the password hash, as one jsonb value). The account is
 * joined only for an id that is a UUID, which the CASE checks before the cast (a cast of anything
 * else would fail the query).
 */
const FIND_WITH_GRANT = `SELECT r.payload, r.consumed_at, r.expires_at, r.grant_id, r.account_id,
       g.payload AS g_payload, g.consumed_at AS g_consumed_at, g.expires_at AS g_expires_at,
       s.payload AS s_payload, s.consumed_at AS s_consumed_at, s.expires_at AS s_expires_at,
       to_jsonb(a) - 'password_hash' AS account
  FROM oidc_payloads r
  LEFT JOIN oidc_payloads g ON g.model = 'Grant' AND g.id = encode(sha256(convert_to(r.grant_id, 'UTF8')), 'hex')
  LEFT JOIN accounts a ON a.id = CASE WHEN r.account_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN r.account_id::uuid END
  LEFT JOIN LATERAL (SELECT p.payload, p.consumed_at, p.expires_at FROM oidc_payloads p
                      WHERE p.model = 'Session' AND p.uid = r.payload->>'sessionUid' LIMIT 1) s ON true
 WHERE r.model = ? AND r.id = ?`;

/**
 * findInteractionWithAccount's one query: the interaction and the account it names (its login's
 * result, else its session's), every column but the password hash, joined only for a UUID (the
 * CASE checks before the cast).
 */
const FIND_INTERACTION_WITH_ACCOUNT = `SELECT r.payload, r.consumed_at, r.expires_at, n.account_id, to_jsonb(a) - 'password_hash' AS account
  FROM oidc_payloads r
  CROSS JOIN LATERAL (SELECT COALESCE(r.payload #>> '{result,login,accountId}', r.payload #>> '{session,accountId}') AS account_id) n
  LEFT JOIN accounts a ON a.id = CASE WHEN n.account_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN n.account_id::uuid END
 WHERE r.model = 'Interaction' AND r.id = ?`;

interface FoundWithGrant extends Row {
  grant_id: string | null;
  account_id: string | null;
  g_payload: unknown;
  g_consumed_at: Row['consumed_at'];
  g_expires_at: Row['expires_at'];
  s_payload: unknown;
  s_consumed_at: Row['consumed_at'];
  s_expires_at: Row['expires_at'];
  account: unknown;
}

/** jsonb as the driver gives it: pg parses it, a driver that does not gives the text. */
const jsonValue = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);
/** An account read as `to_jsonb(a) - 'password_hash'` (as AccountRepository.findById reads it); null when none was found. */
export const accountFromJson = (value: unknown): Account | null => (value == null ? null : toAccount(jsonValue(value) as AccountRow));

/** The models whose rows a grant gives (oidc-provider's lib/helpers/revoke.js revokes these by grant). */
const GRANT_BOUND_MODELS = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode'];

/** The columns an upsert replaces when the row exists. */
const MERGED = ['payload', 'grant_id', 'user_code', 'uid', 'account_id', 'expires_at'];

/**
 * Upserts of the rows a statement's one JSON parameter carries (`payloadsJson`), each as `upsert`
 * writes it; `condition` (a WHERE clause, or nothing) decides whether any is written: every
 * statement that stores provider rows with another change (upsertMany, a rotation, a resume, a
 * passkey login) uses this text.
 */
export const upsertPayloadsFromJson = (condition = '') => `INSERT INTO oidc_payloads (model, id, payload, grant_id, user_code, uid, account_id, expires_at)
  SELECT v.model, v.id, v.payload, v.grant_id, v.user_code, v.uid, v.account_id, v.expires_at
    FROM jsonb_to_recordset(?::jsonb) AS v(model text, id text, payload jsonb, grant_id text, user_code text, uid text, account_id text, expires_at timestamptz)
   ${condition}
  ON CONFLICT (model, id) DO UPDATE SET ${MERGED.map((c) => `${c} = excluded.${c}`).join(', ')}`;

/** A payload as `upsert` stores it (without its id and user code), as JSON text: what a guard compares the stored row with. */
export const storedPayloadJson = (model: string, id: string, payload: Record<string, unknown>): string => JSON.stringify(storedRow(model, id, payload, null).payload);

/** The JSON parameter of upsertPayloadsFromJson: the rows as stored (the payload as a JSON object, not upsert's text). */
export const payloadsJson = (rows: readonly StoredPayload[]): string =>
  JSON.stringify(
    rows.map((r) => {
      const row = storedRow(r.model, r.id, r.payload, r.expiresAt);
      return { ...row, expires_at: row.expires_at?.toISOString() ?? null };
    }),
  );

/**
 * The adapter's four statements of every login, token and session (find, upsert, consume,
 * destroy), as constant text sent as named statements: PostgreSQL parses and plans each once per
 * connection, and knex builds no query for them (docs/performance.md, "Logins: fewer requests,
 * prepared statements"). Their meaning is the knex queries' they replace.
 */
const FIND = `SELECT payload, consumed_at, expires_at FROM oidc_payloads WHERE model = ? AND id = ? LIMIT 1`;
const UPSERT = `INSERT INTO oidc_payloads (model, id, payload, grant_id, user_code, uid, account_id, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (model, id) DO UPDATE SET ${MERGED.map((c) => `${c} = excluded.${c}`).join(', ')}`;
const CONSUME = `WITH consumed AS (UPDATE oidc_payloads SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL RETURNING grant_id)
  SELECT (SELECT count(*) FROM consumed)::int AS consumed, (SELECT grant_id FROM oidc_payloads WHERE model = ? AND id = ?) AS grant_id`;
const DESTROY = `DELETE FROM oidc_payloads WHERE model = ? AND id = ?`;

/**
 * consumeAndStore's statement. The used token is consumed only if it is unconsumed, the grant it
 * names (if any) is a live row, and the account it names (if a UUID, as findWithGrant joins it) is
 * active; an authorization code also only if it has not expired and, bound to its session
 * (oidc-provider's expiresWithSession), that session is live, of the code's account and holds the
 * code's grant for its client (oidc-provider's checkSessionBinding, which the code's read made:
 * a code this node kept is not read again, oidc/issued-codes.ts). A grant revoked or an account
 * disabled on another node between this request's read and its rotation (a status changed
 * without its rows, which the service's own disable also deletes) writes nothing, checked under the row lock the consumption takes. The `consumed_at IS NULL`
 * test is re-checked by PostgreSQL after a concurrent consumption commits (READ COMMITTED), so
 * of a parallel burst of one token exactly one statement consumes it.
 *
 * The grant and the account are scalar subqueries (null when the row is missing: nothing is
 * consumed), not EXISTS: PostgreSQL may plan an EXISTS correlated by one equality as a hashed
 * subplan, which reads every live grant and every active account to hash them, and it did so for
 * a plan cached while the tables were small (docs/performance.md, "Passkey login, fourteenth
 * pass": 325 grants read for one token in a ten-second run). A scalar subquery is never hashed:
 * each is one primary-key lookup, whatever the tables hold.
 */
const CONSUME_AND_STORE = `WITH consumed AS (
  UPDATE oidc_payloads r SET consumed_at = ?
   WHERE r.model = ? AND r.id = ? AND r.consumed_at IS NULL
     AND (r.model <> 'AuthorizationCode' OR r.expires_at IS NULL OR r.expires_at > ?::timestamptz)
     AND (r.model <> 'AuthorizationCode' OR coalesce(r.payload->>'expiresWithSession', '') <> 'true'
          OR (SELECT s.account_id = r.account_id AND s.payload #>> ARRAY['authorizations', r.payload->>'clientId', 'grantId'] = r.grant_id
                FROM oidc_payloads s WHERE s.model = 'Session' AND s.uid = r.payload->>'sessionUid' AND (s.expires_at IS NULL OR s.expires_at > ?::timestamptz) LIMIT 1))
     AND (r.grant_id IS NULL OR (SELECT g.expires_at IS NULL OR g.expires_at > ?::timestamptz FROM oidc_payloads g
           WHERE g.model = 'Grant' AND g.id = encode(sha256(convert_to(r.grant_id, 'UTF8')), 'hex')))
     AND (r.account_id IS NULL OR r.account_id !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
          OR (SELECT a.status = 'active' FROM accounts a WHERE a.id = CASE WHEN r.account_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN r.account_id::uuid END))
  RETURNING 1
), inserted AS (
  ${upsertPayloadsFromJson(`WHERE EXISTS (SELECT 1 FROM consumed)`)}
  RETURNING 1
)
SELECT (SELECT count(*) FROM consumed)::int AS consumed`;

const UPSERT_MANY = upsertPayloadsFromJson();

/** destroyAndStore's statement: the rows are written only if the DELETE deleted the row. */
const DESTROY_AND_STORE = `WITH gone AS (
  DELETE FROM oidc_payloads WHERE model = ? AND id = ? RETURNING 1
), inserted AS (
  ${upsertPayloadsFromJson(`WHERE EXISTS (SELECT 1 FROM gone)`)}
  RETURNING 1
)
SELECT (SELECT count(*) FROM gone)::int AS gone`;

/** One model's row as stored: the id and a user code hashed, the payload without them. */
function storedRow(model: string, id: string, payload: Record<string, unknown>, expiresAt: Date | null) {
  const { jti: _jti, userCode, ...stored } = payload;
  return {
    model,
    id: lookupKey(id),
    payload: stored,
    grant_id: typeof payload.grantId === 'string' ? payload.grantId : null,
    user_code: typeof userCode === 'string' ? lookupKey(userCode) : null,
    uid: typeof payload.uid === 'string' ? payload.uid : null,
    account_id: typeof payload.accountId === 'string' ? payload.accountId : null,
    expires_at: expiresAt,
  };
}

/** oidc-provider's models (Session, Interaction, AuthorizationCode, tokens, Grant, …): oidc/adapter.ts's store. */
export class OidcPayloadRepository implements PayloadStore {
  constructor(private readonly knex: Knex) {}

  async upsert(model: string, id: string, payload: Record<string, unknown>, expiresAt: Date | null): Promise<void> {
    const r = storedRow(model, id, payload, expiresAt);
    await runPooledStatement(this.knex, 'tinnhiem_payload_upsert', UPSERT, [r.model, r.id, JSON.stringify(r.payload), r.grant_id, r.user_code, r.uid, r.account_id, r.expires_at]);
  }

  /**
   * Several upserts (distinct model and id) in one statement, each as `upsert` writes it: a
   * request's held writes (oidc/adapter.ts). Constant text, prepared once per connection.
   */
  async upsertMany(rows: readonly StoredPayload[]): Promise<void> {
    await runPooledStatement(this.knex, 'tinnhiem_payload_upsert_many', UPSERT_MANY, [payloadsJson(rows)]);
  }

  /**
   * A login's resume in one statement (docs/performance.md, "Logins, seventh pass"): its
   * interaction deleted and the session, grant and code stored, only if this statement deleted the
   * interaction. Of a parallel burst of one resume (on any node), one statement deletes it (a
   * DELETE that waits on another's commit finds the row gone, READ COMMITTED) and the others write
   * nothing and answer false. Constant text, prepared once per connection.
   */
  async destroyAndStore(destroy: { model: string; id: string }, rows: readonly StoredPayload[]): Promise<boolean> {
    const result = await runPooledStatement<{ gone: number | string }>(this.knex, 'tinnhiem_destroy_and_store', DESTROY_AND_STORE, [destroy.model, lookupKey(destroy.id), payloadsJson(rows)]);
    return Number(result.rows[0]?.gone ?? 0) > 0;
  }

  /**
   * A refresh token's rotation in one statement (docs/performance.md, "Token endpoint and logins",
   * "Refresh, sixth pass"): the used token is marked consumed only if nobody consumed it first (a
   * concurrent replay), its grant is still there (not revoked, not expired) and the account it
   * names is active, all at commit, on every node; the new rows (the rotated refresh token, the
   * opaque access token) are written only if it was. Returns false, having written nothing,
   * otherwise (consumed first, gone, or its grant or account ended meanwhile).
   */
  async consumeAndStore(consume: { model: string; id: string }, rows: readonly StoredPayload[], now: Date): Promise<boolean> {
    // One constant statement: PostgreSQL parses and plans it once per connection.
    const result = await runPooledStatement<{ consumed: number }>(this.knex, 'tinnhiem_consume_and_store_live', CONSUME_AND_STORE, [now, consume.model, lookupKey(consume.id), now, now, now, payloadsJson(rows)]);
    return Number(result.rows[0]?.consumed ?? 0) > 0;
  }

  /**
   * A payload and, in the same query, the Grant it names (`grantId`), each as `find` reads it, and
   * the account it names (`accountId`) as AccountRepository.findById reads it (null: no such
   * account), and the Session it names (`sessionUid`, `session` present, undefined if none): the
   * refresh token and authorization code grants read them at once (docs/performance.md, "Token
   * endpoint and logins", "Logins: one round trip per audit event"). The account is not read for an id that is not a UUID (`account`
   * absent: the caller reads it as usual). One constant statement, prepared once per connection.
   */
  async findWithGrant(model: string, id: string, now: Date): Promise<{ payload?: Record<string, unknown>; grant?: Record<string, unknown>; session?: Record<string, unknown>; account?: Account | null }> {
    const result = await runPooledStatement<FoundWithGrant>(this.knex, 'tinnhiem_find_with_grant', FIND_WITH_GRANT, [model, lookupKey(id)]);
    const row = result.rows[0];
    const payload = this.present(row, now, { jti: id });
    if (!payload || !row) return { payload };
    const account = typeof row.account_id === 'string' && UUID.test(row.account_id) ? accountFromJson(row.account) : undefined;
    const found: { payload: Record<string, unknown>; grant?: Record<string, unknown>; session?: Record<string, unknown>; account?: Account | null } = { payload };
    if (account !== undefined) found.account = account;
    if (row.grant_id && row.g_payload != null) {
      found.grant = this.present({ payload: row.g_payload as Row['payload'], consumed_at: row.g_consumed_at, expires_at: row.g_expires_at }, now, { jti: row.grant_id });
    }
    // The session it names by uid (`sessionUid`), as findBy('Session', 'uid', …) reads it, for
    // the session binding's check (undefined: none, or expired).
    if (typeof payload.sessionUid === 'string') {
      found.session = row.s_payload == null ? undefined : this.present({ payload: row.s_payload as Row['payload'], consumed_at: row.s_consumed_at, expires_at: row.s_expires_at }, now, {});
    }
    return found;
  }

  /**
   * An interaction as `find` reads it and the account it names as AccountRepository.findById
   * reads it, in one query (docs/performance.md, "Passkey login, eighth pass": a login's resume
   * reads both). One constant statement, prepared once per connection.
   */
  async findInteractionWithAccount(id: string, now: Date): Promise<{ payload?: Record<string, unknown>; accountId?: string; account?: Account | null }> {
    const result = await runPooledStatement<Row & { account_id: string | null; account: unknown }>(this.knex, 'tinnhiem_interaction_with_account', FIND_INTERACTION_WITH_ACCOUNT, [lookupKey(id)]);
    const row = result.rows[0];
    const payload = this.present(row, now, { jti: id });
    if (!payload || !row || typeof row.account_id !== 'string' || !UUID.test(row.account_id)) return { payload };
    return { payload, accountId: row.account_id, account: accountFromJson(row.account) };
  }

  private present(row: (Row & { id?: string }) | undefined, now: Date, restore: Record<string, unknown>): Record<string, unknown> | undefined {
    if (!row) return undefined;
    if (row.expires_at && normalise.date(row.expires_at) <= now) return undefined;
    const stored = typeof row.payload === 'string' ? (JSON.parse(row.payload) as Record<string, unknown>) : row.payload;
    const payload = { ...stored, ...restore };
    return row.consumed_at ? { ...payload, consumed: Math.floor(normalise.date(row.consumed_at).getTime() / 1000) } : payload;
  }

  async find(model: string, id: string, now: Date) {
    const result = await runPooledStatement<Row>(this.knex, 'tinnhiem_payload_find', FIND, [model, lookupKey(id)]);
    return this.present(result.rows[0], now, { jti: id });
  }

  /**
   * By a session's `uid` (not a bearer value: the session cookie holds the id) or a user code
   * (hashed like an id). A row found by uid has lost its id: oidc-provider's Session.findByUid is
   * used by the logout and interaction checks, which read the account and the uid, not the id.
   */
  async findBy(model: string, column: 'uid' | 'user_code', value: string, now: Date) {
    const key = column === 'user_code' ? lookupKey(value) : value;
    const row = await this.knex('oidc_payloads').where({ model, [column]: key }).first<Row | undefined>('payload', 'consumed_at', 'expires_at');
    return this.present(row, now, column === 'user_code' ? { userCode: value } : {});
  }

  /**
   * Marks a code or token used; a replay after it is detected by oidc-provider (RFC 6749 §4.1.2),
   * one racing it by the answer (`consumed` false: another request consumed it first, atomically
   * on every node), with the grant it belongs to (the row as it was before this statement).
   */
  async consume(model: string, id: string, now: Date): Promise<{ consumed: boolean; grantId: string | null }> {
    const key = lookupKey(id);
    const result = await runPooledStatement<{ consumed: number | string; grant_id: string | null }>(this.knex, 'tinnhiem_payload_consume', CONSUME, [now, model, key, model, key]);
    const row = result.rows[0];
    return { consumed: Number(row?.consumed ?? 0) > 0, grantId: row?.grant_id ?? null };
  }

  async destroy(model: string, id: string): Promise<void> {
    await runPooledStatement(this.knex, 'tinnhiem_payload_destroy', DESTROY, [model, lookupKey(id)]);
  }

  /**
   * What a grant gave: its codes and tokens of every kind, in one statement (oidc-provider calls
   * this once per token model, lib/helpers/revoke.js; the later calls find nothing). Not an
   * interaction that names the grant: a login in flight in a browser whose session held the grant
   * (another account signing in there, whose earlier session's logout revokes that grant) goes on.
   */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.knex('oidc_payloads').where({ grant_id: grantId }).whereIn('model', GRANT_BOUND_MODELS).del();
  }

  /**
   * Ends everything an account holds at the provider: sessions, grants, codes and tokens (a
   * disabled account, a password reset by an administrator). Returns how many rows it deleted.
   */
  async destroyForAccount(trx: Knex.Transaction | null, accountId: string): Promise<number> {
    return deleted(await (trx ?? this.knex)('oidc_payloads').where({ account_id: accountId }).del());
  }

  /** Ends every grant, code and token of a client that is being removed. */
  async destroyForClient(trx: Knex.Transaction | null, clientId: string): Promise<number> {
    return deleted(await (trx ?? this.knex)('oidc_payloads').whereRaw(`payload->>'clientId' = ?`, [clientId]).del());
  }

  /** Deletes up to `batch` expired rows; the sweeper calls it until it returns less. */
  async sweepExpired(now: Date, batch: number): Promise<number> {
    const result = await this.knex.raw(
      `DELETE FROM oidc_payloads WHERE ctid IN (SELECT ctid FROM oidc_payloads WHERE expires_at < ? LIMIT ?)`,
      [now, batch],
    );
    return Number((result as { rowCount?: number; affectedRows?: number }).rowCount ?? (result as { affectedRows?: number }).affectedRows ?? 0);
  }

  /**
   * An account's live sessions and grants (the account page lists them): a session by its `uid`
   * (the cookie holds the id, never shown), a grant by its row key (the SHA-256 of its id).
   */
  async liveOfAccount(accountId: string, now: Date): Promise<Array<{ model: 'Session' | 'Grant'; key: string; uid: string | null; payload: Record<string, unknown> }>> {
    const rows = await this.knex('oidc_payloads')
      .where({ account_id: accountId })
      .whereIn('model', ['Session', 'Grant'])
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', now))
      .select<Array<{ model: 'Session' | 'Grant'; id: string; uid: string | null; payload: unknown }>>('model', 'id', 'uid', 'payload');
    return rows.map((r) => ({ model: r.model, key: r.id, uid: r.uid, payload: typeof r.payload === 'string' ? (JSON.parse(r.payload) as Record<string, unknown>) : (r.payload as Record<string, unknown>) }));
  }

  /** Ends one session of the account (another device's); 0 when it is not the account's. */
  async destroySessionOf(trx: Knex.Transaction, accountId: string, uid: string): Promise<number> {
    return deleted(await trx('oidc_payloads').where({ model: 'Session', uid, account_id: accountId }).del());
  }

  /**
   * Withdraws one grant of the account (by its row key): the grant and its codes and tokens.
   * Returns the grant's id (for the JWT revocation list), or null when it is not the account's.
   */
  async destroyGrantOf(trx: Knex.Transaction, accountId: string, key: string): Promise<string | null | undefined> {
    const removed = deleted(await trx('oidc_payloads').where({ model: 'Grant', id: key, account_id: accountId }).del());
    if (!removed) return undefined;
    const ids = await trx('oidc_payloads').where({ account_id: accountId }).whereNotNull('grant_id').distinct<Array<{ grant_id: string }>>('grant_id');
    const grantId = ids.map((r) => r.grant_id).find((id) => lookupKey(id) === key) ?? null;
    if (grantId) await trx('oidc_payloads').where({ grant_id: grantId, account_id: accountId }).del();
    return grantId;
  }
}
