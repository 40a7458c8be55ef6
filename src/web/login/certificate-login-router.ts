import { BlockList, isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import Router from '@koa/router';
import type { Provider } from 'oidc-provider';
import { AppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import type { Logger } from '../../logging/logger.js';
import { CertificateLoginRefused, type CertificateLoginService, type LoginContext } from '../../auth/certificate-login.js';
import { t } from '../locales/messages.js';
import type { LoginMethodLink } from '../views/pages.js';
import { sendErrorPage } from '../views/error-page.js';
import { csrfToken, sameToken } from '../middleware/koa-form-guard.js';
import { interactionOrExpired, type InteractionDetails } from './interaction-session.js';
import { ACR } from '../../../oidc/scopes.js';
import { isStepUp } from '../../../oidc/step-up.js';

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
  now(): Date;
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
  return `${body}.${csrfToken(secret, 'certificate-login', body)}`;
}

function verify<T extends { kind: string; exp: number }>(secret: Buffer, token: unknown, kind: T['kind'], now: Date): T {
  if (typeof token !== 'string' || !/^[\w-]+\.[\w-]+$/.test(token)) throw new AppError('badRequest', 'missing or malformed certificate login token');
  const [body, mac] = token.split('.');
  if (!sameToken(mac, csrfToken(secret, 'certificate-login', body))) throw new AppError('forbidden', 'the certificate login token does not verify');
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
  if (payload.kind !== kind) throw new AppError('forbidden', 'wrong certificate login token');
  if (payload.exp < now.getTime() / 1000) throw new AppError('forbidden', 'the certificate login token expired: start again');
  return payload;
}

/** Seconds since the epoch at which a hand-over token made now expires. */
const handoverExpiry = (now: Date) => Math.floor(now.getTime() / 1000) + HANDOVER_SECONDS;

function refusedPage(ctx: AppContext, err: CertificateLoginRefused) {
  sendErrorPage(ctx, err.status, { message: (lang) => `${t(lang, 'certificate.refused')}: ${err.detail}`, details: [['reason', err.reason]] });
}

/** Completes the interaction with the certificate's account: a login, or a step-up of the same account. */
async function finish(ctx: AppContext, deps: CertificateLoginDeps, d: InteractionDetails, accountId: string, amr: string[]) {
  const stepUp = isStepUp(d.prompt.reasons) ? d.session?.accountId : undefined;
  if (stepUp && stepUp !== accountId) throw new AppError('forbidden', 'this certificate belongs to another account than the one signed in');
  // A step-up adds the certificate to the factors of this session's earlier login (RFC 8176 `mfa`).
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

/** A certificate a trusted reverse proxy forwarded in `proxyHeader`: the login happens here and now. */
async function loginThroughProxy(ctx: AppContext, deps: CertificateLoginDeps, proxies: BlockList, d: InteractionDetails, forwarded: string) {
  const from = peerAddress(ctx);
  if (!proxies.check(from, isIP(from) === 6 ? 'ipv6' : 'ipv4')) {
    // Anyone can send the header: only the configured proxies are believed.
    deps.log.warn({ from }, 'client certificate header from an untrusted address refused');
    throw new AppError('forbidden', 'a client certificate header is accepted only from the configured reverse proxies');
  }
  const context: LoginContext = { ip: ctx.ip, clientId: String(d.params.client_id), via: 'proxy' };
  try {
    const login = await deps.service.login(certificateFromHeader(forwarded), context);
    return await finish(ctx, deps, d, login.account.id, login.amr);
  } catch (err) {
    if (err instanceof CertificateLoginRefused) return refusedPage(ctx, err);
    throw err;
  }
}

/** The login method's link: the proxy's header when there is one, otherwise off to the mutual-TLS listener with a ticket. */
const startCertificateLogin = (deps: CertificateLoginDeps, proxies: BlockList) =>
  async function startCertificateLogin(ctx: AppContext) {
    const d = await interactionOrExpired(ctx, deps.provider, { loginOnly: true });
    if (!d) return;
    const forwarded = deps.proxyHeader ? ctx.get(deps.proxyHeader) : '';
    if (forwarded) return loginThroughProxy(ctx, deps, proxies, d, forwarded);
    const tlsUrl = deps.tlsUrl();
    if (!tlsUrl) throw new AppError('notFound', 'certificate login is not configured on this service');
    const ticket = sign(deps.secret, { kind: 'ticket', uid: d.uid, exp: handoverExpiry(deps.now()) });
    ctx.status = 303;
    ctx.redirect(`${tlsUrl}/certificate-login?ticket=${encodeURIComponent(ticket)}`);
  };

/** Back from the mutual-TLS listener with its signed outcome. */
const completeCertificateLogin = (deps: CertificateLoginDeps) =>
  async function completeCertificateLogin(ctx: AppContext) {
    const result = verify<{ kind: 'result'; uid: string; account: string; amr: string[]; exp: number }>(deps.secret, ctx.query.result, 'result', deps.now());
    if (result.uid !== ctx.params.uid) throw new AppError('forbidden', 'the certificate login result is for another interaction');
    const d = await interactionOrExpired(ctx, deps.provider, { loginOnly: true });
    if (!d) return;
    await finish(ctx, deps, d, result.account, result.amr);
  };

/**
 * Certificate login on the main origin. The certificate comes from a trusted TLS-terminating
 * proxy's header, or from the mutual-TLS listener: the browser is sent there with a signed,
 * short-lived ticket for this interaction, the listener checks the certificate, and sends it back
 * here with a signed result, so each origin only ever reads its own cookies.
 */
export function certificateLoginRouter(deps: CertificateLoginDeps): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/interaction/:uid/certificate' });
  const proxies = addressList(deps.trustedProxies ?? []);
  router.get('/', startCertificateLogin(deps, proxies));
  router.get('/complete', completeCertificateLogin(deps));
  return router;
}

/** The listener's one route: the certificate of the TLS handshake, checked, and the outcome signed for the main origin. */
const checkPeerCertificate = (deps: CertificateLoginDeps) =>
  async function checkPeerCertificate(ctx: AppContext) {
    const ticket = verify<{ kind: 'ticket'; uid: string; exp: number }>(deps.secret, ctx.query.ticket, 'ticket', deps.now());
    const socket = ctx.req.socket as TLSSocket;
    const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : null;
    if (!peer?.raw) {
      return sendErrorPage(ctx, 401, { message: (lang) => `${t(lang, 'certificate.refused')}: no client certificate was presented`, details: [['reason', 'no-certificate']] });
    }
    try {
      const login = await deps.service.login(peer.raw, { ip: socket.remoteAddress ?? ctx.ip, via: 'mtls' });
      const result = sign(deps.secret, { kind: 'result', uid: ticket.uid, account: login.account.id, amr: login.amr, exp: handoverExpiry(deps.now()) });
      ctx.status = 303;
      ctx.redirect(`${deps.publicUrl}/interaction/${ticket.uid}/certificate/complete?result=${encodeURIComponent(result)}`);
    } catch (err) {
      if (err instanceof CertificateLoginRefused) return refusedPage(ctx, err);
      throw err;
    }
  };

/**
 * The mutual-TLS listener's one route: checks the certificate the TLS handshake presented and
 * sends the browser back to the main origin with the signed outcome (or shows the refusal).
 */
export function certificateTlsRouter(deps: CertificateLoginDeps): Router<AppState> {
  const router = new Router<AppState>();
  router.get('/certificate-login', checkPeerCertificate(deps));
  return router;
}
