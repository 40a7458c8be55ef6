import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Busboy from 'busboy';
import Router from '@koa/router';
import type { Provider } from 'oidc-provider';
import { AppError, asAppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import { readBody } from '../middleware/koa-body-limits.js';
import { ROLES, type Account, type Role } from '../../../oidc/account.js';
import type { AccountService } from '../../accounts/account-service.js';
import type { AuditService } from '../../audit/audit-service.js';
import type { AuditEvent } from '../../audit/audit-chain.js';
import type { CertificateService } from '../../certificates/certificate-service.js';
import { REVOCATION_REASONS, type CertificateRecord, type RequestStatus } from '../../registry/records.js';
import type { PasskeyService } from '../../webauthn/passkey-service.js';
import type { TrustStore } from '../../validation/trust-store.js';
import type { ClientRegistry } from '../../../oidc/clients/client-registry.js';
import { allowedApiScopes } from '../../../oidc/grants.js';
import { ACR, acrAtLeast } from '../../../oidc/scopes.js';
import { pickLanguage, type Language } from '../locales/messages.js';
import { sendPage } from '../views/html.js';
import { at, type AdminMessageKey } from './admin-messages.js';
import { ADMIN_CLIENT_ID, adminCallbackPath } from '../../../oidc/clients/admin-client.js';
import * as views from './admin-views.js';

export interface AdminRouterDeps {
  provider(): Provider;
  publicUrl: string;
  /** The API resource indicator: asking for its administration scopes is what triggers step-up. */
  apiResource: string;
  csrfSecret: Buffer;
  certificates: CertificateService;
  accounts: AccountService;
  passkeys: PasskeyService;
  clients: ClientRegistry;
  audit: AuditService;
  trust: TrustStore;
}

/** Roles that may open the console at all; what each may change follows from its API scopes. */
const CONSOLE_ROLES: readonly Role[] = ['admin', 'ra-officer', 'auditor'];
const FORM_LIMIT = 64 * 1024;
const UPLOAD_LIMIT = 256 * 1024;
const STEP_UP_SCOPES = 'openid admin certs:read certs:request certs:approve certs:revoke';
const DONE = new Set<string>(['requested', 'approved', 'issued', 'rejected', 'revoke', 'hold', 'release', 'accountCreated', 'roles', 'disabled', 'enabled', 'passkeyDeleted', 'trustAdded', 'trustRemoved', 'portalRemoved']);
const SERIAL = /^[0-9a-fA-F:]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Where a login or step-up may return to: a console page of ours, never another origin. */
const RETURN_PATH = /^\/admin(?:[/?][^\s\\]*)?$/;

/** The page an action's form is on (`/admin/certificates/ab/revoke` → `/admin/certificates/ab`). */
export function pageOfAction(path: string): string {
  if (/^\/admin\/(portals|trust)\//.test(path)) return path.replace(/^(\/admin\/(portals|trust))\/.*$/, '$1');
  return path.replace(/\/(passkeys\/[^/]+\/delete|revoke|hold|release|approve|reject|roles|disable|enable)$/, '');
}

interface Officer {
  account: Account;
  sessionUid: string;
  /** The session's login is high assurance (a passkey or a certificate). */
  high: boolean;
  scopes: Set<string>;
  actor: string;
  lang: Language;
}

type Can = 'read' | 'request' | 'approve' | 'revoke' | 'admin' | 'audit';

function can(o: Officer, what: Can): boolean {
  switch (what) {
    case 'read':
      return o.scopes.has('certs:read');
    case 'request':
      return o.scopes.has('certs:request');
    case 'approve':
      return o.scopes.has('certs:approve');
    case 'revoke':
      return o.scopes.has('certs:revoke');
    case 'admin':
      return o.scopes.has('admin');
    case 'audit':
      return o.scopes.has('admin') || o.account.roles.includes('auditor');
  }
}

function navFor(o: Officer): views.NavItem[] {
  const nav: views.NavItem[] = ['dashboard', 'certificates', 'requests'];
  if (can(o, 'admin')) nav.push('portals', 'accounts');
  if (can(o, 'audit')) nav.push('audit');
  if (can(o, 'admin')) nav.push('trust');
  return nav;
}

/** A multipart form (CSR and certificate uploads) read with busboy under a small cap. */
function readMultipart(ctx: AppContext, limitBytes: number): Promise<{ fields: Map<string, string>; files: Map<string, Buffer> }> {
  return new Promise((resolve, reject) => {
    let busboy: Busboy.Busboy;
    try {
      busboy = Busboy({ headers: ctx.req.headers, limits: { fileSize: limitBytes, files: 2, fields: 20, fieldSize: limitBytes, parts: 22 } });
    } catch (err) {
      reject(new AppError('badRequest', `multipart: ${(err as Error).message}`));
      return;
    }
    const fields = new Map<string, string>();
    const files = new Map<string, Buffer>();
    let failed: AppError | null = null;
    busboy.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => (failed ??= new AppError('payloadTooLarge', `file ${name} exceeds ${limitBytes} bytes`, { limitBytes })));
      stream.on('end', () => files.set(name, Buffer.concat(chunks)));
    });
    busboy.on('field', (name, value, info) => {
      if (info.valueTruncated) failed ??= new AppError('validationFailed', `field ${name} is too long`);
      fields.set(name, value);
    });
    for (const limit of ['filesLimit', 'fieldsLimit', 'partsLimit'] as const) busboy.on(limit, () => (failed ??= new AppError('validationFailed', 'too many form fields')));
    busboy.on('error', (err: Error) => reject(new AppError('badRequest', `multipart: ${err.message}`)));
    busboy.on('close', () => (failed ? reject(failed) : resolve({ fields, files })));
    ctx.req.pipe(busboy);
  });
}

