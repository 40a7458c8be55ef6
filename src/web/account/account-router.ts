import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type { Provider } from 'oidc-provider';
import { AppError, asAppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import type { Account } from '../../../oidc/account.js';
import type { PasskeyService } from '../../webauthn/passkey-service.js';
import type { Authorise, EnrolmentGate, EnrolmentSession } from '../../accounts/enrolment.js';
import type { CertificateLoginService } from '../../auth/certificate-login.js';
import { pickLanguage } from '../locales/messages.js';
import { accountPage } from '../views/pages.js';
import { sendPage } from '../views/html.js';
import { sendErrorPage } from '../views/error-page.js';
import { formGuard, readUrlEncoded, requireUrlEncoded, type FormGuard } from '../middleware/koa-form-guard.js';
import { readJson } from '../login/passkey-router.js';
import { ACCOUNT_CLIENT_ID, accountCallbackPath } from '../../../oidc/clients/account-client.js';
import { ADMIN_CLIENT_ID } from '../../../oidc/clients/admin-client.js';
import { passwordSection, sessionSections, type AccountSessionsView } from '../views/account-sections.js';
import { html } from '../views/html.js';
import { th } from '../locales/home-messages.js';
import { ACR } from '../../../oidc/scopes.js';

export interface AccountRouterDeps {
  provider(): Provider;
  publicUrl: string;
  csrfSecret: Buffer;
  passkeys: PasskeyService;
  findAccount(id: string): Promise<Account | null>;
  /** Issue 16: who may register or delete a login credential. */
  enrolment: EnrolmentGate;
  certificates: Pick<CertificateLoginService, 'registerCertificate' | 'removeCertificate' | 'registeredCertificates'>;
  /** The latest changes to the account's login credentials (audit events), shown on the page. */
  credentialHistory(accountId: string): Promise<Array<{ at: Date; action: string; basis: string | null }>>;
  /** The holder's change of password (AccountService.changeOwnPassword): ends every session. */
  changePassword(accountId: string, password: string, authorise: Authorise): Promise<void>;
  /** Sessions on other devices, consents given to portals, linked DVCQG identities (src/accounts/account-sessions.ts). */
  sessions: {
    list(accountId: string, currentUid: string): Promise<Omit<AccountSessionsView, 'links'>>;
    endSession(accountId: string, uid: string, currentUid: string): Promise<void>;
    withdrawConsent(accountId: string, id: string): Promise<void>;
  };
  linkedIdentities(accountId: string): Promise<AccountSessionsView['links']>;
}

const FORM_LIMIT = 4 * 1024;
const OWN_CLIENTS = [ACCOUNT_CLIENT_ID, ADMIN_CLIENT_ID];
/** A pasted PEM certificate (a few KiB; 64 KiB bounds an unusual chain of extensions). */
const CERTIFICATE_FORM_LIMIT = 64 * 1024;

interface SignedIn {
  account: Account;
  sessionUid: string;
  /** How the session signed in (acr, amr): the enrolment gate reads it. */
  login: EnrolmentSession;
}

/** What the handlers share: the dependencies, the form guard, the session and the page. */
interface AccountPages {
  deps: AccountRouterDeps;
  guard: FormGuard;
  /** The signed-in account and its session uid, or null. */
  signedIn(ctx: AppContext): Promise<SignedIn | null>;
  /** The same, or 401 for a change without a session. */
  requireSignedIn(ctx: AppContext): Promise<SignedIn>;
  /** A form of the page: same origin and the session's token (403 problems otherwise). */
  readForm(ctx: AppContext, sessionUid: string, limit?: number): Promise<URLSearchParams>;
  render(ctx: AppContext, who: SignedIn, status?: number, error?: string): Promise<void>;
}

function accountPages(deps: AccountRouterDeps): AccountPages {
  const guard = formGuard({ publicOrigin: new URL(deps.publicUrl).origin, secret: deps.csrfSecret, purpose: 'account' });
  async function signedIn(ctx: AppContext): Promise<SignedIn | null> {
    const session = await deps.provider().Session.get(ctx);
    if (!session.accountId) return null;
    const account = await deps.findAccount(session.accountId);
    if (!account || account.status !== 'active') return null;
    return { account, sessionUid: session.uid, login: { acr: session.acr, amr: session.amr } };
  }
  return {
    deps,
    guard,
    signedIn,
    async requireSignedIn(ctx) {
      const who = await signedIn(ctx);
      if (!who) throw new AppError('unauthorized', 'sign in first: open /account');
      return who;
    },
    async readForm(ctx, sessionUid, limit = FORM_LIMIT) {
      requireUrlEncoded(ctx);
      guard.checkOrigin(ctx);
      const form = await readUrlEncoded(ctx, limit);
      if (!guard.accepts(sessionUid, form.get('csrf'))) throw new AppError('forbidden', 'the form expired: reload the page');
      return form;
    },
    async render(ctx, who, status = 200, error) {
      const lang = pickLanguage(ctx);
      const passkeys = await deps.passkeys.list(who.account.id);
      const logout = new URL(`${deps.publicUrl}/oidc/session/end`);
      logout.search = new URLSearchParams({ client_id: ACCOUNT_CLIENT_ID, post_logout_redirect_uri: `${deps.publicUrl}/account` }).toString();
      const views = passkeys.map((k) => ({ id: k.id, name: k.name, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt, synced: k.deviceType === 'multiDevice' }));
      const certificates = await deps.certificates.registeredCertificates(who.account.id);
      const history = await deps.credentialHistory(who.account.id);
      const strong = deps.enrolment.sessionBasis(who.login) !== null;
      const csrf = guard.token(who.sessionUid);
      const { sessions, consents } = await deps.sessions.list(who.account.id, who.sessionUid);
      // The service's own pages (this page, the console) are not portals the person consented to.
      const live = { sessions, consents: consents.filter((c) => !OWN_CLIENTS.includes(c.clientId)), links: await deps.linkedIdentities(who.account.id) };
      sendPage(ctx, status, accountPage({ lang, accountName: who.account.fullName, csrf: guard.token(who.sessionUid), passkeys: views, certificates, history, strong, logoutHref: `${logout.pathname}${logout.search}`, error, extra: html`${passwordSection(lang, csrf, strong)}${sessionSections(lang, csrf, live)}` }));
    },
  };
}

/** The page, or the sign-in through the provider (as its own first-party client, response type `none`). */
const showAccount = (p: AccountPages) =>
  async function showAccount(ctx: AppContext) {
    const who = await p.signedIn(ctx);
    if (who) return p.render(ctx, who);
    const auth = new URL(`${p.deps.publicUrl}/oidc/auth`);
    auth.search = new URLSearchParams({
      client_id: ACCOUNT_CLIENT_ID,
      response_type: 'none',
      scope: 'openid',
      redirect_uri: `${p.deps.publicUrl}${accountCallbackPath}`,
      state: randomBytes(16).toString('base64url'),
    }).toString();
    ctx.status = 303;
    ctx.redirect(`${auth.pathname}${auth.search}`);
  };

/** Back from the provider: the session cookie is set, so on to the page (or the provider's error). */
async function signInCallback(ctx: AppContext) {
  if (typeof ctx.query.error === 'string') return sendErrorPage(ctx, 400, { details: [['error', ctx.query.error]] });
  ctx.status = 303;
  ctx.redirect('/account');
}

const registrationOptions = (p: AccountPages) =>
  async function registrationOptions(ctx: AppContext) {
    const who = await p.requireSignedIn(ctx);
    p.guard.checkScriptCall(ctx, who.sessionUid);
    const body = (ctx.request.body ?? {}) as { enrolmentCode?: unknown };
    await p.deps.enrolment.precheck(who.account.id, who.login, codeOf(body.enrolmentCode));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await p.deps.passkeys.registrationOptions(who.account, `session:${who.sessionUid}`);
  };

const registerPasskey = (p: AccountPages) =>
  async function registerPasskey(ctx: AppContext) {
    const who = await p.requireSignedIn(ctx);
    p.guard.checkScriptCall(ctx, who.sessionUid);
    const body = readJson(ctx) as { name?: unknown; response?: unknown; enrolmentCode?: unknown };
    const name = typeof body.name === 'string' ? body.name : '';
    const authorise = p.deps.enrolment.authorise(who.account.id, who.login, codeOf(body.enrolmentCode));
    const passkey = await p.deps.passkeys.register(`user:${who.account.id}`, who.account, `session:${who.sessionUid}`, body.response, name, authorise);
    ctx.status = 201;
    ctx.body = { id: passkey.id, name: passkey.name, deviceType: passkey.deviceType, backedUp: passkey.backedUp, createdAt: passkey.createdAt.toISOString() };
  };

const renamePasskey = (p: AccountPages) =>
  async function renamePasskey(ctx: AppContext) {
    const who = await p.requireSignedIn(ctx);
    const form = await p.readForm(ctx, who.sessionUid);
    try {
      await p.deps.passkeys.rename(`user:${who.account.id}`, who.account.id, ctx.params.id, form.get('name') ?? '');
    } catch (err) {
      const refused = asAppError(err);
      if (refused && refused.status < 500) return p.render(ctx, who, refused.status, refused.detail);
      throw err;
    }
    ctx.status = 303;
    ctx.redirect('/account');
  };

const deletePasskey = (p: AccountPages) =>
  async function deletePasskey(ctx: AppContext) {
    const who = await p.requireSignedIn(ctx);
    const form = await p.readForm(ctx, who.sessionUid);
    await refusedOnPage(p, ctx, who, async () => {
      const authorise = p.deps.enrolment.authorise(who.account.id, who.login, codeOf(form.get('enrolmentCode')));
      await p.deps.passkeys.remove(`user:${who.account.id}`, who.account.id, ctx.params.id, authorise);
    });
  };

/** A login certificate (pasted PEM) registered by its holder, under the same gate as passkeys. */
const registerCertificate = (p: AccountPages) =>
  async function registerCertificate(ctx: AppContext) {
    const who = await p.requireSignedIn(ctx);
    const form = await p.readForm(ctx, who.sessionUid, CERTIFICATE_FORM_LIMIT);
    await refusedOnPage(p, ctx, who, async () => {
      const authorise = p.deps.enrolment.authorise(who.account.id, who.login, codeOf(form.get('enrolmentCode')));
      await p.deps.certificates.registerCertificate(`user:${who.account.id}`, who.account.id, form.get('certificate') ?? '', authorise);
    });
  };

const removeCertificate = (p: AccountPages) =>
  async function removeCertificate(ctx: AppContext) {
    const who = await p.requireSignedIn(ctx);
    const form = await p.readForm(ctx, who.sessionUid);
    await refusedOnPage(p, ctx, who, async () => {
      const authorise = p.deps.enrolment.authorise(who.account.id, who.login, codeOf(form.get('enrolmentCode')));
      await p.deps.certificates.removeCertificate(`user:${who.account.id}`, who.account.id, String(ctx.params.fingerprint), authorise);
    });
  };

/**
 * The holder's new password, under the step-up of docs/security.md: a session at acr high, a
 * DVCQG LoA2 login, or an enrolment code. A password session alone is refused (403
 * step-up-required), so whoever stole the password cannot change it and lock the owner out.
 */
const changePassword = (p: AccountPages) =>
  async function changePassword(ctx: AppContext) {
    const who = await p.requireSignedIn(ctx);
    const form = await p.readForm(ctx, who.sessionUid);
    const code = codeOf(form.get('enrolmentCode'));
    await refusedOnPage(p, ctx, who, async () => {
      if (!p.deps.enrolment.sessionBasis(who.login) && !code) {
        throw new AppError('stepUpRequired', 'changing the password needs a stronger login: a passkey or certificate (acr high), a DVCQG login at LoA2, or an enrolment code from an administrator', { acrValues: ACR.high });
      }
      const password = form.get('password') ?? '';
      if (password !== (form.get('confirm') ?? '')) throw new AppError('validationFailed', th(pickLanguage(ctx), 'password.mismatch'));
      await p.deps.changePassword(who.account.id, password, p.deps.enrolment.authorise(who.account.id, who.login, code));
    });
  };

/** Another device's session ended, or a portal's consent withdrawn: access removed, so no step-up. */
const endSession = (p: AccountPages) =>
  async function endSession(ctx: AppContext) {
    const who = await p.requireSignedIn(ctx);
    await p.readForm(ctx, who.sessionUid);
    await refusedOnPage(p, ctx, who, () => p.deps.sessions.endSession(who.account.id, String(ctx.params.uid), who.sessionUid));
  };

const withdrawConsent = (p: AccountPages) =>
  async function withdrawConsent(ctx: AppContext) {
    const who = await p.requireSignedIn(ctx);
    await p.readForm(ctx, who.sessionUid);
    await refusedOnPage(p, ctx, who, () => p.deps.sessions.withdrawConsent(who.account.id, String(ctx.params.id)));
  };

const codeOf = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);

