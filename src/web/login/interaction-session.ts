import type { Provider } from 'oidc-provider';
import { AppError } from '../../errors/app-error.js';
import type { AppContext } from '../context.js';
import type { Language } from '../locales/messages.js';
import { sendSessionExpired } from '../views/error-page.js';

export type InteractionDetails = Awaited<ReturnType<Provider['interactionDetails']>>;

export interface InteractionLookup {
  /** Only an interaction that asks for a login will do (400 `badRequest` otherwise). */
  loginOnly?: boolean;
  /** The page's language when the route already chose it. */
  lang?: Language;
}

/** This browser's interaction, when it is the one the route's `:uid` names; null when it is gone. */
async function lookUp(ctx: AppContext, provider: () => Provider): Promise<InteractionDetails | null> {
  try {
    const found = await provider().interactionDetails(ctx.req, ctx.res);
    return found.uid === ctx.params.uid ? found : null;
  } catch {
    // Missing or expired interaction cookie.
    return null;
  }
}

function checkPrompt(d: InteractionDetails, options: InteractionLookup): InteractionDetails {
  if (options.loginOnly && d.prompt.name !== 'login') throw new AppError('badRequest', 'this interaction does not ask for a login');
  return d;
}

/**
 * The interaction of a login page, or null once the session-expired page is sent (no interaction
 * cookie, an expired one, or a link from another browser): the person starts again at the portal.
 */
export async function interactionOrExpired(ctx: AppContext, provider: () => Provider, options: InteractionLookup = {}): Promise<InteractionDetails | null> {
  const found = await lookUp(ctx, provider);
  if (!found) {
    sendSessionExpired(ctx, options.lang);
    return null;
  }
  return checkPrompt(found, options);
}

/** The same for the JSON calls of a page's script: a gone interaction is a 400 problem. */
export async function interactionForCall(ctx: AppContext, provider: () => Provider, options: InteractionLookup = {}): Promise<InteractionDetails> {
  const found = await lookUp(ctx, provider);
  if (!found) throw new AppError('badRequest', 'the sign-in session expired: go back to the portal and sign in again');
  return checkPrompt(found, options);
}
