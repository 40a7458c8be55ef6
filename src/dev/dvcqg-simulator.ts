import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import getRawBody from 'raw-body';
import { Provider, type AccountClaims, type Adapter, type AdapterPayload, type Configuration, type JWK, type KoaContextWithOIDC } from 'oidc-provider';
import { html, escapeHtml, raw, PAGE_CSP } from '../web/views/html.js';
import { serveStatic } from '../web/middleware/koa-serve-static.js';

/**
 * A stand-in for the national portal's SSO (DVCQG, xacthuc.dichvucong.gov.vn), for development and
 * tests: an oidc-provider instance configured as the national portal is known to work
 * (docs/federation.md): the OAuth 2.0 code flow at /oauth2/authorize|token|userinfo,
 * client_secret_post, acr_values LoA1/LoA2, userinfo with the Vietnamese claims (TechID,
 * LoaiTaiKhoan, SoDinhDanh, HoVaTen, …), no PKCE required. Clients need no discovery (it exists,
 * as oidc-provider always serves it, and the `oidc` upstream kind uses it in tests).
 *
 * The login page lists synthetic people (citizens, an enterprise, an organisation) and a level.
 */

export interface SimulatedPerson {
  TechID: string;
  LoaiTaiKhoan: 1 | 2 | 3;
  SoDinhDanh: string;
  HoVaTen: string;
  [claim: string]: string | number;
}

export const DVCQG_USERINFO_CLAIMS = [
  'TechID', 'LoaiTaiKhoan', 'SoDinhDanh', 'SoCMND', 'HoChieu', 'MaBHXH', 'HoVaTen', 'NgayThangNamSinh', 'GioiTinh', 'QuocTich',
  'ThuongTru', 'NoiOHienNay', 'DiaChi', 'ThuDienTu', 'SoDienThoai', 'MaSoThue', 'MaSoDoanhNghiep', 'TenDoanhNghiep', 'loAs', 'IAL', 'TrangThai',
];

export const LEVELS = ['LoA1', 'LoA2'] as const;

export function syntheticPeople(): SimulatedPerson[] {
  return (JSON.parse(readFileSync(new URL('./dvcqg-people.json', import.meta.url), 'utf8')) as { people: SimulatedPerson[] }).people;
}

/** oidc-provider's storage, in memory (the simulator keeps nothing across restarts). */
function memoryAdapter(store: Map<string, { payload: AdapterPayload; exp?: number }>) {
  return class MemoryAdapter implements Adapter {
    constructor(private readonly model: string) {}
    private key(id: string) {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
      store.set(this.key(id), { payload, exp: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
      if (payload.grantId) store.set(`grant:${payload.grantId}:${this.key(id)}`, { payload: { id: this.key(id) } as AdapterPayload });
      if (payload.uid) store.set(`uid:${payload.uid}`, { payload: { id } as AdapterPayload });
    }
    async find(id: string) {
      const entry = store.get(this.key(id));
      if (!entry || (entry.exp && entry.exp < Date.now())) return undefined;
      return entry.payload;
    }
    async findByUid(uid: string) {
      const ref = store.get(`uid:${uid}`);
      return ref ? this.find(String(ref.payload.id)) : undefined;
    }
    async findByUserCode() {
      return undefined;
    }
    async consume(id: string) {
      const entry = store.get(this.key(id));
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const key of [...store.keys()]) {
        if (key.startsWith(`grant:${grantId}:`)) {
          store.delete(String(store.get(key)!.payload.id));
          store.delete(key);
        }
      }
    }
  };
}

export interface SimulatorClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
}

export interface DvcqgSimulator {
  url: string;
  provider: Provider;
  /** Registers (or replaces) a relying party, e.g. tinnhiem's broker. */
  registerClient(client: SimulatorClient): void;
  /** Adds a synthetic person to the login page. */
  addPerson(person: SimulatedPerson): void;
  /** Logins the simulator completed, newest last (tests check what went up). */
  readonly authorizations: Array<{ clientId: string; acrValues?: string; codeChallenge?: boolean; nonce?: boolean }>;
  close(): Promise<void>;
}

