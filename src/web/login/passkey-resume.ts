import type { Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import { AppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import type { PasskeyService } from '../../webauthn/passkey-service.js';
import { formGuard } from '../middleware/koa-form-guard.js';
import { readJsonBody } from '../middleware/koa-body-limits.js';
import { ACR } from '../../../oidc/scopes.js';
import { isStepUp } from '../../../oidc/step-up.js';
import { capturingInteraction, readGuardedInteraction, rememberLoginWrites, type InteractionGuard } from '../../../oidc/login-capture.js';
import type { StoredPayload } from '../../../oidc/ports.js';

export interface PasskeyResumeDeps {
  provider(): Provider;
  publicOrigin: string;
  /** The interaction router's CSRF secret: the login and passkey pages' token is valid here. */
  csrfSecret: Buffer;
  passkeys: PasskeyService;
  /** The body cap when the body limits did not set one (tests that mount this alone). */
  limitBytes: number;
  now(): Date;
}

/** The assertion's address: under the resume's, so the browser sends the resume cookie with it. */
export const passkeyResumePath = (uid: string) => `/oidc/auth/${uid}/passkey`;
const PATH = /^\/oidc\/auth\/([A-Za-z0-9_-]{1,64})\/passkey$/;
/** oidc-provider's short cookies (oidc/configuration.ts `cookies.short`): the resume cookie is one. */
const SHORT_COOKIE = { httpOnly: true, sameSite: 'lax', signed: true } as const;
const EXPIRED = 'the sign-in session expired: go back to the portal and sign in again';

/**
 * Response modes whose answer is a redirect (RFC 6749 §4.1.2 query, OAuth 2.0 Multiple Response
 * Types §2 fragment, and their JARM forms): the resume can run in the assertion's request and its
 * Location go to the script. form_post and web_message answer with a page, which a script's
 * fetch cannot hand on: the script is sent to the resume instead, as before.
 */
const redirectsBack = (mode: unknown) => mode === undefined || mode === 'query' || mode === 'fragment' || mode === 'jwt' || mode === 'query.jwt' || mode === 'fragment.jwt';

type Interaction = InstanceType<Provider['Interaction']>;

/**
 * This browser's interaction `uid`: the signed resume cookie (path `/oidc/auth/<uid>`, set with the
 * interaction cookie when the interaction started) must name it, as oidc-provider's
 * `interactionDetails` requires of the interaction cookie; the session it was started in must
 * still be that account's (oidc-provider's check there too).
 */
async function resumableInteraction(ctx: AppContext, provider: Provider, uid: string): Promise<{ interaction: Interaction; guard: InteractionGuard }> {
  const cookieUid = provider.createContext(ctx.req, ctx.res).cookies.get(provider.cookieName('resume'), SHORT_COOKIE);
  if (cookieUid !== uid) throw new AppError('badRequest', EXPIRED);
  // With a guard: the accepting statement stores the result only on the interaction as read here.
  const { value: interaction, guard } = await readGuardedInteraction(() => provider.Interaction.find(uid));
  if (!interaction) throw new AppError('badRequest', EXPIRED);
  if (interaction.prompt.name !== 'login') throw new AppError('badRequest', 'this interaction does not ask for a login');
  const earlier = interaction.session as { uid?: string; accountId?: string } | undefined;
  if (earlier?.uid) {
    const session = await provider.Session.findByUid(earlier.uid);
    if (!session || session.accountId !== earlier.accountId) throw new AppError('badRequest', EXPIRED);
  }
  return { interaction, guard };
}

/**
 * `POST /oidc/auth/<uid>/passkey`: the passkey page's (or the login page's autofill) assertion, and
 * oidc-provider's resume of the interaction in the same request, so a passkey login is the bare
 * flow's four requests (docs/performance.md, "Passkey login, twelfth pass"). Mounted before the
 * provider. The assertion is checked as at `/interaction/<uid>/passkey/verify` (the CSRF token and
 * origin of the page's script, the sealed challenge bound to this interaction and spent once, the
 * WebAuthn origin, the step-up account); the login result is stored with the accepted assertion;
 * then the request becomes the resume (`GET /oidc/auth/<uid>`) and goes on to oidc-provider, which
 * makes its own checks of the resume cookie against the interaction and of the browser's session,
 * and answers with the redirect to the portal (the code) and the session cookies. The script gets
 * that redirect's Location as `{ location }` (JSON: a fetch cannot follow a cross-origin redirect
 * and show it), and goes there.
 */
export function passkeyResume(deps: PasskeyResumeDeps): Middleware<AppState> {
  const guard = formGuard({ publicOrigin: deps.publicOrigin, secret: deps.csrfSecret, purpose: 'interaction' });
  return async function passkeyResumeMiddleware(ctx, next) {
    const uid = ctx.method === 'POST' ? PATH.exec(ctx.path)?.[1] : undefined;
    if (!uid) return next();
    guard.checkScriptCall(ctx as AppContext, uid);
    if (!ctx.request.is('application/json')) throw new AppError('unsupportedMediaType', 'expected application/json');
    const provider = deps.provider();
    const { interaction, guard: read } = await resumableInteraction(ctx as AppContext, provider, uid);
    const body = (await readJsonBody(ctx, ctx.state.bodyLimitBytes ?? deps.limitBytes)) ?? {};
    const earlier = interaction.session as { accountId?: string; amr?: string[] } | undefined;
    const stepUp = isStepUp(interaction.prompt.reasons) && earlier?.accountId ? earlier.accountId : undefined;
    let written: readonly StoredPayload[] = [];
    const login = await deps.passkeys.authenticate(`interaction:${uid}`, body, {
      ip: ctx.ip,
      clientId: String(interaction.params.client_id),
      expectAccountId: stepUp,
      storeWithLogin: async (login) => {
        // A step-up adds the passkey to the factors of this session's earlier login (RFC 8176 `mfa`).
        const before = stepUp ? (earlier?.amr ?? []) : [];
        const amr = [...new Set([...before, ...login.amr, ...(before.length ? ['mfa'] : [])])];
        // What oidc-provider's interactionResult does (mergeWithLastSubmission false), on the
        // interaction found by the resume cookie: its expiry kept.
        const { rows } = await capturingInteraction(async () => {
          interaction.result = { login: { accountId: login.accountId, acr: ACR.high, amr, remember: true } };
          await interaction.save(interaction.exp - Math.floor(deps.now().getTime() / 1000));
        }, read);
        written = rows;
        return rows;
      },
    });
    // The interaction as just written and the account as the accepting statement read it: the
    // resume below reads neither again.
    if (login.account !== undefined) rememberLoginWrites(written, login.accountId, login.account);
    ctx.set('Cache-Control', 'no-store');
    if (!redirectsBack(interaction.params.response_mode)) {
      ctx.body = { location: interaction.returnTo };
      return;
    }
    // The resume, in this request: oidc-provider's own route and checks (the body was read). The
    // request's own method and path are put back after, for the access line and the metrics.
    const asSent = { method: ctx.method, path: ctx.path };
    ctx.method = 'GET';
    ctx.path = `/oidc/auth/${uid}`;
    try {
      await next();
    } finally {
      ctx.method = asSent.method;
      ctx.path = asSent.path;
    }
    const location = ctx.response.get('Location');
    if (ctx.status >= 300 && ctx.status < 400 && location) {
      ctx.remove('Location');
      ctx.status = 200;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { location };
      return;
    }
    // A page instead of a redirect (oidc-provider's logout confirmation when the browser's session
    // is another account's): the script goes to the resume, which shows it again (it stays).
    if (ctx.status < 300) {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { location: interaction.returnTo };
      return;
    }
    throw new AppError('badRequest', 'the sign-in could not be resumed: go back to the portal and sign in again');
  };
}
