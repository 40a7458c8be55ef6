import { AppError } from '../errors/app-error.js';
import type { Database, Transaction } from '../storage/db.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { Clock } from '../lifecycle/clock.js';

/** What the account page needs of the provider's store (src/storage/oidc-payload-repository.ts). */
export interface AccountSessionStore {
  liveOfAccount(accountId: string, now: Date): Promise<Array<{ model: 'Session' | 'Grant'; key: string; uid: string | null; payload: Record<string, unknown> }>>;
  destroySessionOf(trx: Transaction, accountId: string, uid: string): Promise<number>;
  destroyGrantOf(trx: Transaction, accountId: string, key: string): Promise<string | null | undefined>;
}

export interface SessionView {
  uid: string;
  loginAt: Date | null;
  acr: string | null;
  amr: string[];
  /** The portals this session signed in to. */
  clients: string[];
  current: boolean;
}

export interface ConsentView {
  /** The grant's row key: what the withdraw form names. */
  id: string;
  clientId: string;
  scopes: string[];
  grantedAt: Date | null;
}

const seconds = (v: unknown) => (typeof v === 'number' ? new Date(v * 1000) : null);

/**
 * The holder's view of their sessions on other devices (list, end one) and of the consents given
 * to portals (oidc-provider grants: list, withdraw, which ends the portal's tokens of that grant).
 * Each change is audited in its transaction.
 */
export class AccountSessions {
  constructor(
    private readonly db: Database,
    private readonly store: AccountSessionStore,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
    /** Puts a grant's JWT access tokens on the revocation list every node keeps. */
    private readonly revokeGrant: (trx: Transaction, grantId: string) => Promise<void>,
  ) {}

  async list(accountId: string, currentUid: string): Promise<{ sessions: SessionView[]; consents: ConsentView[] }> {
    const rows = await this.store.liveOfAccount(accountId, this.clock.now());
    const sessions = rows
      .filter((r) => r.model === 'Session' && r.uid)
      .map((r) => ({
        uid: r.uid!,
        loginAt: seconds(r.payload.loginTs),
        acr: typeof r.payload.acr === 'string' ? r.payload.acr : null,
        amr: Array.isArray(r.payload.amr) ? r.payload.amr.map(String) : [],
        clients: Object.keys((r.payload.authorizations as Record<string, unknown> | undefined) ?? {}),
        current: r.uid === currentUid,
      }))
      .sort((a, b) => Number(b.current) - Number(a.current) || (b.loginAt?.getTime() ?? 0) - (a.loginAt?.getTime() ?? 0));
    const consents = rows
      .filter((r) => r.model === 'Grant' && typeof r.payload.clientId === 'string')
      .map((r) => {
        const openid = r.payload.openid as { scope?: string } | undefined;
        return { id: r.key, clientId: r.payload.clientId as string, scopes: (openid?.scope ?? '').split(' ').filter(Boolean), grantedAt: seconds(r.payload.iat) };
      });
    return { sessions, consents };
  }

  async endSession(accountId: string, uid: string, currentUid: string): Promise<void> {
    if (uid === currentUid) throw new AppError('badRequest', 'this is the current session: log out instead');
    await this.db.withTransaction(async (trx) => {
      if (!(await this.store.destroySessionOf(trx, accountId, uid))) throw new AppError('notFound', 'no such session of this account');
      await this.audit.append(trx, { actor: `user:${accountId}`, action: 'account.session_end', target: `account:${accountId}`, details: { session: uid } });
    });
  }

  async withdrawConsent(accountId: string, id: string): Promise<void> {
    await this.db.withTransaction(async (trx) => {
      const grantId = await this.store.destroyGrantOf(trx, accountId, id);
      if (grantId === undefined) throw new AppError('notFound', 'no such consent of this account');
      if (grantId) await this.revokeGrant(trx, grantId);
      await this.audit.append(trx, { actor: `user:${accountId}`, action: 'account.consent_withdraw', target: `account:${accountId}`, details: { grant: id.slice(0, 16) } });
    });
  }
}
