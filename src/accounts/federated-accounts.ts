import { AppError } from '../errors/app-error.js';
import type { Database } from '../storage/db.js';
import type { AccountRepository } from '../storage/account-repository.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { FederatedIdentityRepository, FederatedIdentity } from '../storage/federated-identity-repository.js';
import { CCCD, splitVietnameseName, type Account } from '../../oidc/account.js';
import type { UpstreamIdentity } from '../../oidc/federation/claim-mapping.js';

export type FederatedLogin =
  | { status: 'ok'; account: Account; link: FederatedIdentity; created: boolean }
  /** An official holds this national ID: the link waits until they prove it with their password. */
  | { status: 'confirm'; official: Account };

/**
 * Account linking for brokered logins. The key is (upstream, subject); a new subject is bound to
 * the national ID it carries (one national ID is one person) or, for organisation logins, to the
 * tax code. E-mail and phone are never used to find an account (the upstream leaves them empty or
 * unverified; linking on them is how Keycloak #53041-style take-overs happen).
 */
export class FederatedAccountService {
  constructor(
    private readonly db: Database,
    private readonly accounts: AccountRepository,
    private readonly links: FederatedIdentityRepository,
    private readonly audit: AuditRepository,
  ) {}

  linksOf(accountId: string): Promise<FederatedIdentity[]> {
    return this.links.listForAccount(accountId);
  }

  countLinks(): Promise<number> {
    return this.links.count();
  }

  /**
   * Finds or creates the account of a brokered login; writes nothing when it answers `confirm`.
   * Two first logins of one person at once (two tabs): the loser of the unique (upstream,
   * subject) or national-ID insert rolls back and runs again, finding the winner's account.
   */
  async login(identity: UpstreamIdentity, context: { ip: string; clientId?: string; acr: string }): Promise<FederatedLogin> {
    checkIdentity(identity);
    try {
      return await this.loginOnce(identity, context);
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
      return this.loginOnce(identity, context);
    }
  }

  private loginOnce(identity: UpstreamIdentity, context: { ip: string; clientId?: string; acr: string }): Promise<FederatedLogin> {
    return this.db.withTransaction(async (trx) => {
      const existing = await this.links.find(identity.upstream, identity.subject, trx);
      const actor = (account: Account) => `user:${account.id}`;
      if (existing) {
        const account = await this.accounts.findById(existing.accountId, trx);
        if (!account) throw new AppError('conflict', 'the linked account is gone');
        if (account.status !== 'active') throw new AppError('forbidden', 'the linked account is disabled');
        // A subject stays bound to the national ID (or tax code) it was linked with.
        if (identity.kind === 'citizen' ? existing.nationalId !== identity.nationalId : existing.taxCode !== identity.taxCode) {
          throw new AppError('conflict', 'the upstream now names another national ID or tax code for this subject');
        }
        await this.links.touch(trx, existing.id);
        await this.accounts.mergeAttributes(trx, account.id, accountFacts(identity));
        await this.audit.append(trx, {
          actor: actor(account),
          action: 'login.success',
          target: `account:${account.id}`,
          details: { method: 'fed', upstream: identity.upstream, acr: context.acr, ip: context.ip, clientId: context.clientId },
        });
        return { status: 'ok', account: (await this.accounts.findById(account.id, trx))!, link: existing, created: false };
      }

      let account: Account | null;
      let created = false;
      if (identity.kind === 'citizen') {
        account = await this.accounts.findByNationalId(identity.nationalId!, trx);
        if (account?.kind === 'official') return { status: 'confirm', official: account };
        if (account && account.kind !== 'citizen') throw new AppError('conflict', 'this national ID belongs to an account of another kind');
      } else {
        account = await this.accounts.findOrganisationByTaxCode(identity.taxCode!, trx);
        if (account && account.kind !== identity.kind) throw new AppError('conflict', 'this tax code belongs to an organisation of another kind');
      }
      if (account && account.status !== 'active') throw new AppError('forbidden', 'the account is disabled');
      if (!account) {
        const fullName = (identity.kind === 'citizen' ? identity.fullName : identity.organisationName)!.normalize('NFC');
        account = await this.accounts.create(trx, {
          kind: identity.kind,
          username: null,
          nationalId: identity.kind === 'citizen' ? identity.nationalId : null,
          fullName,
          ...(identity.kind === 'citizen' ? splitVietnameseName(fullName) : { givenName: null, familyName: null }),
          // Kept for display, never verified and never used to find an account.
          email: identity.email,
          emailVerified: false,
          phone: identity.phone,
          agency: null,
          unit: null,
          position: null,
          roles: [],
          attributes: accountFacts(identity),
        });
        created = true;
        await this.audit.append(trx, {
          actor: 'system:federation',
          action: 'account.create',
          target: `account:${account.id}`,
          details: { kind: account.kind, upstream: identity.upstream },
        });
      } else {
        await this.accounts.mergeAttributes(trx, account.id, accountFacts(identity));
      }
      const link = await this.linkIn(trx, account, identity, identity.kind === 'citizen' ? 'national-id' : 'tax-code');
      await this.audit.append(trx, {
        actor: actor(account),
        action: 'login.success',
        target: `account:${account.id}`,
        details: { method: 'fed', upstream: identity.upstream, acr: context.acr, ip: context.ip, clientId: context.clientId },
      });
      return { status: 'ok', account: (await this.accounts.findById(account.id, trx))!, link, created };
    });
  }

