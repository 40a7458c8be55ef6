import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type { Provider } from 'oidc-provider';
import { AppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import { readBody } from '../middleware/koa-body-limits.js';
import type { Account } from '../../../oidc/account.js';
import type { PasskeyService } from '../../webauthn/passkey-service.js';
import { pickLanguage } from '../locales/messages.js';
import { accountPage, errorPage } from '../views/pages.js';
import { sendPage } from '../views/html.js';
import { checkJsonCall, readJson } from '../login/passkey-router.js';
import { ACCOUNT_CLIENT_ID, accountCallbackPath } from '../../../oidc/clients/account-client.js';

export interface AccountRouterDeps {
  provider(): Provider;
  publicUrl: string;
  csrfSecret: Buffer;
  passkeys: PasskeyService;
  findAccount(id: string): Promise<Account | null>;
}

const FORM_LIMIT = 4 * 1024;

/**
 * The account page: the signed-in person's passkeys (register, rename, delete). It reads the
 * provider's single sign-on session; without one it signs the person in through the provider as
 * its own first-party client (response type `none`). Every change is audited by the service.
 */
export function accountRouter(deps: AccountRouterDeps): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/account' });
  const publicOrigin = new URL(deps.publicUrl).origin;
  const csrfFor = (sessionUid: string) => createHmac('sha256', deps.csrfSecret).update(`account:${sessionUid}`).digest('base64url');

  /** The signed-in account and its session uid, or null. */
  async function signedIn(ctx: AppContext): Promise<{ account: Account; sessionUid: string } | null> {
    const session = await deps.provider().Session.get(ctx as never);
    if (!session.accountId) return null;
    const account = await deps.findAccount(session.accountId);
    if (!account || account.status !== 'active') return null;
    return { account, sessionUid: session.uid };
  }

  async function requireSignedIn(ctx: AppContext) {
    const who = await signedIn(ctx);
    if (!who) throw new AppError('unauthorized', 'sign in first: open /account');
    return who;
  }

  async function readForm(ctx: AppContext, sessionUid: string): Promise<URLSearchParams> {
    if (!ctx.request.is('application/x-www-form-urlencoded')) throw new AppError('unsupportedMediaType', 'expected an application/x-www-form-urlencoded form');
    const site = ctx.get('sec-fetch-site');
    const origin = ctx.get('origin');
    if ((site && site !== 'same-origin' && site !== 'none') || (origin && origin !== 'null' && origin !== publicOrigin)) {
      throw new AppError('forbidden', 'cross-origin form submission refused');
    }
    const form = new URLSearchParams((await readBody(ctx, FORM_LIMIT)).toString('utf8'));
    const expected = Buffer.from(csrfFor(sessionUid));
    const given = Buffer.from(form.get('csrf') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AppError('forbidden', 'the form expired: reload the page');
    return form;
  }

  async function render(ctx: AppContext, who: { account: Account; sessionUid: string }, status = 200, error?: string) {
    const lang = pickLanguage(ctx);
    const passkeys = await deps.passkeys.list(who.account.id);
    const logout = new URL(`${deps.publicUrl}/oidc/session/end`);
    logout.search = new URLSearchParams({ client_id: ACCOUNT_CLIENT_ID, post_logout_redirect_uri: `${deps.publicUrl}/account` }).toString();
    sendPage(
      ctx,
      status,
      accountPage({
        lang,
        accountName: who.account.fullName,
        csrf: csrfFor(who.sessionUid),
        passkeys: passkeys.map((k) => ({ id: k.id, name: k.name, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt, synced: k.deviceType === 'multiDevice' })),
        logoutHref: `${logout.pathname}${logout.search}`,
        error,
      }),
    );
  }

  router.get('/', async (ctx) => {
    const who = await signedIn(ctx);
    if (who) return render(ctx, who);
    const auth = new URL(`${deps.publicUrl}/oidc/auth`);
    auth.search = new URLSearchParams({
      client_id: ACCOUNT_CLIENT_ID,
      response_type: 'none',
      scope: 'openid',
      redirect_uri: `${deps.publicUrl}${accountCallbackPath}`,
      state: randomBytes(16).toString('base64url'),
    }).toString();
    ctx.status = 303;
    ctx.redirect(`${auth.pathname}${auth.search}`);
  });

  router.get('/callback', async (ctx) => {
    if (typeof ctx.query.error === 'string') {
      const lang = pickLanguage(ctx);
      return sendPage(ctx, 400, errorPage({ lang, details: [['error', ctx.query.error]], requestId: ctx.state.requestId }));
    }
    ctx.status = 303;
    ctx.redirect('/account');
  });

  router.post('/passkeys/options', async (ctx) => {
    const who = await requireSignedIn(ctx);
    checkJsonCall(ctx, publicOrigin, csrfFor(who.sessionUid));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await deps.passkeys.registrationOptions(who.account, `session:${who.sessionUid}`);
  });

  router.post('/passkeys', async (ctx) => {
    const who = await requireSignedIn(ctx);
    checkJsonCall(ctx, publicOrigin, csrfFor(who.sessionUid));
    const body = readJson(ctx) as { name?: unknown; response?: unknown };
    const name = typeof body.name === 'string' ? body.name : '';
    const passkey = await deps.passkeys.register(`user:${who.account.id}`, who.account, `session:${who.sessionUid}`, body.response, name);
    ctx.status = 201;
    ctx.body = { id: passkey.id, name: passkey.name, deviceType: passkey.deviceType, backedUp: passkey.backedUp, createdAt: passkey.createdAt.toISOString() };
  });

  router.post('/passkeys/:id/rename', async (ctx) => {
    const who = await requireSignedIn(ctx);
    const form = await readForm(ctx, who.sessionUid);
    try {
      await deps.passkeys.rename(`user:${who.account.id}`, who.account.id, ctx.params.id, form.get('name') ?? '');
    } catch (err) {
      if (err instanceof AppError && err.status < 500) return render(ctx, who, err.status, err.detail);
      throw err;
    }
    ctx.status = 303;
    ctx.redirect('/account');
  });

  router.post('/passkeys/:id/delete', async (ctx) => {
    const who = await requireSignedIn(ctx);
    await readForm(ctx, who.sessionUid);
    await deps.passkeys.remove(`user:${who.account.id}`, who.account.id, ctx.params.id);
    ctx.status = 303;
    ctx.redirect('/account');
  });

  return router;
}
