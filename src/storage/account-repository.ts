import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Account, AccountKind, Role } from '../../oidc/account.js';
import { normalise, type Transaction } from './db.js';

export interface AccountRow {
  id: string;
  kind: AccountKind;
  username: string | null;
  national_id: string | null;
  full_name: string;
  given_name: string | null;
  family_name: string | null;
  email: string | null;
  email_verified: boolean;
  phone: string | null;
  agency: string | null;
  unit: string | null;
  position: string | null;
  roles: Role[] | string;
  status: 'active' | 'disabled';
  password_hash: string | null;
  attributes: Record<string, unknown>;
  created_at: Date | string;
  updated_at: Date | string;
}

/** pg returns text[] as an array; a driver that does not gives the '{a,b}' literal. */
function textArray(value: string[] | string): string[] {
  if (Array.isArray(value)) return value;
  const inner = value.replace(/^\{|\}$/g, '');
  return inner ? inner.split(',').map((v) => v.replace(/^"|"$/g, '')) : [];
}

export function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    kind: row.kind,
    username: row.username,
    nationalId: row.national_id,
    fullName: row.full_name,
    givenName: row.given_name,
    familyName: row.family_name,
    email: row.email,
    emailVerified: row.email_verified,
    phone: row.phone,
    agency: row.agency,
    unit: row.unit,
    position: row.position,
    roles: textArray(row.roles) as Role[],
    status: row.status,
    attributes: row.attributes ?? {},
    createdAt: normalise.date(row.created_at),
    updatedAt: normalise.date(row.updated_at),
  };
}

export type NewAccount = Omit<Account, 'id' | 'createdAt' | 'updatedAt' | 'status' | 'attributes' | 'emailVerified'> & {
  emailVerified?: boolean;
  attributes?: Record<string, unknown>;
  passwordHash?: string | null;
};

export interface AccountFilter {
  kind?: AccountKind;
  status?: 'active' | 'disabled';
  search?: string;
  limit?: number;
  offset?: number;
}

export class AccountRepository {
  constructor(
    private readonly knex: Knex,
    private readonly clock: { now(): Date },
  ) {}

  async create(trx: Transaction, input: NewAccount): Promise<Account> {
    const now = this.clock.now();
    // The insert writes attributes as JSON text (jsonb); the row type describes what a read returns.
    const [row] = await trx('accounts')
      .insert({
        id: randomUUID(),
        kind: input.kind,
        username: input.username,
        national_id: input.nationalId,
        full_name: input.fullName,
        given_name: input.givenName,
        family_name: input.familyName,
        email: input.email,
        email_verified: input.emailVerified ?? false,
        phone: input.phone,
        agency: input.agency,
        unit: input.unit,
        position: input.position,
        roles: input.roles,
        status: 'active',
        password_hash: input.passwordHash ?? null,
        password_changed_at: input.passwordHash ? now : null,
        attributes: JSON.stringify(input.attributes ?? {}),
        created_at: now,
        updated_at: now,
      })
      .returning('*');
    return toAccount(row as AccountRow);
  }

  async findById(id: string, trx?: Transaction): Promise<Account | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const row = await (trx ?? this.knex)<AccountRow>('accounts').where({ id }).first();
    return row ? toAccount(row) : null;
  }

  /** By username or national ID: officials may log in with either. */
  async findByLogin(identifier: string, trx?: Transaction): Promise<{ account: Account; passwordHash: string | null } | null> {
    const row = await (trx ?? this.knex)<AccountRow>('accounts')
      .where('username', identifier)
      .orWhere('national_id', identifier)
      .first();
    return row ? { account: toAccount(row), passwordHash: row.password_hash } : null;
  }

  async findByNationalId(nationalId: string, trx?: Transaction): Promise<Account | null> {
    const row = await (trx ?? this.knex)<AccountRow>('accounts').where({ national_id: nationalId }).first();
    return row ? toAccount(row) : null;
  }

  async list(filter: AccountFilter = {}): Promise<Account[]> {
    const q = this.knex<AccountRow>('accounts').orderBy('full_name').limit(Math.min(filter.limit ?? 100, 1000)).offset(filter.offset ?? 0);
    if (filter.kind) q.where('kind', filter.kind);
    if (filter.status) q.where('status', filter.status);
    if (filter.search) {
      const like = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      q.where((w) => w.whereILike('full_name', like).orWhereILike('username', like).orWhere('national_id', filter.search!));
    }
    return (await q).map(toAccount);
  }

  async setPasswordHash(trx: Transaction, id: string, passwordHash: string): Promise<void> {
    const now = this.clock.now();
    await trx('accounts').where({ id }).update({ password_hash: passwordHash, password_changed_at: now, updated_at: now });
  }

  async setStatus(trx: Transaction, id: string, status: 'active' | 'disabled'): Promise<void> {
    await trx('accounts').where({ id }).update({ status, updated_at: this.clock.now() });
  }

  async setRoles(trx: Transaction, id: string, roles: Role[]): Promise<void> {
    await trx('accounts').where({ id }).update({ roles, updated_at: this.clock.now() });
  }

  /** Organisation logins (enterprise, organisation) are one account per tax code (partial unique index). */
  async findOrganisationByTaxCode(taxCode: string, trx?: Transaction): Promise<Account | null> {
    const row = await (trx ?? this.knex)<AccountRow>('accounts')
      .whereIn('kind', ['enterprise', 'organisation'])
      .whereRaw("attributes->>'taxCode' = ?", [taxCode])
      .first();
    return row ? toAccount(row) : null;
  }

  /** Shallow merge into `attributes` (federation keeps the upstream's latest facts there). */
  async mergeAttributes(trx: Transaction, id: string, attributes: Record<string, unknown>): Promise<void> {
    await trx('accounts')
      .where({ id })
      .update({ attributes: trx.raw('attributes || ?::jsonb', [JSON.stringify(attributes)]), updated_at: this.clock.now() });
  }
}
