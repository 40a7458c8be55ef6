import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { normalise, type Transaction } from './db.js';

export type CodePurpose = 'enrolment' | 'cli-approval';

export interface OneTimeCode {
  id: string;
  accountId: string;
  purpose: CodePurpose;
  createdBy: string;
  createdAt: Date;
  usableFrom: Date | null;
  expiresAt: Date;
  usedAt: Date | null;
  changeId: string | null;
}

export type AccountChangeKind = 'create' | 'roles' | 'password' | 'disable' | 'enable' | 'certificate' | 'enrolment-code' | 'unlock' | 'end-sessions';
export type AccountChangeStatus = 'pending' | 'done' | 'rejected';

export interface AccountChange {
  id: string;
  kind: AccountChangeKind;
  accountId: string | null;
  label: string;
  payload: Record<string, unknown>;
  requestedBy: string;
  status: AccountChangeStatus;
  decidedBy: string | null;
  reason: string | null;
  createdAt: Date;
  decidedAt: Date | null;
}

interface CodeRow {
  id: string;
  account_id: string;
  purpose: string;
  created_by: string;
  created_at: Date | string;
  usable_from: Date | string | null;
  expires_at: Date | string;
  used_at: Date | string | null;
  change_id: string | null;
}

interface ChangeRow {
  id: string;
  kind: string;
  account_id: string | null;
  label: string;
  payload: Record<string, unknown> | string;
  requested_by: string;
  status: string;
  decided_by: string | null;
  reason: string | null;
  created_at: Date | string;
  decided_at: Date | string | null;
}

const dateOrNull = (d: Date | string | null) => (d == null ? null : normalise.date(d));

const toCode = (r: CodeRow): OneTimeCode => ({
  id: r.id,
  accountId: r.account_id,
  purpose: r.purpose as CodePurpose,
  createdBy: r.created_by,
  createdAt: normalise.date(r.created_at),
  usableFrom: dateOrNull(r.usable_from),
  expiresAt: normalise.date(r.expires_at),
  usedAt: dateOrNull(r.used_at),
  changeId: r.change_id,
});

const toChange = (r: ChangeRow): AccountChange => ({
  id: r.id,
  kind: r.kind as AccountChangeKind,
  accountId: r.account_id,
  label: r.label,
  payload: typeof r.payload === 'string' ? (JSON.parse(r.payload) as Record<string, unknown>) : r.payload,
  requestedBy: r.requested_by,
  status: r.status as AccountChangeStatus,
  decidedBy: r.decided_by,
  reason: r.reason,
  createdAt: normalise.date(r.created_at),
  decidedAt: dateOrNull(r.decided_at),
});

/** One-time codes (hashes only) and the account changes awaiting a second administrator. */
export class AccountControlRepository {
  constructor(private readonly knex: Knex) {}

  async addCode(trx: Transaction, code: Omit<OneTimeCode, 'id' | 'usedAt'> & { codeHash: string }): Promise<OneTimeCode> {
    const [row] = (await trx('one_time_codes')
      .insert({
        id: randomUUID(),
        account_id: code.accountId,
        purpose: code.purpose,
        code_hash: code.codeHash,
        created_by: code.createdBy,
        created_at: code.createdAt,
        usable_from: code.usableFrom,
        expires_at: code.expiresAt,
        change_id: code.changeId,
      })
      .returning('*')) as CodeRow[];
    return toCode(row);
  }

  /** The code with this digest, locked for the caller's transaction when `trx` is given. */
  async findCode(codeHash: string, trx?: Transaction): Promise<OneTimeCode | null> {
    const q = (trx ?? this.knex)('one_time_codes').where('code_hash', codeHash);
    const row = (await (trx ? q.forUpdate() : q).first()) as CodeRow | undefined;
    return row ? toCode(row) : null;
  }

  async markCodeUsed(trx: Transaction, id: string, now: Date): Promise<boolean> {
    // RETURNING, not the driver's row count (PGlite and pg answer differently).
    return (await trx('one_time_codes').where({ id }).whereNull('used_at').update({ used_at: now }).returning('id')).length === 1;
  }

  async activateCodesOf(trx: Transaction, changeId: string, now: Date, expiresAt: Date): Promise<void> {
    await trx('one_time_codes').where({ change_id: changeId }).update({ usable_from: now, expires_at: expiresAt });
  }

  async addChange(trx: Transaction, change: Omit<AccountChange, 'id' | 'status' | 'decidedBy' | 'reason' | 'decidedAt'>): Promise<AccountChange> {
    const [row] = (await trx('account_changes')
      .insert({
        id: randomUUID(),
        kind: change.kind,
        account_id: change.accountId,
        label: change.label,
        payload: JSON.stringify(change.payload),
        requested_by: change.requestedBy,
        status: 'pending',
        created_at: change.createdAt,
      })
      .returning('*')) as ChangeRow[];
    return toChange(row);
  }

  async getChange(id: string, trx?: Transaction): Promise<AccountChange | null> {
    const q = (trx ?? this.knex)('account_changes').where('id', id);
    const row = (await (trx ? q.forUpdate() : q).first()) as ChangeRow | undefined;
    return row ? toChange(row) : null;
  }

  async decideChange(trx: Transaction, id: string, decision: { status: 'done' | 'rejected'; decidedBy: string; reason?: string; accountId?: string; now: Date }): Promise<void> {
    await trx('account_changes')
      .where({ id })
      .update({ status: decision.status, decided_by: decision.decidedBy, reason: decision.reason ?? null, decided_at: decision.now, ...(decision.accountId && { account_id: decision.accountId }) });
  }

  async listChanges(filter: { status?: AccountChangeStatus; accountId?: string; limit?: number }): Promise<AccountChange[]> {
    const q = this.knex<ChangeRow>('account_changes').orderBy('created_at', 'desc').limit(filter.limit ?? 100);
    if (filter.status) void q.where({ status: filter.status });
    if (filter.accountId) void q.where({ account_id: filter.accountId });
    return ((await q) as ChangeRow[]).map(toChange);
  }
}