  /**
   * Links an official's account after the official proved it with their own credential (the
   * caller checked the password against this very account).
   */
  async linkOfficial(identity: UpstreamIdentity, officialId: string, context: { ip: string; clientId?: string; acr: string }): Promise<Account> {
    checkIdentity(identity);
    return this.db.withTransaction(async (trx) => {
      const official = await this.accounts.findById(officialId, trx);
      if (!official || official.kind !== 'official' || official.nationalId !== identity.nationalId) {
        throw new AppError('conflict', 'the official account does not hold this national ID');
      }
      if (await this.links.find(identity.upstream, identity.subject, trx)) throw new AppError('conflict', 'this upstream identity is already linked');
      await this.accounts.mergeAttributes(trx, official.id, { upstream: identity.facts });
      await this.linkIn(trx, official, identity, 'official-confirmed');
      await this.audit.append(trx, {
        actor: `user:${official.id}`,
        action: 'login.success',
        target: `account:${official.id}`,
        details: { method: 'fed', upstream: identity.upstream, acr: context.acr, ip: context.ip, clientId: context.clientId },
      });
      return (await this.accounts.findById(official.id, trx))!;
    });
  }

  private async linkIn(trx: Parameters<Parameters<Database['withTransaction']>[0]>[0], account: Account, identity: UpstreamIdentity, basis: string) {
    const link = await this.links.create(trx, {
      accountId: account.id,
      upstream: identity.upstream,
      subject: identity.subject,
      nationalId: identity.kind === 'citizen' ? identity.nationalId : null,
      taxCode: identity.kind === 'citizen' ? null : identity.taxCode,
    });
    await this.audit.append(trx, {
      actor: identity.kind === 'citizen' && account.kind === 'official' ? `user:${account.id}` : 'system:federation',
      action: 'account.link',
      target: `account:${account.id}`,
      details: { upstream: identity.upstream, subject: identity.subject, basis },
    });
    return link;
  }
}

/** The upstream facts an account keeps (released as `vn_upstream`, `vn_tax_code`). */
function accountFacts(identity: UpstreamIdentity): Record<string, unknown> {
  const facts: Record<string, unknown> = { upstream: identity.facts };
  if (identity.kind !== 'citizen') {
    facts.taxCode = identity.taxCode;
    // The person acting for the organisation in this login.
    facts.actingPerson = { nationalId: identity.nationalId, name: identity.fullName };
  }
  return facts;
}

function checkIdentity(identity: UpstreamIdentity): void {
  if (!identity.subject) throw new AppError('upstreamFailed', 'the upstream gave no subject identifier');
  if (identity.kind === 'citizen') {
    if (!identity.nationalId || !CCCD.test(identity.nationalId)) throw new AppError('upstreamFailed', 'the upstream gave no valid national ID (12 digits)');
    if (!identity.fullName?.trim()) throw new AppError('upstreamFailed', 'the upstream gave no name');
  } else {
    if (!identity.taxCode || !/^\d{10}(-\d{3})?$/.test(identity.taxCode)) throw new AppError('upstreamFailed', 'the upstream gave no valid tax code');
    if (!identity.organisationName?.trim()) throw new AppError('upstreamFailed', 'the upstream gave no organisation name');
  }
}
