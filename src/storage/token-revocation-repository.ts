import type { Knex } from 'knex';
import { normalise } from './db.js';
import { OcspRepository } from './ocsp-repository.js';

/** What an API token revocation names: one token, or every token of a grant, a client or an account. */
export type RevocationKind = 'jti' | 'grant' | 'client' | 'account';

export interface TokenRevocation {
  kind: RevocationKind;
  value: string;
  /** Tokens of a grant, client or account issued at or before this time are refused. */
  revokedAt: Date;
  /** When no token it can refuse is still valid: the row is forgotten then. */
  expiresAt: Date;
}

/**
 * The issuer id under which API token revocations travel on the status-change feed
 * (`ocsp_changes`, docs/ocsp.md): not an issuing CA's id, so the OCSP responder ignores them.
 */
export const TOKEN_FEED_ISSUER = 'api-token';

/** The feed entry's `serial`: kind, revocation and expiry times (ms), value. */
export function feedEntry(r: TokenRevocation): string {
  return `${r.kind} ${r.revokedAt.getTime()} ${r.expiresAt.getTime()} ${r.value}`;
}

export function parseFeedEntry(serial: string): TokenRevocation | null {
  const m = /^(jti|grant|client|account) (\d+) (\d+) (.+)$/s.exec(serial);
  if (!m) return null;
  return { kind: m[1] as RevocationKind, revokedAt: new Date(Number(m[2])), expiresAt: new Date(Number(m[3])), value: m[4] };
}

/** API token revocations and the DPoP proof replay cache (migrations/20261203120100). */
export class TokenRevocationRepository {
  constructor(
    private readonly knex: Knex,
    private readonly kind: 'postgres' | 'embedded',
  ) {}

  /**
   * Records a revocation and announces it on the status-change feed, in the caller's transaction
   * (the notification is delivered when it commits), so every node learns of it at once.
   */
  async record(trx: Knex.Transaction | null, r: TokenRevocation): Promise<void> {
    const work = async (t: Knex.Transaction) => {
      await t('api_token_revocations').insert({ kind: r.kind, value: r.value, revoked_at: r.revokedAt, expires_at: r.expiresAt });
      const [row] = await t('ocsp_changes').insert({ issuer_id: TOKEN_FEED_ISSUER, serial: feedEntry(r), created_at: r.revokedAt }).returning('id');
      if (this.kind === 'postgres') await t.raw('select pg_notify(?, ?)', [OcspRepository.channel, String(normalise.int((row as { id: string }).id))]);
    };
    if (trx) await work(trx);
    else await this.knex.transaction(work);
  }

  /** Every revocation still in force at `now` (what a node loads at start and reloads now and then). */
  async current(now: Date): Promise<TokenRevocation[]> {
    const rows: Array<Record<string, unknown>> = await this.knex('api_token_revocations').where('expires_at', '>', now).select('kind', 'value', 'revoked_at', 'expires_at');
    return rows.map((r) => ({
      kind: r.kind as RevocationKind,
      value: r.value as string,
      revokedAt: normalise.date(r.revoked_at as Date),
      expiresAt: normalise.date(r.expires_at as Date),
    }));
  }

  /**
   * Records a DPoP proof as used (RFC 9449 §11.1); false when it was used before, on any node
   * (the primary key is the one arbiter between concurrent requests).
   */
  async useProof(id: string, expiresAt: Date): Promise<boolean> {
    const rows = await this.knex('dpop_proofs').insert({ id, expires_at: expiresAt }).onConflict('id').ignore().returning('id');
    return rows.length === 1;
  }

  async prune(now: Date): Promise<void> {
    await this.knex('api_token_revocations').where('expires_at', '<', now).delete();
    await this.knex('dpop_proofs').where('expires_at', '<', now).delete();
  }
}
