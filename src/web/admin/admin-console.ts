import type { Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import { AppError, asAppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import { ROLES, type Account, type Role } from '../../../oidc/account.js';
import type { AccountService } from '../../accounts/account-service.js';
import type { AuditService } from '../../audit/audit-service.js';
import type { AuditEvent } from '../../audit/audit-chain.js';
import type { CertificateService, PiiRead } from '../../certificates/certificate-service.js';
import type { CertificateRequestRecord } from '../../../ca/records.js';
import type { PasskeyService } from '../../webauthn/passkey-service.js';
import type { TrustStore } from '../../validation/trust-store.js';
import type { ClientRegistry } from '../../../oidc/clients/client-registry.js';
import { allowedApiScopes } from '../../../oidc/grants.js';
import { PII_SCOPE, containsIdentifier, maskIdentifiersIn, maskSubject, subjectCarriesIdentifier } from '../../certificates/personal-data.js';
import { ACR, acrAtLeast } from '../../../oidc/scopes.js';
import { ADMIN_CLIENT_ID, adminCallbackPath } from '../../../oidc/clients/admin-client.js';
import { pickLanguage, type Language } from '../locales/messages.js';
import { sendPage } from '../views/html.js';
import { formGuard, type FormGuard } from '../middleware/koa-form-guard.js';
import { at, type AdminMessageKey } from './admin-messages.js';
import { accountLabel, type AccountChangeService } from '../../accounts/account-changes.js';
import type { OneTimeCodes } from '../../accounts/one-time-codes.js';
import { messagePage, type AuditRow, type Frame, type NavItem } from './views/admin-layout.js';

export interface AdminRouterDeps {
  provider(): Provider;
  publicUrl: string;
  /** The API resource indicator: asking for its administration scopes is what triggers step-up. */
  apiResource: string;
  csrfSecret: Buffer;
  certificates: CertificateService;
  accounts: AccountService;
  /** Issue 16: account changes under dual control, and one-time codes. */
  accountChanges: AccountChangeService;
  codes: Pick<OneTimeCodes, 'issueNow'>;
  passkeys: PasskeyService;
  clients: ClientRegistry;
  audit: AuditService;
  trust: TrustStore;
  now(): Date;
}

/** Roles that may open the console at all; what each may change follows from its API scopes. */
const CONSOLE_ROLES: readonly Role[] = ['admin', 'ra-officer', 'auditor'];
const STEP_UP_SCOPES = 'openid admin certs:read certs:request certs:approve certs:revoke';
/** The `?done=` notices a POST-redirect-GET may show. */
const DONE = new Set<string>(['requested', 'approved', 'issued', 'rejected', 'revoke', 'hold', 'release', 'accountCreated', 'roles', 'disabled', 'enabled', 'passkeyDeleted', 'trustAdded', 'trustRemoved', 'portalRemoved', 'changePending', 'changeApproved', 'changeRejected', 'unlocked', 'sessionsEnded']);
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Where a login or step-up may return to: a console page of ours, never another origin. */
export const RETURN_PATH = /^\/admin(?:[/?][^\s\\]*)?$/;

export const isRole = (r: string): r is Role => (ROLES as readonly string[]).includes(r);

/** The page an action's form is on (`/admin/certificates/ab/revoke` → `/admin/certificates/ab`). */
export function pageOfAction(path: string): string {
  if (/^\/admin\/(portals|trust)\//.test(path)) return path.replace(/^(\/admin\/(portals|trust))\/.*$/, '$1');
  if (path.startsWith('/admin/account-changes/')) return '/admin/accounts';
  if (path === '/admin/approval-code') return '/admin';
  return path.replace(/\/(passkeys\/[^/]+\/delete|revoke|hold|release|approve|reject|roles|disable|enable|enrolment-code)$/, '');
}

export interface Officer {
  account: Account;
  sessionUid: string;
  /** The session's login is high assurance (a passkey or a certificate). */
  high: boolean;
  scopes: Set<string>;
  actor: string;
  lang: Language;
}

export type Can = 'read' | 'request' | 'approve' | 'revoke' | 'admin' | 'audit' | 'pii';

const SCOPE_OF: Record<Exclude<Can, 'audit'>, string> = { read: 'certs:read', request: 'certs:request', approve: 'certs:approve', revoke: 'certs:revoke', admin: 'admin', pii: PII_SCOPE };

/** What the officer's roles allow (their API scopes; the audit log for administrators and auditors). */
export function can(o: Officer, what: Can): boolean {
  if (what === 'audit') return o.scopes.has('admin') || o.account.roles.includes('auditor');
  return o.scopes.has(SCOPE_OF[what]);
}

function navFor(o: Officer): NavItem[] {
  const nav: NavItem[] = ['dashboard', 'certificates', 'requests'];
  if (can(o, 'admin')) nav.push('portals', 'accounts');
  if (can(o, 'audit')) nav.push('audit');
  if (can(o, 'admin')) nav.push('trust');
  return nav;
}

/** A page of the console, or an action answered by a page (a refused form). */
export type ConsoleHandler = (ctx: AppContext, o: Officer) => Promise<void>;

/** The console's plumbing, shared by its sections. */
export interface AdminConsole {
  deps: AdminRouterDeps;
  /** The forms' guard (purpose `admin`, bound to the provider's session). */
  guard: FormGuard;
  /**
   * Wraps a page or an action: signs in when there is no session (GET) or refuses (POST), checks
   * the roles, and renders a refused action (AppError below 500) as a page of the console.
   */
  page(need: Can, current: NavItem, handler: ConsoleHandler): Middleware<AppState>;
  frame(ctx: AppContext, o: Officer, current: NavItem, extra?: { error?: string }): Frame;
  /** The provider's login (or step-up, asking for the administration scopes), back to `returnTo`. */
  authUrl(returnTo: string, stepUp: boolean): string;
  logoutHref(): string;
  /** An officer's name for the audit and request tables (one lookup per actor and page). */
  names(): (actor: string) => Promise<string>;
  /**
   * Identifier numbers show in full only to an officer with certs:read:pii, and the events that
   * showed one are then audited (docs/ca.md, "Personal data"); otherwise they are masked.
   */
  auditRows(events: AuditEvent[], nameOf: (actor: string) => Promise<string>, o: Officer, alsoShown?: Partial<PiiRead>): Promise<AuditRow[]>;
  /**
   * The requests' subjects as the officer may see them (in full with certs:read:pii, else
   * masked), and the requests whose numbers that shows: the page audits them (`recordShown`, or
   * with its audit rows).
   */
  requestSubjects(requests: CertificateRequestRecord[], o: Officer): { subjectOf: (r: CertificateRequestRecord) => string; shown: string[] };
  /** One `certificate.read_pii` event for what a page showed in full (nothing when it showed nothing). */
  recordShown(o: Officer, shown: Partial<PiiRead>): Promise<void>;
}

/** POST-redirect-GET (RFC 9110 §15.4.4: 303 See Other). */
export function redirect(ctx: AppContext, location: string): void {
  ctx.status = 303;
  ctx.redirect(location);
}

function selfHref(ctx: AppContext): string {
  // A refused form is rendered in answer to its POST: the language switch and the step-up link
  // then lead to the page the form is on, not to the action's path.
  if (ctx.method !== 'GET') return pageOfAction(ctx.path);
  const q = new URLSearchParams(ctx.querystring);
  q.delete('lang');
  q.delete('done');
  const s = q.toString();
  return `${ctx.path}${s ? `?${s}` : ''}`;
}

export function adminConsole(deps: AdminRouterDeps): AdminConsole {
  const guard = formGuard({ publicOrigin: new URL(deps.publicUrl).origin, secret: deps.csrfSecret, purpose: 'admin' });
  const urls = consoleUrls(deps);
  const frame: AdminConsole['frame'] = (ctx, o, current, extra = {}) => {
    const done = typeof ctx.query.done === 'string' && DONE.has(ctx.query.done) ? at(o.lang, `done.${ctx.query.done}` as AdminMessageKey) : undefined;
    return { lang: o.lang, officer: o.account.fullName, high: o.high, csrf: guard.token(o.sessionUid), nav: navFor(o), current, selfHref: selfHref(ctx), logoutHref: urls.logoutHref(), notice: done, error: extra.error };
  };
  const refuse = (ctx: AppContext, o: Officer, status: number, title: string, message: string, current: NavItem = 'dashboard') => {
    const f = frame(ctx, o, current);
    sendPage(ctx, status, messagePage({ ...f, nav: CONSOLE_ROLES.some((r) => o.account.roles.includes(r)) ? f.nav : [] }, title, message));
  };
  /** The signed-in official, or null (no session, disabled account). */
  async function officer(ctx: AppContext): Promise<Officer | null> {
    const session = await deps.provider().Session.get(ctx);
    if (!session.accountId) return null;
    const account = await deps.accounts.findById(session.accountId);
    if (!account || account.status !== 'active') return null;
    return { account, sessionUid: session.uid, high: acrAtLeast(session.acr, ACR.high), scopes: allowedApiScopes(account), actor: `user:${account.id}`, lang: pickLanguage(ctx) };
  }
  const page: AdminConsole['page'] = (need, current, handler) =>
    async function consolePage(ctx) {
      const o = await officer(ctx);
      if (!o) {
        if (ctx.method === 'GET') return redirect(ctx, urls.authUrl(selfHref(ctx), false));
        throw new AppError('unauthorized', 'sign in first: open /admin');
      }
      if (!CONSOLE_ROLES.some((r) => o.account.roles.includes(r))) return refuse(ctx, o, 403, at(o.lang, 'forbidden.title'), at(o.lang, 'forbidden.body'));
      if (!can(o, need)) return refuse(ctx, o, 403, at(o.lang, 'forbidden.title'), at(o.lang, 'forbidden.action'), current);
      try {
        await handler(ctx, o);
      } catch (err) {
        const refused = asAppError(err);
        if (!refused || refused.status >= 500) throw err;
        const message = refused.kind === 'notFound' ? at(o.lang, 'error.notFound') : refused.detail;
        refuse(ctx, o, refused.status, at(o.lang, 'error.title'), message, current);
      }
    };
  return { deps, guard, page, frame, ...urls, ...officerNames(deps) };
}

function consoleUrls(deps: AdminRouterDeps): Pick<AdminConsole, 'authUrl' | 'logoutHref'> {
  return {
    logoutHref() {
      const u = new URL(`${deps.publicUrl}/oidc/session/end`);
      u.search = new URLSearchParams({ client_id: ADMIN_CLIENT_ID, post_logout_redirect_uri: `${deps.publicUrl}/admin` }).toString();
      return `${u.pathname}${u.search}`;
    },
    authUrl(returnTo, stepUp) {
      const u = new URL(`${deps.publicUrl}/oidc/auth`);
      u.search = new URLSearchParams({
        client_id: ADMIN_CLIENT_ID,
        response_type: 'none',
        scope: stepUp ? STEP_UP_SCOPES : 'openid',
        redirect_uri: `${deps.publicUrl}${adminCallbackPath}`,
        state: Buffer.from(returnTo).toString('base64url'),
        ...(stepUp && { resource: deps.apiResource }),
      }).toString();
      return `${u.pathname}${u.search}`;
    },
  };
}

function officerNames(deps: AdminRouterDeps): Pick<AdminConsole, 'names' | 'auditRows' | 'requestSubjects' | 'recordShown'> {
  const recordShown = async (o: Officer, { serials = [], requests = [], auditEvents = [], accounts = [], query }: Partial<PiiRead>): Promise<void> => {
    if (!serials.length && !requests.length && !auditEvents.length && !accounts.length && !query) return;
    await deps.certificates.recordPiiRead(o.actor, { serials, ...(requests.length && { requests }), ...(auditEvents.length && { auditEvents }), ...(accounts.length && { accounts }), ...(query && { query }) });
  };
  return {
    recordShown,
    names() {
      const cache = new Map<string, Promise<string>>();
      return (actor: string): Promise<string> => {
        if (!cache.has(actor)) {
          const id = actor.startsWith('user:') ? actor.slice(5) : null;
          cache.set(actor, id ? deps.accounts.findById(id).then((a) => (a ? `${a.fullName} (${accountLabel(a)})` : actor)) : Promise.resolve(actor));
        }
        return cache.get(actor)!;
      };
    },
    async auditRows(events, nameOf, o, alsoShown = {}) {
      const pii = can(o, 'pii');
      if (pii) await recordShown(o, { ...alsoShown, auditEvents: events.filter((e) => containsIdentifier(e.details)).map((e) => e.seq) });
      return Promise.all(
        events.map(async (e) => {
          // docs/ca.md, "Personal data": subjects in audit details show identifiers masked too.
          const details = JSON.stringify((pii ? e.details : maskIdentifiersIn(e.details)) ?? {});
          return { seq: e.seq, occurredAt: e.occurredAt, actor: await nameOf(e.actor), action: e.action, target: e.target, details: details === '{}' ? '' : details.length > 300 ? `${details.slice(0, 300)}…` : details };
        }),
      );
    },
    requestSubjects(requests, o) {
      if (!can(o, 'pii')) return { subjectOf: (r) => maskSubject(r.subjectDn)!, shown: [] };
      return { subjectOf: (r) => r.subjectDn, shown: requests.filter((r) => subjectCarriesIdentifier(r.subjectDn)).map((r) => r.id) };
    },
  };
}

/** The profiles officers may request certificates under (the CA's own are issued at set-up). */
export function endEntityProfiles(c: AdminConsole): string[] {
  return [...c.deps.certificates.ca.profiles.values()].filter((p) => p.type === 'end-entity').map((p) => p.id);
}