/**
 * The administration console (/admin): server-rendered pages over the same services as the REST
 * API. An official signs in through our provider as its own first-party client; every page
 * checks the session's account and roles; every change needs a form token bound to the session,
 * a same-origin post and a high-assurance login (step-up to a passkey or a certificate). The
 * services audit every change with the officer (`user:<account id>`) as the actor.
 */
export function adminRouter(deps: AdminRouterDeps): Router<AppState> {
  const router = new Router<AppState>();
  const publicOrigin = new URL(deps.publicUrl).origin;
  const csrfFor = (sessionUid: string) => createHmac('sha256', deps.csrfSecret).update(`admin:${sessionUid}`).digest('base64url');
  const svc = deps.certificates;
  const css = readFileSync(new URL('../static/admin.css', import.meta.url));
  const cssTag = `"${createHash('sha256').update(css).digest('base64url').slice(0, 22)}"`;

  router.get('/static/admin.css', (ctx) => {
    ctx.set('ETag', cssTag);
    ctx.set('Cache-Control', 'public, max-age=3600');
    if (ctx.get('if-none-match') === cssTag) {
      ctx.status = 304;
      return;
    }
    ctx.type = 'text/css; charset=utf-8';
    ctx.body = css;
  });

  function redirect(ctx: AppContext, location: string) {
    ctx.status = 303;
    ctx.redirect(location);
  }

  const selfHref = (ctx: AppContext) => {
    // A refused form is rendered in answer to its POST: the language switch and the step-up link
    // then lead to the page the form is on, not to the action's path.
    if (ctx.method !== 'GET') return pageOfAction(ctx.path);
    const q = new URLSearchParams(ctx.querystring);
    q.delete('lang');
    q.delete('done');
    const s = q.toString();
    return `${ctx.path}${s ? `?${s}` : ''}`;
  };

  function logoutHref(): string {
    const u = new URL(`${deps.publicUrl}/oidc/session/end`);
    u.search = new URLSearchParams({ client_id: ADMIN_CLIENT_ID, post_logout_redirect_uri: `${deps.publicUrl}/admin` }).toString();
    return `${u.pathname}${u.search}`;
  }

  function authUrl(returnTo: string, stepUp: boolean): string {
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
  }

  function frame(ctx: AppContext, o: Officer, current: views.NavItem, extra: { error?: string } = {}): views.Frame {
    const done = typeof ctx.query.done === 'string' && DONE.has(ctx.query.done) ? at(o.lang, `done.${ctx.query.done}` as AdminMessageKey) : undefined;
    return { lang: o.lang, officer: o.account.fullName, high: o.high, csrf: csrfFor(o.sessionUid), nav: navFor(o), current, selfHref: selfHref(ctx), logoutHref: logoutHref(), notice: done, error: extra.error };
  }

  /** The signed-in official, or null (no session, disabled account). */
  async function officer(ctx: AppContext): Promise<Officer | null> {
    const session = await deps.provider().Session.get(ctx as never);
    if (!session.accountId) return null;
    const account = await deps.accounts.findById(session.accountId);
    if (!account || account.status !== 'active') return null;
    const acr = (session as unknown as { acr?: string }).acr;
    return { account, sessionUid: session.uid, high: acrAtLeast(acr, ACR.high), scopes: allowedApiScopes(account), actor: `user:${account.id}`, lang: pickLanguage(ctx) };
  }

  function refuse(ctx: AppContext, o: Officer, status: number, title: string, message: string, current: views.NavItem = 'dashboard') {
    const f = frame(ctx, o, current);
    sendPage(ctx, status, views.messagePage({ ...f, nav: CONSOLE_ROLES.some((r) => o.account.roles.includes(r)) ? f.nav : [] }, title, message));
  }

  /**
   * Wraps a page or an action: signs in when there is no session (GET) or refuses (POST), checks
   * the roles, and renders a refused action (AppError below 500) as a page of the console.
   */
  function page(need: Can, current: views.NavItem, handler: (ctx: AppContext, o: Officer) => Promise<void>) {
    return async (ctx: AppContext) => {
      const o = await officer(ctx);
      if (!o) {
        if (ctx.method === 'GET') return redirect(ctx, authUrl(selfHref(ctx), false));
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
  }

  /** Fetch metadata first, Origin as the fallback (as the login pages): no cross-site posts. */
  function checkOrigin(ctx: AppContext) {
    const site = ctx.get('sec-fetch-site');
    const origin = ctx.get('origin');
    if ((site && site !== 'same-origin' && site !== 'none') || (origin && origin !== 'null' && origin !== publicOrigin)) {
      throw new AppError('forbidden', 'cross-origin form submission refused');
    }
  }

  function checkCsrf(o: Officer, given: string | undefined) {
    const expected = Buffer.from(csrfFor(o.sessionUid));
    const got = Buffer.from(given ?? '');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new AppError('forbidden', at(o.lang, 'error.csrf'));
  }

  async function readForm(ctx: AppContext, o: Officer): Promise<URLSearchParams> {
    checkOrigin(ctx);
    if (!ctx.request.is('application/x-www-form-urlencoded')) throw new AppError('unsupportedMediaType', 'expected an application/x-www-form-urlencoded form');
    const form = new URLSearchParams((await readBody(ctx, FORM_LIMIT)).toString('utf8'));
    checkCsrf(o, form.get('csrf') ?? undefined);
    return form;
  }

  async function readUpload(ctx: AppContext, o: Officer) {
    checkOrigin(ctx);
    if (!ctx.request.is('multipart/form-data')) throw new AppError('unsupportedMediaType', 'expected a multipart/form-data form');
    const body = await readMultipart(ctx, UPLOAD_LIMIT);
    checkCsrf(o, body.fields.get('csrf'));
    return body;
  }

  /** Changes need a high-assurance login: otherwise off to the provider's step-up first. */
  function steppedUp(ctx: AppContext, o: Officer, returnTo: string): boolean {
    if (o.high) return true;
    redirect(ctx, `/admin/step-up?return=${encodeURIComponent(returnTo)}`);
    return false;
  }

  function confirmed(o: Officer, form: { get(name: string): string | null | undefined }) {
    if (form.get('confirm') !== 'yes') throw new AppError('validationFailed', at(o.lang, 'error.confirm'));
  }

  // Officers' names for the audit and request tables (one lookup per actor and page).
  function names() {
    const cache = new Map<string, Promise<string>>();
    return (actor: string): Promise<string> => {
      if (!cache.has(actor)) {
        const id = actor.startsWith('user:') ? actor.slice(5) : null;
        cache.set(actor, id ? deps.accounts.findById(id).then((a) => (a ? `${a.fullName} (${a.username ?? a.nationalId ?? id})` : actor)) : Promise.resolve(actor));
      }
      return cache.get(actor)!;
    };
  }

  async function auditRows(events: AuditEvent[], nameOf: (actor: string) => Promise<string>): Promise<views.AuditRow[]> {
    return Promise.all(
      events.map(async (e) => {
        const details = JSON.stringify(e.details ?? {});
        return { seq: e.seq, occurredAt: e.occurredAt, actor: await nameOf(e.actor), action: e.action, target: e.target, details: details === '{}' ? '' : details.length > 300 ? `${details.slice(0, 300)}…` : details };
      }),
    );
  }

  const profiles = () => [...svc.ca.profiles.values()].filter((p) => p.type === 'end-entity').map((p) => p.id);
  const statusOf = (c: CertificateRecord, now = new Date()) => (c.notAfter <= now ? 'expired' : c.status);

  // ── Sign-in and step-up ────────────────────────────────────────────────────
  router.get('/admin/callback', async (ctx) => {
    if (typeof ctx.query.error === 'string') {
      // The person cancelled the login or the step-up: back to the console's first page (or the
      // login again), with the provider's error named.
      const lang = pickLanguage(ctx);
      sendPage(ctx, 400, views.messagePage({ lang, officer: '', high: false, csrf: '', nav: [], current: 'dashboard', selfHref: '/admin', logoutHref: logoutHref() }, at(lang, 'error.title'), `${ctx.query.error}: ${String(ctx.query.error_description ?? '')}`));
      return;
    }
    const state = typeof ctx.query.state === 'string' ? Buffer.from(ctx.query.state, 'base64url').toString('utf8') : '';
    redirect(ctx, RETURN_PATH.test(state) && !state.startsWith('//') ? state : '/admin');
  });

  router.get('/admin/step-up', async (ctx) => {
    const returnTo = typeof ctx.query.return === 'string' && RETURN_PATH.test(ctx.query.return) ? ctx.query.return : '/admin';
    redirect(ctx, authUrl(returnTo, true));
  });

  // ── Dashboard ──────────────────────────────────────────────────────────────
  router.get(
    '/admin',
    page('read', 'dashboard', async (ctx, o) => {
      const nameOf = names();
      const byStatus = await svc.countByStatus();
      const byProfile = new Map<string | null, Record<string, number>>(profiles().map((p) => [p, {}]));
      for (const row of await svc.countByProfileAndStatus()) {
        const counts = byProfile.get(row.profileId) ?? {};
        counts[row.status] = (counts[row.status] ?? 0) + row.count;
        byProfile.set(row.profileId, counts);
      }
      const expiring = await Promise.all([30, 60, 90].map(async (days) => ({ days, count: (await svc.search({ status: 'good', expiresWithinDays: days, limit: 1 })).total })));
      const pending = await svc.ra.list('pending', 10);
      const recent = can(o, 'audit') ? await deps.audit.list({ limit: 10 }) : await deps.audit.list({ actor: o.actor, limit: 10 });
      sendPage(
        ctx,
        200,
        views.dashboardPage(frame(ctx, o, 'dashboard'), {
          byStatus,
          byProfile: [...byProfile].map(([profile, counts]) => ({ profile, counts })),
          expiring,
          pending: await Promise.all(pending.map(async (r) => ({ id: r.id, subject: r.subjectDn, profile: r.profileId, requestedBy: await nameOf(r.requestedBy), createdAt: r.createdAt, approvals: r.approvals.length, required: r.approvalsRequired }))),
          recent: await auditRows(recent, nameOf),
        }),
      );
    }),
  );

  // ── Certificates ───────────────────────────────────────────────────────────
  router.get(
    '/admin/certificates',
    page('read', 'certificates', async (ctx, o) => {
      const q = (name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string).trim().slice(0, 200) : '');
      const filters: views.CertFilters = { q: q('q'), nationalId: q('nationalId'), taxCode: q('taxCode'), agency: q('agency'), status: q('status'), profile: q('profile'), expiresWithinDays: q('expiresWithinDays') };
      const status = ['good', 'revoked', 'hold', 'expired'].includes(filters.status!) ? (filters.status as 'good') : undefined;
      const days = /^\d{1,4}$/.test(filters.expiresWithinDays!) ? Number(filters.expiresWithinDays) : undefined;
      const offset = /^\d{1,7}$/.test(q('offset')) ? Number(q('offset')) : 0;
      const limit = 50;
      const result = await svc.search({ text: filters.q || undefined, nationalId: filters.nationalId || undefined, taxCode: filters.taxCode || undefined, agency: filters.agency || undefined, status, profileId: filters.profile || undefined, expiresWithinDays: days, limit, offset });
      const now = new Date();
      sendPage(
        ctx,
        200,
        views.certificatesPage(frame(ctx, o, 'certificates'), {
          filters,
          profiles: profiles(),
          rows: result.items.map((c) => ({ serial: c.serial, holderName: c.holderName, subject: c.subjectDn, agency: c.agency, profile: c.profileId, status: statusOf(c, now), notAfter: c.notAfter })),
          total: result.total,
          offset,
          limit,
        }),
      );
    }),
  );

  async function certificateParam(ctx: AppContext): Promise<CertificateRecord> {
    const serial = String(ctx.params.serial ?? '');
    if (!SERIAL.test(serial)) throw new AppError('notFound', `no certificate ${serial}`);
    return svc.ca.certificate(serial);
  }

  router.get(
    '/admin/certificates/:serial',
    page('read', 'certificates', async (ctx, o) => {
      const c = await certificateParam(ctx);
      const nameOf = names();
      const issuers = await svc.ca.issuers();
      const chain: views.CertDetail['chain'] = [];
      for (let issuer = issuers.find((i) => i.id === c.issuerId); issuer && chain.length < 8; issuer = issuers.find((i) => i.id === issuer!.parentId)) {
        chain.push({ id: issuer.id, subject: issuer.subjectDn, role: issuer.role });
        if (!issuer.parentId) break;
      }
      const history = [...(await deps.audit.list({ target: `certificate:${c.serial}`, limit: 100 })), ...(c.requestId ? await deps.audit.list({ target: `request:${c.requestId}`, limit: 100 }) : [])].sort((a, b) => b.seq - a.seq);
      sendPage(
        ctx,
        200,
        views.certificatePage(
          frame(ctx, o, 'certificates'),
          {
            serial: c.serial,
            status: statusOf(c),
            statusRaw: c.status,
            expired: c.notAfter <= new Date(),
            source: c.source,
            subject: c.subjectDn,
            holderName: c.holderName,
            nationalId: c.nationalId,
            taxCode: c.taxCode,
            agency: c.agency,
            email: c.email,
            profile: c.profileId,
            issuer: c.issuerId,
            notBefore: c.notBefore,
            notAfter: c.notAfter,
            revokedAt: c.revokedAt,
            reason: c.revocationReason,
            chain,
            history: await auditRows(history, nameOf),
            requestId: c.requestId,
          },
          { canChange: can(o, 'revoke'), reasons: REVOCATION_REASONS.filter((r) => r !== 'certificateHold') },
        ),
      );
    }),
  );

  router.get(
    '/admin/certificates/:serial/:format',
    page('read', 'certificates', async (ctx) => {
      const c = await certificateParam(ctx);
      const format = ctx.params.format;
      if (format === 'pem') {
        ctx.type = 'application/pem-certificate-chain';
        ctx.set('Content-Disposition', `attachment; filename="${c.serial}.pem"`);
        ctx.body = svc.pem(c);
      } else if (format === 'der') {
        if (!c.der) throw new AppError('notFound', `certificate ${c.serial} has no signed form`);
        ctx.type = 'application/pkix-cert';
        ctx.set('Content-Disposition', `attachment; filename="${c.serial}.cer"`);
        ctx.body = c.der;
      } else if (format === 'chain') {
        ctx.type = 'application/pkcs7-mime';
        ctx.set('Content-Disposition', `attachment; filename="${c.serial}.p7b"`);
        ctx.body = Buffer.from(await svc.chainPkcs7(c));
      } else {
        throw new AppError('notFound', `no download ${format}`);
      }
      ctx.set('Cache-Control', 'no-store');
    }),
  );

  for (const action of ['revoke', 'hold', 'release'] as const) {
    router.post(
      `/admin/certificates/:serial/${action}`,
      page('revoke', 'certificates', async (ctx, o) => {
        const form = await readForm(ctx, o);
        const c = await certificateParam(ctx);
        const back = `/admin/certificates/${c.serial}`;
        if (!steppedUp(ctx, o, back)) return;
        confirmed(o, form);
        const reason = form.get('reason') ?? 'unspecified';
        if (action === 'revoke' && !(REVOCATION_REASONS as readonly string[]).includes(reason)) throw new AppError('validationFailed', `reason: unknown revocation reason ${reason}`);
        const comment = (form.get('comment') ?? '').trim().slice(0, 1000) || undefined;
        await svc.ca.changeStatus({ actor: o.actor, serial: c.serial, issuerId: c.issuerId, action, reason: action === 'revoke' ? (reason as never) : undefined, comment });
        redirect(ctx, `${back}?done=${action}`);
      }),
    );
  }

  // ── Requests ───────────────────────────────────────────────────────────────
  async function renderRequests(ctx: AppContext, o: Officer, extra: { status?: number; error?: string; values?: views.RequestFormValues } = {}) {
    const nameOf = names();
    const status = typeof ctx.query.status === 'string' && ['pending', 'approved', 'issued', 'rejected'].includes(ctx.query.status) ? (ctx.query.status as RequestStatus) : undefined;
    const rows = await svc.ra.list(status, 100);
    sendPage(
      ctx,
      extra.status ?? 200,
      views.requestsPage(frame(ctx, o, 'requests', { error: extra.error }), {
        rows: await Promise.all(rows.map(async (r) => ({ id: r.id, subject: r.subjectDn, profile: r.profileId, requestedBy: await nameOf(r.requestedBy), createdAt: r.createdAt, approvals: r.approvals.length, required: r.approvalsRequired, status: r.status }))),
        status,
        profiles: profiles(),
        canRequest: can(o, 'request'),
        values: extra.values ?? {},
      }),
    );
  }

  router.get('/admin/requests', page('read', 'requests', (ctx, o) => renderRequests(ctx, o)));

  router.post(
    '/admin/requests',
    page('request', 'requests', async (ctx, o) => {
      const { fields, files } = await readUpload(ctx, o);
      if (!steppedUp(ctx, o, '/admin/requests')) return;
      const get = (n: string) => (fields.get(n) ?? '').trim();
      const values: views.RequestFormValues = { profile: get('profile'), csrPem: get('csrPem'), cn: get('cn'), uidType: get('uidType'), uidValue: get('uidValue'), o: get('o'), ou: get('ou'), l: get('l'), email: get('email') };
      const file = files.get('csrFile');
      const csr: string | Uint8Array | null = file?.length ? new Uint8Array(file) : values.csrPem ? values.csrPem : null;
      // A refused request is shown on the form it came from, with what was typed; nothing is stored.
      const fail = (message: string, status = 400) => renderRequests(ctx, o, { status, error: message, values });
      if (!csr) return fail(at(o.lang, 'error.csrMissing'));
      if (values.uidType && !['CCCD', 'CMND', 'HC', 'MST', 'MNS'].includes(values.uidType)) return fail('uidType: unknown identifier type');
      const subject: Record<string, unknown> = {};
      if (values.cn) subject.CN = values.cn;
      if (values.o) subject.O = values.o;
      if (values.ou) subject.OU = [values.ou];
      if (values.l) subject.L = values.l;
      if (values.uidValue) subject.UID = [`${values.uidType || 'CCCD'}:${values.uidValue}`];
      const holder = Object.keys(subject).length || values.email ? { subject: Object.keys(subject).length ? { C: 'VN', ...subject } : undefined, emails: values.email ? [values.email] : undefined } : undefined;
      try {
        const outcome = await svc.ra.submit(o.actor, { csr, profileId: values.profile || 'official-signing', holder: holder as never });
        if (outcome.issued) return redirect(ctx, `/admin/certificates/${outcome.issued.serial}?done=issued`);
        redirect(ctx, `/admin/requests/${outcome.request.id}?done=requested`);
      } catch (err) {
        const refused = asAppError(err);
        if (refused && refused.status < 500) return fail(refused.detail, refused.status);
        throw err;
      }
    }),
  );

  async function requestParam(ctx: AppContext) {
    const id = String(ctx.params.id ?? '');
    if (!UUID.test(id)) throw new AppError('notFound', `no certificate request ${id}`);
    return svc.ra.get(id);
  }

  router.get(
    '/admin/requests/:id',
    page('read', 'requests', async (ctx, o) => {
      const r = await requestParam(ctx);
      const nameOf = names();
      sendPage(
        ctx,
        200,
        views.requestPage(
          frame(ctx, o, 'requests'),
          {
            id: r.id,
            subject: r.subjectDn,
            profile: r.profileId,
            status: r.status,
            requestedBy: await nameOf(r.requestedBy),
            createdAt: r.createdAt,
            required: r.approvalsRequired,
            approvals: await Promise.all(r.approvals.map(async (a) => ({ name: await nameOf(a.approver), at: a.approvedAt }))),
            rejectReason: r.rejectReason,
            certificateSerial: r.certificateSerial,
            ownRequest: r.requestedBy === o.actor,
            approvedByMe: r.approvals.some((a) => a.approver === o.actor),
            history: await auditRows(await deps.audit.list({ target: `request:${r.id}`, limit: 100 }), nameOf),
          },
          { canApprove: can(o, 'approve') },
        ),
      );
    }),
  );

  router.post(
    '/admin/requests/:id/approve',
    page('approve', 'requests', async (ctx, o) => {
      const form = await readForm(ctx, o);
      const r = await requestParam(ctx);
      if (!steppedUp(ctx, o, `/admin/requests/${r.id}`)) return;
      confirmed(o, form);
      const outcome = await svc.ra.approve(o.actor, r.id);
      redirect(ctx, outcome.issued ? `/admin/certificates/${outcome.issued.serial}?done=issued` : `/admin/requests/${r.id}?done=approved`);
    }),
  );

  router.post(
    '/admin/requests/:id/reject',
    page('approve', 'requests', async (ctx, o) => {
      const form = await readForm(ctx, o);
      const r = await requestParam(ctx);
      if (!steppedUp(ctx, o, `/admin/requests/${r.id}`)) return;
      await svc.ra.reject(o.actor, r.id, (form.get('reason') ?? '').slice(0, 1000));
      redirect(ctx, `/admin/requests/${r.id}?done=rejected`);
    }),
  );

  // ── Portals ────────────────────────────────────────────────────────────────
  async function renderPortals(ctx: AppContext, o: Officer, extra: { status?: number; error?: string; values?: views.PortalFormValues; secret?: { clientId: string; secret: string } } = {}) {
    const clients = await deps.clients.list();
    sendPage(
      ctx,
      extra.status ?? 200,
      views.portalsPage(frame(ctx, o, 'portals', { error: extra.error }), {
        rows: clients.map((c) => ({
          clientId: c.clientId,
          name: c.name,
          redirectUris: (c.metadata.redirect_uris as string[] | undefined) ?? [],
          authMethod: String(c.metadata.token_endpoint_auth_method ?? ''),
          firstParty: c.firstParty,
          hasSecret: c.hasSecret,
          scopes: [c.metadata.scope, c.metadata.api_scopes].filter(Boolean).join(' '),
        })),
        values: extra.values ?? {},
        secret: extra.secret,
      }),
    );
  }

  router.get('/admin/portals', page('admin', 'portals', (ctx, o) => renderPortals(ctx, o)));

  router.post(
    '/admin/portals',
    page('admin', 'portals', async (ctx, o) => {
      const form = await readForm(ctx, o);
      if (!steppedUp(ctx, o, '/admin/portals')) return;
      const lines = (n: string) => (form.get(n) ?? '').split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
      const values: views.PortalFormValues = {
        clientId: (form.get('clientId') ?? '').trim(),
        name: (form.get('name') ?? '').trim(),
        redirectUris: form.get('redirectUris') ?? '',
        postLogoutRedirectUris: form.get('postLogoutRedirectUris') ?? '',
        scopes: form.get('scopes') ?? '',
        authMethod: form.get('authMethod') ?? 'client_secret_basic',
        firstParty: form.get('firstParty') === 'yes',
      };
      try {
        const { client, secret } = await deps.clients.add(o.actor, {
          clientId: values.clientId!,
          name: values.name!,
          redirectUris: lines('redirectUris'),
          postLogoutRedirectUris: lines('postLogoutRedirectUris'),
          scopes: values.scopes!.split(/\s+/).filter(Boolean),
          authMethod: values.authMethod as never,
          firstParty: values.firstParty,
        });
        // The secret is shown on this response only (never stored in clear, never redirected).
        await renderPortals(ctx, o, { status: 201, secret: secret ? { clientId: client.clientId, secret } : undefined });
      } catch (err) {
        if (err instanceof AppError && err.status < 500) return renderPortals(ctx, o, { status: err.status, error: err.detail, values });
        throw err;
      }
    }),
  );

  router.post(
    '/admin/portals/:clientId/rotate',
    page('admin', 'portals', async (ctx, o) => {
      const form = await readForm(ctx, o);
      if (!steppedUp(ctx, o, '/admin/portals')) return;
      confirmed(o, form);
      const secret = await deps.clients.rotateSecret(o.actor, String(ctx.params.clientId));
      await renderPortals(ctx, o, { secret: { clientId: String(ctx.params.clientId), secret } });
    }),
  );

  router.post(
    '/admin/portals/:clientId/remove',
    page('admin', 'portals', async (ctx, o) => {
      const form = await readForm(ctx, o);
      if (!steppedUp(ctx, o, '/admin/portals')) return;
      confirmed(o, form);
      await deps.clients.remove(o.actor, String(ctx.params.clientId));
      redirect(ctx, '/admin/portals?done=portalRemoved');
    }),
  );

  // ── Accounts ───────────────────────────────────────────────────────────────
  async function accountRow(a: Account): Promise<views.AccountRow> {
    return { id: a.id, username: a.username, fullName: a.fullName, nationalId: a.nationalId, agency: a.agency, roles: a.roles, status: a.status, passkeys: (await deps.passkeys.list(a.id)).length };
  }

  async function renderAccounts(ctx: AppContext, o: Officer, extra: { status?: number; error?: string; values?: views.AccountFormValues } = {}) {
    const search = typeof ctx.query.search === 'string' ? ctx.query.search.trim().slice(0, 100) : '';
    const list = await deps.accounts.list({ kind: 'official', search: search || undefined, limit: 200 });
    sendPage(ctx, extra.status ?? 200, views.accountsPage(frame(ctx, o, 'accounts', { error: extra.error }), { rows: await Promise.all(list.map(accountRow)), search, roles: ROLES, values: extra.values ?? {} }));
  }

  router.get('/admin/accounts', page('admin', 'accounts', (ctx, o) => renderAccounts(ctx, o)));

  const rolesOf = (form: URLSearchParams): Role[] => {
    const roles = form.getAll('roles');
    const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
    if (unknown.length) throw new AppError('validationFailed', `roles: unknown ${unknown.join(', ')}`);
    return [...new Set(roles)] as Role[];
  };

  router.post(
    '/admin/accounts',
    page('admin', 'accounts', async (ctx, o) => {
      const form = await readForm(ctx, o);
      if (!steppedUp(ctx, o, '/admin/accounts')) return;
      const get = (n: string) => (form.get(n) ?? '').trim();
      const values: views.AccountFormValues = { username: get('username'), nationalId: get('nationalId'), fullName: get('fullName'), email: get('email'), agency: get('agency'), unit: get('unit'), position: get('position'), roles: form.getAll('roles') };
      try {
        const account = await deps.accounts.createOfficial(o.actor, {
          username: values.username!,
          nationalId: values.nationalId!,
          fullName: values.fullName!,
          email: values.email || null,
          agency: values.agency || null,
          unit: values.unit || null,
          position: values.position || null,
          roles: rolesOf(form),
          password: form.get('password') || undefined,
        });
        redirect(ctx, `/admin/accounts/${account.id}?done=accountCreated`);
      } catch (err) {
        if (err instanceof AppError && err.status < 500) return renderAccounts(ctx, o, { status: err.status, error: err.detail, values });
        throw err;
      }
    }),
  );

  async function accountParam(ctx: AppContext): Promise<Account> {
    const id = String(ctx.params.id ?? '');
    const a = UUID.test(id) ? await deps.accounts.findById(id) : null;
    if (!a || a.kind !== 'official') throw new AppError('notFound', `no official account ${id}`);
    return a;
  }

  router.get(
    '/admin/accounts/:id',
    page('admin', 'accounts', async (ctx, o) => {
      const a = await accountParam(ctx);
      const passkeys = await deps.passkeys.list(a.id);
      const history = await auditRows(await deps.audit.list({ target: `account:${a.id}`, limit: 50 }), names());
      sendPage(
        ctx,
        200,
        views.accountPage(frame(ctx, o, 'accounts'), { ...(await accountRow(a)), email: a.email, unit: a.unit, position: a.position }, { roles: ROLES, passkeys: passkeys.map((k) => ({ id: k.id, name: k.name, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt })), history }),
      );
    }),
  );

  const loginOf = (a: Account) => a.username ?? a.nationalId ?? a.id;

  router.post(
    '/admin/accounts/:id/roles',
    page('admin', 'accounts', async (ctx, o) => {
      const form = await readForm(ctx, o);
      const a = await accountParam(ctx);
      if (!steppedUp(ctx, o, `/admin/accounts/${a.id}`)) return;
      const roles = rolesOf(form);
      // An administrator cannot lock themselves out of the console by mistake.
      if (a.id === o.account.id && !roles.includes('admin')) throw new AppError('conflict', 'you cannot remove your own administrator role');
      await deps.accounts.setRoles(o.actor, loginOf(a), roles);
      redirect(ctx, `/admin/accounts/${a.id}?done=roles`);
    }),
  );

  for (const action of ['disable', 'enable'] as const) {
    router.post(
      `/admin/accounts/:id/${action}`,
      page('admin', 'accounts', async (ctx, o) => {
        const form = await readForm(ctx, o);
        const a = await accountParam(ctx);
        if (!steppedUp(ctx, o, `/admin/accounts/${a.id}`)) return;
        confirmed(o, form);
        if (a.id === o.account.id) throw new AppError('conflict', 'you cannot disable your own account');
        await deps.accounts.setStatus(o.actor, loginOf(a), action === 'disable' ? 'disabled' : 'active');
        redirect(ctx, `/admin/accounts/${a.id}?done=${action === 'disable' ? 'disabled' : 'enabled'}`);
      }),
    );
  }

  router.post(
    '/admin/accounts/:id/passkeys/:passkeyId/delete',
    page('admin', 'accounts', async (ctx, o) => {
      const form = await readForm(ctx, o);
      const a = await accountParam(ctx);
      if (!steppedUp(ctx, o, `/admin/accounts/${a.id}`)) return;
      confirmed(o, form);
      await deps.passkeys.remove(o.actor, a.id, String(ctx.params.passkeyId));
      redirect(ctx, `/admin/accounts/${a.id}?done=passkeyDeleted`);
    }),
  );

  // ── Audit log ──────────────────────────────────────────────────────────────
  router.get(
    '/admin/audit',
    page('audit', 'audit', async (ctx, o) => {
      const q = (n: string) => (typeof ctx.query[n] === 'string' ? (ctx.query[n] as string).trim().slice(0, 200) : '');
      const filters = { action: q('action'), actor: q('actor'), target: q('target') };
      const before = /^\d{1,15}$/.test(q('before')) ? Number(q('before')) : undefined;
      const limit = 50;
      const events = await deps.audit.list({ action: filters.action || undefined, actor: filters.actor || undefined, target: filters.target || undefined, beforeSeq: before, limit });
      const verification = await deps.audit.verify();
      const next = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
      if (events.length === limit) next.set('before', String(events[events.length - 1].seq));
      sendPage(
        ctx,
        200,
        views.auditPage(frame(ctx, o, 'audit'), {
          filters,
          rows: await auditRows(events, names()),
          next: events.length === limit ? `/admin/audit?${next}` : undefined,
          verification: { ok: verification.ok, checked: verification.checked, head: verification.head?.hash ?? null, badSeq: verification.firstBad?.seq, reason: verification.firstBad?.message },
        }),
      );
    }),
  );

  // ── Trust store ────────────────────────────────────────────────────────────
  async function renderTrust(ctx: AppContext, o: Officer, extra: { status?: number; error?: string; values?: { pem?: string; kind?: string; label?: string } } = {}) {
    sendPage(ctx, extra.status ?? 200, views.trustPage(frame(ctx, o, 'trust', { error: extra.error }), { rows: await deps.trust.list(), values: extra.values ?? {} }));
  }

  router.get('/admin/trust', page('admin', 'trust', (ctx, o) => renderTrust(ctx, o)));

  router.post(
    '/admin/trust',
    page('admin', 'trust', async (ctx, o) => {
      const { fields, files } = await readUpload(ctx, o);
      if (!steppedUp(ctx, o, '/admin/trust')) return;
      const values = { pem: (fields.get('pem') ?? '').trim(), kind: fields.get('kind') ?? 'anchor', label: (fields.get('label') ?? '').trim().slice(0, 200) };
      const file = files.get('file');
      const bytes = file?.length ? new Uint8Array(file) : values.pem ? new Uint8Array(Buffer.from(values.pem, 'utf8')) : null;
      if (!bytes) return renderTrust(ctx, o, { status: 400, error: at(o.lang, 'trust.missing'), values });
      if (values.kind !== 'anchor' && values.kind !== 'intermediate') return renderTrust(ctx, o, { status: 400, error: 'kind: anchor or intermediate', values });
      try {
        await deps.trust.add(o.actor, bytes, values.kind, values.label || null);
      } catch (err) {
        const refused = asAppError(err);
        if (refused && refused.status < 500) return renderTrust(ctx, o, { status: refused.status, error: refused.detail, values });
        throw err;
      }
      redirect(ctx, '/admin/trust?done=trustAdded');
    }),
  );

  router.post(
    '/admin/trust/:sha256/remove',
    page('admin', 'trust', async (ctx, o) => {
      const form = await readForm(ctx, o);
      if (!steppedUp(ctx, o, '/admin/trust')) return;
      confirmed(o, form);
      const sha = String(ctx.params.sha256);
      if (!/^[0-9a-fA-F:]{64,95}$/.test(sha) || !(await deps.trust.remove(o.actor, sha))) throw new AppError('notFound', `no trust entry ${sha}`);
      redirect(ctx, '/admin/trust?done=trustRemoved');
    }),
  );

  return router;
}
