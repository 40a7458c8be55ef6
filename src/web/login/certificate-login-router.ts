import { createHmac, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import Router from '@koa/router';
import type { Provider } from 'oidc-provider';
import { AppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import type { Logger } from '../../logging/logger.js';
import { CertificateLoginRefused, type CertificateLoginService, type LoginContext } from '../../auth/certificate-login.js';
import { pickLanguage, t } from '../locales/messages.js';
import { errorPage, type LoginMethodLink } from '../views/pages.js';
import { sendPage as page } from '../views/html.js';
import { ACR } from '../../../oidc/scopes.js';
import { STEP_UP_REASON } from '../../../oidc/step-up.js';

export interface CertificateLoginDeps {
  provider(): Provider;
  publicUrl: string;
  /** Signs the hand-over between the main origin and the mutual-TLS listener (shared by every node). */
  secret: Buffer;
  service: CertificateLoginService;
  /** External URL of the mutual-TLS listener, when there is one. */
  tlsUrl(): string | undefined;
  /** Header a TLS-terminating proxy puts the client certificate in, believed only from `trustedProxies`. */
  proxyHeader?: string;
  trustedProxies?: readonly string[];
  log: Logger;
}

const HANDOVER_SECONDS = 120;

export const certificateLoginMethod = (uid: string): LoginMethodLink => ({
  id: 'certificate',
  href: `/interaction/${uid}/certificate`,
  label: { vi: t('vi', 'certificate.method'), en: t('en', 'certificate.method') },
});

/** Addresses and CIDR ranges (IPv4 and IPv6) as a BlockList; a bad entry is a configuration error. */
export function addressList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const family = isIP(address);
    if (!family) throw new AppError('misconfigured', `CERT_LOGIN_TRUSTED_PROXIES: ${entry} is not an address or CIDR range`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

/** The socket's peer address, with IPv4-mapped IPv6 (::ffff:a.b.c.d) as IPv4. */
const peerAddress = (ctx: AppContext) => (ctx.req.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');

/** The certificate a proxy forwarded: URL-encoded PEM (nginx $ssl_client_escaped_cert), PEM, or base64 DER. */
export function certificateFromHeader(value: string): Uint8Array {
  let text = value.trim();
  if (text.includes('%')) {
    try {
      text = decodeURIComponent(text);
    } catch {
      throw new CertificateLoginRefused('malformed', 'the forwarded client certificate is not URL-encoded PEM');
    }
  }
  const pem = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(text);
  const base64 = (pem ? pem[1] : text).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+=*$/.test(base64)) throw new CertificateLoginRefused('malformed', 'the forwarded client certificate is neither PEM nor base64 DER');
  return Buffer.from(base64, 'base64');
}

function sign(secret: Buffer, payload: Record<string, unknown>): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${createHmac('sha256', secret).update(`certificate-login:${body}`).digest('base64url')}`;
}

function verify<T extends { kind: string; exp: number }>(secret: Buffer, token: unknown, kind: T['kind'], now: number): T {
  if (typeof token !== 'string' || !/^[\w-]+\.[\w-]+$/.test(token)) throw new AppError('badRequest', 'missing or malformed certificate login token');
  const [body, mac] = token.split('.');
  const expected = Buffer.from(createHmac('sha256', secret).update(`certificate-login:${body}`).digest('base64url'));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AppError('forbidden', 'the certificate login token does not verify');
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
  if (payload.kind !== kind) throw new AppError('forbidden', 'wrong certificate login token');
  if (payload.exp < now / 1000) throw new AppError('forbidden', 'the certificate login token expired: start again');
  return payload;
}

function refusedPage(ctx: AppContext, err: CertificateLoginRefused) {
  const lang = pickLanguage(ctx);
  page(ctx, err.status, errorPage({ lang, message: `${t(lang, 'certificate.refused')}: ${err.detail}`, details: [['reason', err.reason]], requestId: ctx.state.requestId }));
}

/**
 * Certificate login on the main origin. The certificate comes from a trusted TLS-terminating
 * proxy's header, or from the mutual-TLS listener: the browser is sent there with a signed,
 * short-lived ticket for this interaction, the listener checks the certificate, and sends it back
 * here with a signed result, so each origin only ever reads its own cookies.
 */
export function certificateLoginRouter(deps: CertificateLoginDeps): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/interaction/:uid/certificate' });
  const proxies = addressList(deps.trustedProxies ?? []);

  async function details(ctx: AppContext) {
    try {
      const found = await deps.provider().interactionDetails(ctx.req, ctx.res);
      if (found.uid !== ctx.params.uid) throw new Error('interaction mismatch');
      if (found.prompt.name !== 'login') throw new AppError('badRequest', 'this interaction does not ask for a login');
      return found;
    } catch (err) {
      if (err instanceof AppError) throw err;
      const lang = pickLanguage(ctx);
      page(ctx, 400, errorPage({ lang, message: t(lang, 'error.session'), details: [], requestId: ctx.state.requestId }));
      return null;
    }
  }

  async function finish(ctx: AppContext, d: NonNullable<Awaited<ReturnType<typeof details>>>, accountId: string, amr: string[]) {
    const stepUp = d.prompt.reasons.includes(STEP_UP_REASON) ? d.session?.accountId : undefined;
    if (stepUp && stepUp !== accountId) throw new AppError('forbidden', 'this certificate belongs to another account than the one signed in');
    const earlier = stepUp ? ((d.session as { amr?: string[] } | undefined)?.amr ?? []) : [];
    const location = await deps.provider().interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId, acr: ACR.high, amr: [...new Set([...earlier, ...amr, ...(earlier.length ? ['mfa'] : [])])], remember: true } },
      { mergeWithLastSubmission: false },
    );
    ctx.status = 303;
    ctx.redirect(location);
  }

  router.get('/', async (ctx) => {
    const d = await details(ctx);
    if (!d) return;
    const context: LoginContext = { ip: ctx.ip, clientId: String(d.params.client_id), via: 'proxy' };
    const forwarded = deps.proxyHeader ? ctx.get(deps.proxyHeader) : '';
    if (forwarded) {
      const from = peerAddress(ctx);
      if (!proxies.check(from, isIP(from) === 6 ? 'ipv6' : 'ipv4')) {
        // Anyone can send the header: only the configured proxies are believed.
        deps.log.warn({ from }, 'client certificate header from an untrusted address refused');
        throw new AppError('forbidden', 'a client certificate header is accepted only from the configured reverse proxies');
      }
      try {
        const login = await deps.service.login(certificateFromHeader(forwarded), context);
        return await finish(ctx, d, login.account.id, login.amr);
      } catch (err) {
        if (err instanceof CertificateLoginRefused) return refusedPage(ctx, err);
        throw err;
      }
    }
    const tlsUrl = deps.tlsUrl();
    if (!tlsUrl) throw new AppError('notFound', 'certificate login is not configured on this service');
    const ticket = sign(deps.secret, { kind: 'ticket', uid: d.uid, exp: Math.floor(Date.now() / 1000) + HANDOVER_SECONDS });
    ctx.status = 303;
    ctx.redirect(`${tlsUrl}/certificate-login?ticket=${encodeURIComponent(ticket)}`);
  });

  router.get('/complete', async (ctx) => {
    const result = verify<{ kind: 'result'; uid: string; account: string; amr: string[]; exp: number }>(deps.secret, ctx.query.result, 'result', Date.now());
    if (result.uid !== ctx.params.uid) throw new AppError('forbidden', 'the certificate login result is for another interaction');
    const d = await details(ctx);
    if (!d) return;
    await finish(ctx, d, result.account, result.amr);
  });

  return router;
}

/**
 * The mutual-TLS listener's one route: checks the certificate the TLS handshake presented and
 * sends the browser back to the main origin with the signed outcome (or shows the refusal).
 */
export function certificateTlsRouter(deps: CertificateLoginDeps): Router<AppState> {
  const router = new Router<AppState>();
  router.get('/certificate-login', async (ctx) => {
    const ticket = verify<{ kind: 'ticket'; uid: string; exp: number }>(deps.secret, ctx.query.ticket, 'ticket', Date.now());
    const socket = ctx.req.socket as TLSSocket;
    const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : null;
    if (!peer?.raw) {
      const lang = pickLanguage(ctx);
      return page(ctx, 401, errorPage({ lang, message: `${t(lang, 'certificate.refused')}: no client certificate was presented`, details: [['reason', 'no-certificate']], requestId: ctx.state.requestId }));
    }
    try {
      const login = await deps.service.login(peer.raw, { ip: socket.remoteAddress ?? ctx.ip, via: 'mtls' });
      const result = sign(deps.secret, { kind: 'result', uid: ticket.uid, account: login.account.id, amr: login.amr, exp: Math.floor(Date.now() / 1000) + HANDOVER_SECONDS });
      ctx.status = 303;
      ctx.redirect(`${deps.publicUrl}/interaction/${ticket.uid}/certificate/complete?result=${encodeURIComponent(result)}`);
    } catch (err) {
      if (err instanceof CertificateLoginRefused) return refusedPage(ctx, err);
      throw err;
    }
  });
  return router;
}