/**
 * A form's change, then back to the page (303); a refusal is shown on the page with its status,
 * or as a problem when the client asked for JSON (the step-up problem names what is missing).
 */
async function refusedOnPage(p: AccountPages, ctx: AppContext, who: SignedIn, change: () => Promise<void>): Promise<void> {
  try {
    await change();
  } catch (err) {
    const refused = asAppError(err);
    if (refused && refused.status < 500 && !ctx.accepts('html', 'json')?.toString().includes('json')) return p.render(ctx, who, refused.status, refused.detail);
    throw err;
  }
  ctx.status = 303;
  ctx.redirect('/account');
}

/**
 * The account page: the signed-in person's passkeys (register, rename, delete) and login
 * certificates (register, delete); registering or deleting either needs the enrolment gate
 * (acr high, a DVCQG LoA2 login, or an enrolment code), and recent changes are listed. It reads the
 * provider's single sign-on session; without one it signs the person in through the provider as
 * its own first-party client (response type `none`). Every change is audited by the service.
 */
export function accountRouter(deps: AccountRouterDeps): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/account' });
  const pages = accountPages(deps);
  router.get('/', showAccount(pages));
  router.get('/callback', signInCallback);
  router.post('/passkeys/options', registrationOptions(pages));
  router.post('/passkeys', registerPasskey(pages));
  router.post('/passkeys/:id/rename', renamePasskey(pages));
  router.post('/passkeys/:id/delete', deletePasskey(pages));
  router.post('/certificates', registerCertificate(pages));
  router.post('/certificates/:fingerprint/delete', removeCertificate(pages));
  router.post('/password', changePassword(pages));
  router.post('/sessions/:uid/end', endSession(pages));
  router.post('/consents/:id/withdraw', withdrawConsent(pages));
  return router;
}
