import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { normalise, type Transaction } from './db.js';

/** A link between an upstream identity (DVCQG TechID, an OpenID provider's `sub`) and an account. */
export interface FederatedIdentity {
  id: string;
  accountId: string;
  upstream: string;
  subject: string;
  nationalId: string | null;
  taxCode: string | null;
  createdAt: Date;
  lastLoginAt: Date | null;
}

interface Row {
  id: string;
  account_id: string;
  upstream: string;
  subject: string;
  national_id: string | null;
  tax_code: string | null;
  created_at: Date | string;
  last_login_at: Date | string | null;
}

const toLink = (row: Row): FederatedIdentity => ({
  id: row.id,
  accountId: row.account_id,
  upstream: row.upstream,
  subject: row.subject,
  nationalId: row.national_id,
  taxCode: row.tax_code,
  createdAt: normalise.date(row.created_at),
  lastLoginAt: row.last_login_at == null ? null : normalise.date(row.last_login_at),
});

export class FederatedIdentityRepository {
  constructor(
    private readonly knex: Knex,
    private readonly clock: { now(): Date },
  ) {}

  async find(upstream: string, subject: string, trx?: Transaction): Promise<FederatedIdentity | null> {
    const row = await (trx ?? this.knex)<Row>('federated_identities').where({ upstream, subject }).first();
    return row ? toLink(row) : null;
  }

  async listForAccount(accountId: string, trx?: Transaction): Promise<FederatedIdentity[]> {
    if (!/^[0-9a-f-]{36}$/i.test(accountId)) return [];
    const rows = await (trx ?? this.knex)<Row>('federated_identities').where({ account_id: accountId }).orderBy('last_login_at', 'desc');
    return rows.map(toLink);
  }

  async create(trx: Transaction, input: { accountId: string; upstream: string; subject: string; nationalId: string | null; taxCode: string | null }): Promise<FederatedIdentity> {
    const now = this.clock.now();
    const [row] = await trx<Row>('federated_identities')
      .insert({
        id: randomUUID(),
        account_id: input.accountId,
        upstream: input.upstream,
        subject: input.subject,
        national_id: input.nationalId,
        tax_code: input.taxCode,
        created_at: now,
        last_login_at: now,
      })
      .returning('*');
    return toLink(row as Row);
  }

  async touch(trx: Transaction, id: string): Promise<void> {
    await trx('federated_identities').where({ id }).update({ last_login_at: this.clock.now() });
  }

  async count(trx?: Transaction): Promise<number> {
    const [{ n }] = (await (trx ?? this.knex)('federated_identities').count({ n: '*' })) as Array<{ n: string | number | bigint }>;
    return normalise.int(n);
  }
}