export async function startDvcqgSimulator(options: { port?: number; host?: string; publicUrl?: string; hostname?: string; clients?: SimulatorClient[]; people?: SimulatedPerson[] } = {}): Promise<DvcqgSimulator> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = options.publicUrl ?? `http://${options.hostname ?? '127.0.0.1'}:${port}`;
  const people = new Map((options.people ?? syntheticPeople()).map((p) => [p.TechID, p]));
  const store = new Map<string, { payload: AdapterPayload; exp?: number }>();
  const authorizations: DvcqgSimulator['authorizations'] = [];
  const provider = new Provider(url, simulatorConfiguration(store, people));
  provider.on('authorization.success', (ctx) => {
    const p = ctx.oidc.params as Record<string, string | undefined>;
    authorizations.push({ clientId: String(p.client_id), acrValues: p.acr_values, codeChallenge: !!p.code_challenge, nonce: !!p.nonce });
  });
  provider.use(simulatorRouter(provider, people).routes());
  server.on('request', provider.callback());

  return {
    url,
    provider,
    authorizations,
    registerClient(client) {
      const metadata = {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: client.redirectUris,
        post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      };
      store.set(`Client:${client.clientId}`, { payload: metadata as AdapterPayload });
    },
    addPerson(person) {
      people.set(person.TechID, person);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The national portal as it is known to behave: its routes, claims, levels and client defaults. */
function simulatorConfiguration(store: Map<string, { payload: AdapterPayload; exp?: number }>, people: Map<string, SimulatedPerson>): Configuration {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk: JWK = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: 'dvcqg-sim', use: 'sig', alg: 'RS256' };
  return {
    adapter: memoryAdapter(store),
    clients: [],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')], long: { signed: true, sameSite: 'lax' }, short: { signed: true, sameSite: 'lax' } },
    routes: {
      authorization: '/oauth2/authorize',
      token: '/oauth2/token',
      userinfo: '/oauth2/userinfo',
      end_session: '/oauth2/logout',
      jwks: '/oauth2/jwks',
      revocation: '/oauth2/revoke',
    },
    scopes: ['openid'],
    claims: { openid: ['sub', ...DVCQG_USERINFO_CLAIMS] },
    acrValues: [...LEVELS],
    responseTypes: ['code'],
    clientDefaults: { grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post', id_token_signed_response_alg: 'RS256' },
    // DVCQG documents no PKCE: accepted when sent, never required.
    pkce: { required: () => false },
    ttl: { AccessToken: 1800, AuthorizationCode: 60, IdToken: 1800, Interaction: 600, Session: 1800, Grant: 1800 },
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.set('Content-Security-Policy', PAGE_CSP);
          ctx.type = 'html';
          ctx.body = simPage('Đăng xuất', html`<h1>Đăng xuất khỏi Cổng dịch vụ công quốc gia?</h1>${raw(form)}<button type="submit" form="op.logoutForm" name="logout" value="yes">Đăng xuất</button>`.value);
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // The level reached travels with the access token, so userinfo can say it (`loAs`).
    extraTokenClaims: async (ctx: KoaContextWithOIDC) => {
      const code = ctx.oidc.entities.AuthorizationCode as unknown as { acr?: string } | undefined;
      return code?.acr ? { loa: code.acr } : undefined;
    },
    async findAccount(_ctx, sub, token) {
      const person = people.get(sub);
      if (!person) return undefined;
      const loa = (token as unknown as { extra?: { loa?: string } } | undefined)?.extra?.loa ?? 'LoA1';
      const claims: AccountClaims = { sub, ...person, loAs: loa, IAL: loa === 'LoA2' ? '2' : '1', TrangThai: 1 };
      return { accountId: sub, claims: async () => claims };
    },
    async loadExistingGrant(ctx) {
      const existing = ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (existing) {
        const grant = await ctx.oidc.provider.Grant.find(existing);
        if (grant) return grant;
      }
      // The national portal asks no consent of the relying parties it registered.
      const grant = new ctx.oidc.provider.Grant({ accountId: ctx.oidc.session!.accountId!, clientId: ctx.oidc.client!.clientId });
      grant.addOIDCScope('openid');
      grant.addOIDCClaims(['sub', ...DVCQG_USERINFO_CLAIMS]);
      await grant.save();
      return grant;
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.set('Content-Security-Policy', PAGE_CSP);
      ctx.body = simPage('Lỗi', html`<h1>Lỗi</h1><dl class="details">${Object.entries(out).map(([k, v]) => html`<dt>${k}</dt><dd>${String(v)}</dd>`)}</dl>`.value);
    },
  };
}

/** The login page: pick a synthetic person and a level, or cancel. */
const SIMULATOR_CSS = '/static/tinnhiem.css';

function simulatorRouter(provider: Provider, people: Map<string, SimulatedPerson>): Router {
  const csrfKey = randomBytes(32);
  const csrfFor = (uid: string) => createHmac('sha256', csrfKey).update(uid).digest('base64url');
  const router = new Router();
  router.get(SIMULATOR_CSS, serveStatic(new URL('../web/static/tinnhiem.css', import.meta.url), 'text/css; charset=utf-8') as unknown as Parameters<Router['get']>[1]);
  router.get('/interaction/:uid', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = 'html';
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.body = loginPage(details.uid, String(details.params.acr_values ?? 'LoA1').split(' '), [...people.values()], csrfFor(details.uid));
  });
  router.post('/interaction/:uid', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const form = new URLSearchParams((await getRawBody(ctx.req, { limit: '16kb' })).toString('utf8'));
    if (!safeEqual(form.get('csrf') ?? '', csrfFor(details.uid))) ctx.throw(403, 'csrf');
    const person = people.get(form.get('person') ?? '');
    const loa = form.get('loa') ?? 'LoA1';
    if (!person || !(LEVELS as readonly string[]).includes(loa)) ctx.throw(400, 'pick a person and a level');
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: person!.TechID, acr: loa, amr: ['pwd'] } }, { mergeWithLastSubmission: false });
  });
  router.post('/interaction/:uid/cancel', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const form = new URLSearchParams((await getRawBody(ctx.req, { limit: '16kb' })).toString('utf8'));
    if (!safeEqual(form.get('csrf') ?? '', csrfFor(details.uid))) ctx.throw(403, 'csrf');
    await provider.interactionFinished(ctx.req, ctx.res, { error: 'access_denied', error_description: 'người dùng huỷ đăng nhập' }, { mergeWithLastSubmission: false });
  });
  return router;
}

