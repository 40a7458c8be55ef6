import { AppError } from '../../errors/app-error.js';
import type { AppContext } from '../context.js';
import type { Account } from '../../../oidc/account.js';
import { pickLanguage, t, type Language } from '../locales/messages.js';
import { federationLinkPage } from '../views/pages.js';
import { sendPage } from '../views/html.js';
import { sendErrorPage, sendSessionExpired } from '../views/error-page.js';
import { readUrlEncoded, requireUrlEncoded } from '../middleware/koa-form-guard.js';
import { interactionOrExpired, type InteractionDetails } from './interaction-session.js';
import { LINK_COOKIE, type Broker, type PendingLink } from './federation-broker.js';
import { passwordLoginError } from './interaction-router.js';

const FORM_LIMIT = 16 * 1024;

/** An official's pending link: the interaction, the upstream identity waiting, the official account. */
interface LinkContext {
  d: InteractionDetails;
  link: PendingLink;
  official: Account;
  lang: Language;
}

/** The pending link of this interaction, or null once the session-expired page is sent. */
async function linkContext(b: Broker, ctx: AppContext): Promise<LinkContext | null> {
  const lang = pickLanguage(ctx);
  const d = await interactionOrExpired(ctx, b.deps.provider, { lang });
  if (!d) return null;
  const link = b.linkSealer.open<PendingLink>(ctx.cookies.get(LINK_COOKIE), b.deps.now());
  if (!link || link.uid !== d.uid || d.prompt.name !== 'login') {
    sendSessionExpired(ctx, lang);
    return null;
  }
  const official = await b.deps.findAccount(link.officialId);
  if (!official) throw new AppError('conflict', 'the official account is gone');
  return { d, link, official, lang };
}

function renderLink(b: Broker, ctx: AppContext, c: LinkContext, error?: string, status = 200) {
  const self = `/interaction/${c.d.uid}/federation-link`;
  sendPage(
    ctx,
    status,
    federationLinkPage({
      lang: c.lang,
      action: self,
      selfHref: self,
      abortHref: `/interaction/${c.d.uid}/abort`,
      csrf: b.guard.token(c.d.uid),
      upstream: b.label(c.link.identity.upstream, c.lang),
      username: c.official.username ?? c.official.nationalId ?? '',
      error,
    }),
  );
}

/** The form where an official confirms the link with their own password. */
export const showLinkForm = (b: Broker) =>
  async function showLinkForm(ctx: AppContext) {
    const c = await linkContext(b, ctx);
    if (c) renderLink(b, ctx, c);
  };

/** The official proves the link with their own credential, checked against this very account. */
export const confirmLink = (b: Broker) =>
  async function confirmLink(ctx: AppContext) {
    requireUrlEncoded(ctx);
    b.guard.checkOrigin(ctx);
    const c = await linkContext(b, ctx);
    if (!c) return;
    const form = await readUrlEncoded(ctx, FORM_LIMIT);
    if (!b.guard.accepts(c.d.uid, form.get('csrf'))) return sendErrorPage(ctx, 403, { lang: c.lang, message: 'error.csrf' });
    const clientId = String(c.d.params.client_id);
    const result = await b.deps.loginWithPassword({ login: c.official.username ?? c.official.nationalId ?? '', password: form.get('password') ?? '', ip: ctx.ip, clientId });
    if (!result.ok || result.account.id !== c.official.id) {
      if (!result.ok && (result.reason === 'throttled' || result.reason === 'busy')) {
        ctx.set('Retry-After', String(result.retryAfterSeconds));
        return renderLink(b, ctx, c, passwordLoginError(c.lang, result), 429);
      }
      return renderLink(b, ctx, c, t(c.lang, 'federation.link.error'), 401);
    }
    const account = await b.deps.federated.linkOfficial(c.link.identity, c.official.id, { ip: ctx.ip, clientId, acr: c.link.acr });
    ctx.cookies.set(LINK_COOKIE, null, { path: `/interaction/${c.d.uid}/`, httpOnly: true, sameSite: 'lax', secure: ctx.secure, overwrite: true });
    const redirectTo = await b.deps.provider().interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId: account.id, acr: c.link.acr, amr: ['fed', 'pwd'], remember: true } },
      { mergeWithLastSubmission: false },
    );
    ctx.redirect(redirectTo);
    ctx.status = 303;
  };
