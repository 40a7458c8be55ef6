import type { Knex } from 'knex';
import type { Transaction } from './db.js';
import { date, type Row } from './certificate-rows.js';
import type { BlockedKey, BlockedKeyStore } from '../../ca/ports.js';

/** `blocked_keys`: SPKI fingerprints no CSR may carry again (docs/ca.md, "Blocked keys"). Rows are never deleted. */
export class BlockedKeyRepository implements BlockedKeyStore<Transaction> {
  constructor(private readonly knex: Knex) {}

  async find(trx: Transaction | null, fingerprint: string): Promise<BlockedKey | null> {
    const row: Row | undefined = await (trx ?? this.knex)('blocked_keys').where({ fingerprint }).first();
    if (!row) return null;
    return {
      fingerprint: row.fingerprint as string,
      reason: row.reason as BlockedKey['reason'],
      source: (row.source as string | null) ?? null,
      blockedBy: row.blocked_by as string,
      comment: (row.comment as string | null) ?? null,
      blockedAt: date(row.blocked_at)!,
    };
  }

  async blockedAmong(trx: Transaction | null, fingerprints: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const distinct = [...new Set(fingerprints)];
    for (let i = 0; i < distinct.length; i += 1_000) {
      const rows: Array<{ fingerprint: string }> = await (trx ?? this.knex)('blocked_keys').select('fingerprint').whereIn('fingerprint', distinct.slice(i, i + 1_000));
      for (const row of rows) found.add(row.fingerprint);
    }
    return found;
  }

  async block(trx: Transaction, key: BlockedKey): Promise<boolean> {
    const inserted = await trx('blocked_keys')
      .insert({ fingerprint: key.fingerprint, reason: key.reason, source: key.source, blocked_by: key.blockedBy, comment: key.comment, blocked_at: key.blockedAt })
      .onConflict('fingerprint')
      .ignore()
      .returning('fingerprint');
    return inserted.length === 1;
  }
}