function loginPage(uid: string, asked: string[], people: SimulatedPerson[], csrf: string): string {
  const rows = people.map(
    (p, i) =>
      html`<li><label><input type="radio" name="person" value="${p.TechID}" ${i === 0 ? 'checked' : ''}> ${p.HoVaTen} — ${p.LoaiTaiKhoan === 1 ? 'Công dân' : p.LoaiTaiKhoan === 2 ? 'Doanh nghiệp' : 'Tổ chức'}${p.TenDoanhNghiep ? html` (${String(p.TenDoanhNghiep)}, MST ${String(p.MaSoThue)})` : ''}, CCCD ${p.SoDinhDanh}</label></li>`,
  );
  return simPage(
    'Đăng nhập',
    html`<h1>Cổng dịch vụ công quốc gia — trình mô phỏng</h1>
<p>Chọn tài khoản định danh điện tử (dữ liệu giả lập). Mức yêu cầu: ${asked.join(', ')}</p>
<form method="post" action="/interaction/${uid}">
<input type="hidden" name="csrf" value="${csrf}">
<fieldset class="people"><legend>Tài khoản định danh điện tử</legend><ul>${rows}</ul></fieldset>
<label for="loa">Mức độ đảm bảo</label>
<select id="loa" name="loa">${LEVELS.map((l) => html`<option value="${l}" ${asked.includes(l) && l === 'LoA2' ? 'selected' : ''}>${l}</option>`)}</select>
<button type="submit" id="dvcqg-login">Đăng nhập</button>
</form>
<form method="post" action="/interaction/${uid}/cancel" class="cancel"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="secondary">Huỷ</button></form>`.value,
  );
}

/** The simulator's pages look like ours (same stylesheet, served by the simulator itself, same CSP). */
function simPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)} · DVCQG (mô phỏng)</title>
<link rel="stylesheet" href="${SIMULATOR_CSS}">
</head>
<body>
<header class="banner">
  <p class="org">Cổng Dịch vụ công quốc gia</p>
  <p class="app">Trình mô phỏng · dữ liệu giả lập</p>
</header>
<main id="main" class="card">
${body}
</main>
</body>
</html>`;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
