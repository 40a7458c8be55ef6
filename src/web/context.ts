import type { ParameterizedContext } from 'koa';
import type { Logger } from '../logging/logger.js';

/** What the front end's middleware puts on `ctx.state` for every request. */
export interface AppState {
  requestId: string;
  log: Logger;
  /** Metrics label for requests served outside @koa/router (e.g. `/oidc/*`). */
  routeLabel?: string;
  /**
   * The client authentication attempt the client-auth throttle checked on this request (its
   * client id and secret as presented): oidc-provider's check of the same secret asks the client
   * registry for the verdict it gave this attempt (oidc/provider.ts).
   */
  clientAuthAttempt?: Readonly<{ clientId: string | null; secret?: string | null }>;
}

export type AppContext = ParameterizedContext<AppState>;

declare module 'koa' {
  interface Request {
    /** Parsed JSON body (koa-body-limits.ts), `undefined` when the request had none. */
    body?: unknown;
  }
}
