import type { Knex } from 'knex';
import type { PayloadStore } from '../../oidc/ports.js';
import { normalise } from './db.js';

interface Row {
  payload: Record<string, unknown>;
  consumed_at: Date | string | null;
  expires_at: Date | string | null;
}

/** oidc-provider's models (Session, Interaction, AuthorizationCode, tokens, Grant, …): oidc/adapter.ts's store. */
export class OidcPayloadRepository implements PayloadStore {
  constructor(private readonly knex: Knex) {}

  async upsert(model: string, id: string, payload: Record<string, unknown>, expiresAt: Date | null): Promise<void> {
    await this.knex('oidc_payloads')
      .insert({
        model,
        id,
        payload: JSON.stringify(payload),
        grant_id: typeof payload.grantId === 'string' ? payload.grantId : null,
        user_code: typeof payload.userCode === 'string' ? payload.userCode : null,
        uid: typeof payload.uid === 'string' ? payload.uid : null,
        expires_at: expiresAt,
      })
      .onConflict(['model', 'id'])
      .merge(['payload', 'grant_id', 'user_code', 'uid', 'expires_at']);
  }

  private present(row: Row | undefined, now: Date): Record<string, unknown> | undefined {
    if (!row) return undefined;
    if (row.expires_at && normalise.date(row.expires_at) <= now) return undefined;
    const payload = typeof row.payload === 'string' ? (JSON.parse(row.payload) as Record<string, unknown>) : row.payload;
    return row.consumed_at ? { ...payload, consumed: Math.floor(normalise.date(row.consumed_at).getTime() / 1000) } : payload;
  }

  async find(model: string, id: string, now: Date) {
    return this.present(await this.knex('oidc_payloads').where({ model, id }).first<Row | undefined>('payload', 'consumed_at', 'expires_at'), now);
  }

  async findBy(model: string, column: 'uid' | 'user_code', value: string, now: Date) {
    return this.present(await this.knex('oidc_payloads').where({ model, [column]: value }).first<Row | undefined>('payload', 'consumed_at', 'expires_at'), now);
  }

  /** Marks a code or token used; its replay is then detected by oidc-provider (RFC 6749 §4.1.2). */
  async consume(model: string, id: string, now: Date): Promise<void> {
    await this.knex('oidc_payloads').where({ model, id }).whereNull('consumed_at').update({ consumed_at: now });
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.knex('oidc_payloads').where({ model, id }).del();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.knex('oidc_payloads').where({ grant_id: grantId }).del();
  }

  /** Deletes up to `batch` expired rows; the sweeper calls it until it returns less. */
  async sweepExpired(now: Date, batch: number): Promise<number> {
    const result = await this.knex.raw(
      `DELETE FROM oidc_payloads WHERE ctid IN (SELECT ctid FROM oidc_payloads WHERE expires_at < ? LIMIT ?)`,
      [now, batch],
    );
    return Number((result as { rowCount?: number; affectedRows?: number }).rowCount ?? (result as { affectedRows?: number }).affectedRows ?? 0);
  }
}
