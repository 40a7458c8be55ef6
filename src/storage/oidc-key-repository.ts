import type { Knex } from 'knex';
import type { KeyState, SigningKeyStore, StoredSigningKey } from '../../oidc/ports.js';
import { normalise, type Transaction } from './db.js';

interface Row {
  kid: string;
  alg: string;
  state: KeyState;
  private_jwk_sealed: Buffer | Uint8Array;
  public_jwk: Record<string, unknown>;
  created_at: Date | string;
  activated_at: Date | string | null;
  retired_at: Date | string | null;
  remove_after: Date | string | null;
}

const toKey = (r: Row): StoredSigningKey => ({
  kid: r.kid,
  alg: r.alg,
  state: r.state,
  privateJwkSealed: normalise.bytes(r.private_jwk_sealed)!,
  publicJwk: r.public_jwk,
  createdAt: normalise.date(r.created_at),
  activatedAt: r.activated_at ? normalise.date(r.activated_at) : null,
  retiredAt: r.retired_at ? normalise.date(r.retired_at) : null,
  removeAfter: r.remove_after ? normalise.date(r.remove_after) : null,
});

/** The token signing keys' store (oidc/ports.ts). */
export class OidcKeyRepository implements SigningKeyStore<Transaction> {
  constructor(private readonly knex: Knex) {}

  /** Keys still published (removeAfter in the future or unset), newest first within a state. */
  async published(now: Date, trx?: Transaction): Promise<StoredSigningKey[]> {
    const rows = await (trx ?? this.knex)<Row>('oidc_keys')
      .where((w) => w.whereNull('remove_after').orWhere('remove_after', '>', now))
      .orderBy('created_at', 'desc');
    return rows.map(toKey);
  }

  async insert(trx: Transaction, key: StoredSigningKey): Promise<void> {
    await trx('oidc_keys').insert({
      kid: key.kid,
      alg: key.alg,
      state: key.state,
      private_jwk_sealed: key.privateJwkSealed,
      public_jwk: JSON.stringify(key.publicJwk),
      created_at: key.createdAt,
      activated_at: key.activatedAt,
      retired_at: key.retiredAt,
      remove_after: key.removeAfter,
    });
  }

  async update(trx: Transaction, kid: string, changes: Partial<Pick<StoredSigningKey, 'state' | 'activatedAt' | 'retiredAt' | 'removeAfter'>>): Promise<void> {
    await trx('oidc_keys')
      .where({ kid })
      .update({
        ...(changes.state && { state: changes.state }),
        ...(changes.activatedAt !== undefined && { activated_at: changes.activatedAt }),
        ...(changes.retiredAt !== undefined && { retired_at: changes.retiredAt }),
        ...(changes.removeAfter !== undefined && { remove_after: changes.removeAfter }),
      });
  }

  /** Serialises rotations across nodes (pg advisory lock for the transaction). */
  async lockForRotation(trx: Transaction): Promise<void> {
    await trx.raw('select pg_advisory_xact_lock(?::bigint)', ['7308895159371862893']);
  }
}
