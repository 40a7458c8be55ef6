/**
 * Revocation of the API's JWT access tokens (docs/identity.md, "Revoking API tokens"). A JWT is
 * checked without a database read, so it would live its whole lifetime; instead every node keeps
 * the list of revocations in memory: a token (`jti`), or every token of a grant, a client or an
 * account issued up to the revocation. New entries reach every node through the status-change feed
 * the OCSP responder already follows (LISTEN/NOTIFY on PostgreSQL, polling otherwise); the list is
 * also reloaded from the table now and then, which covers a feed entry a node skipped.
 */
import type { Knex } from 'knex';
import type { Clock } from '../lifecycle/clock.js';
import type { Database } from '../storage/db.js';
import { parseFeedEntry, TOKEN_FEED_ISSUER, type RevocationKind, type TokenRevocation, type TokenRevocationRepository } from '../storage/token-revocation-repository.js';

/** The claims of an API token the list is checked against. */
export interface RevocableToken {
  jti?: unknown;
  client_id?: unknown;
  sub?: unknown;
  grant_id?: unknown;
  iat?: unknown;
}

export class TokenRevocations {
  private readonly entries = new Map<string, TokenRevocation>();

  constructor(
    private readonly db: Pick<Database, 'withTransaction'>,
    private readonly repo: TokenRevocationRepository,
    private readonly clock: Clock,
    /** How long a revocation must be remembered: the longest API token lifetime plus tolerance. */
    private readonly keepMs: number,
  ) {}

  private remember(r: TokenRevocation): void {
    const key = `${r.kind}:${r.value}`;
    const known = this.entries.get(key);
    if (!known || known.revokedAt < r.revokedAt) this.entries.set(key, r);
  }

  /** Records a revocation (in `trx` when given) and remembers it here; the feed tells the other nodes. */
  async revoke(trx: Knex.Transaction | null, kind: RevocationKind, value: string): Promise<void> {
    const now = this.clock.now();
    const r: TokenRevocation = { kind, value, revokedAt: now, expiresAt: new Date(now.getTime() + this.keepMs) };
    if (trx) {
      await this.repo.record(trx, r);
      // Remembered here once committed (the feed tells this node too, a moment later).
      trx.executionPromise?.then(
        () => this.remember(r),
        () => undefined,
      );
      return;
    }
    await this.db.withTransaction((t) => this.repo.record(t, r));
    this.remember(r);
  }

  /** A status-change feed entry: true when it was one of ours (the OCSP responder ignores it then). */
  onFeedEntry(issuerId: string, serial: string): boolean {
    if (issuerId !== TOKEN_FEED_ISSUER) return false;
    const r = parseFeedEntry(serial);
    if (r) this.remember(r);
    return true;
  }

  /** Replaces the list with the table's current rows (at start and periodically). */
  async reload(): Promise<void> {
    const now = this.clock.now();
    const rows = await this.repo.current(now);
    for (const [key, r] of this.entries) if (r.expiresAt <= now) this.entries.delete(key);
    for (const r of rows) this.remember(r);
  }

  /** Why the token is refused, or null when no revocation names it. */
  revokedBecause(claims: RevocableToken): string | null {
    const iat = typeof claims.iat === 'number' ? claims.iat : 0;
    const nowMs = this.clock.now().getTime();
    const hit = (kind: RevocationKind, value: unknown, always = false): boolean => {
      if (typeof value !== 'string' || !value) return false;
      const r = this.entries.get(`${kind}:${value}`);
      if (!r || r.expiresAt.getTime() <= nowMs) return false;
      // A grant, client or account revocation refuses the tokens issued up to it, not later ones.
      return always || iat <= Math.floor(r.revokedAt.getTime() / 1000);
    };
    if (hit('jti', claims.jti, true)) return 'the access token was revoked';
    if (hit('grant', claims.grant_id)) return 'the grant of this access token was revoked';
    if (hit('client', claims.client_id)) return 'the client of this access token was removed';
    if (hit('account', claims.sub)) return 'the account of this access token was disabled or its sessions ended';
    return null;
  }
}
