import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ACR, ACR_ORDER } from '../scopes.js';

/**
 * Upstream identity providers, declared in a JSON file (FEDERATION_UPSTREAMS_FILE; see
 * oidc/upstreams.example.json and docs/federation.md). Two kinds, both driven by openid-client:
 * - `oauth2-userinfo`: configured endpoints, identity from userinfo (how DVCQG works: no
 *   discovery, no JWKS, no PKCE documented);
 * - `oidc`: discovery from `issuer`, ID token validated (signature, iss, aud, nonce), PKCE.
 */

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** https, or http to a loopback host only (the simulator, tests). */
const endpoint = z
  .string()
  .trim()
  .refine((v) => URL.canParse(v) && (new URL(v).protocol === 'https:' || (new URL(v).protocol === 'http:' && LOOPBACK.has(new URL(v).hostname))), {
    message: 'expected an https URL (http only for localhost)',
  });

const secretSource = z.union([
  z.object({ env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name') }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
]);

const acr = z.enum(ACR_ORDER as [string, ...string[]]);

/** DVCQG's userinfo claims (docs/federation.md): the default mapping. */
export const DVCQG_CLAIMS = {
  subject: 'TechID',
  accountType: 'LoaiTaiKhoan',
  accountTypes: { '1': 'citizen', '2': 'enterprise', '3': 'organisation' },
  nationalId: 'SoDinhDanh',
  fullName: 'HoVaTen',
  email: 'ThuDienTu',
  phone: 'SoDienThoai',
  taxCode: 'MaSoThue',
  organisationName: 'TenDoanhNghiep',
  keep: ['LoaiTaiKhoan', 'NgayThangNamSinh', 'GioiTinh', 'QuocTich', 'MaSoDoanhNghiep', 'IAL', 'TrangThai'],
} as const;

const claimMapping = z
  .object({
    subject: z.string().min(1).default(DVCQG_CLAIMS.subject),
    /** Claim with the account type; absent: every login is a citizen. */
    accountType: z.string().min(1).optional(),
    accountTypes: z.record(z.string(), z.enum(['citizen', 'enterprise', 'organisation'])).default({ ...DVCQG_CLAIMS.accountTypes }),
    nationalId: z.string().min(1).default(DVCQG_CLAIMS.nationalId),
    fullName: z.string().min(1).default(DVCQG_CLAIMS.fullName),
    email: z.string().min(1).optional(),
    phone: z.string().min(1).optional(),
    taxCode: z.string().min(1).optional(),
    organisationName: z.string().min(1).optional(),
    /** Upstream claims kept as they are in `vn_upstream`. */
    keep: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const upstreamSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,31}$/, '2–32 characters of a–z, 0–9 and "-"'),
    kind: z.enum(['oauth2-userinfo', 'oidc']),
    /** The login page's button ("Tài khoản Cổng dịch vụ công quốc gia (VNeID)"). */
    label: z.object({ vi: z.string().min(1), en: z.string().min(1) }).strict(),
    /**
     * The upstream's name inside sentences ("Tài khoản {name} của bạn…", "your {name} account"):
     * by default the label without its leading "Tài khoản" / its trailing "account", so a label that
     * says "account" does not read "account … account" (upstreamName below).
     */
    name: z.object({ vi: z.string().min(1), en: z.string().min(1) }).strict().optional(),
    /** `iss` of the upstream's responses; for `oidc`, where discovery starts. */
    issuer: endpoint,
    authorizationEndpoint: endpoint.optional(),
    tokenEndpoint: endpoint.optional(),
    userinfoEndpoint: endpoint.optional(),
    endSessionEndpoint: endpoint.optional(),
    clientId: z.string().min(1),
    clientSecret: secretSource,
    tokenEndpointAuthMethod: z.enum(['client_secret_post', 'client_secret_basic']).default('client_secret_post'),
    scope: z.string().min(1).default('openid'),
    /** PKCE S256: default on for `oidc`, off for `oauth2-userinfo` (DVCQG documents none). */
    pkce: z.boolean().optional(),
    /** acr_values sent when the portal asked for no level (DVCQG expects `LoA1`). */
    defaultAcrValues: z.string().min(1).optional(),
    assurance: z
      .object({
        /** Claim (userinfo or ID token) carrying the level reached: `loAs` for DVCQG, `acr` for OIDC. */
        claim: z.string().min(1),
        /** Upstream level → our acr. Unknown levels map to the lowest. */
        levels: z.record(z.string(), acr),
      })
      .strict(),
    claims: claimMapping.prefault({}),
  })
  .strict()
  .superRefine((u, ctx) => {
    if (u.kind === 'oauth2-userinfo') {
      for (const key of ['authorizationEndpoint', 'tokenEndpoint', 'userinfoEndpoint'] as const) {
        if (!u[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'required for kind oauth2-userinfo' });
      }
    }
  });

export const upstreamFileSchema = z.object({ upstreams: z.array(upstreamSchema) }).strict();

export type UpstreamDeclaration = z.infer<typeof upstreamSchema>;
export type UpstreamInput = z.input<typeof upstreamSchema>;

/** A declaration with its secret read. */
export interface Upstream extends Omit<UpstreamDeclaration, 'clientSecret'> {
  clientSecret: string;
  pkce: boolean;
}

/**
 * Invalid declarations, every problem with its path. The composition root reports it as the
 * configuration error it is (the CLI exits 2 with it, like any invalid variable).
 */
export class UpstreamConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'UpstreamConfigError';
  }
}

/** Validates declarations and reads their secrets; every problem names its path. */
export function resolveUpstreams(raw: unknown, env: NodeJS.ProcessEnv = process.env, source = 'upstreams'): Upstream[] {
  const parsed = upstreamFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new UpstreamConfigError(parsed.error.issues.map((i) => `${source}: ${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '')}: ${i.message}`));
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  const upstreams = parsed.data.upstreams.map((u, index) => {
    if (seen.has(u.id)) problems.push(`${source}: upstreams[${index}].id: ${u.id} declared twice`);
    seen.add(u.id);
    let secret = '';
    if ('env' in u.clientSecret) {
      secret = env[u.clientSecret.env] ?? '';
      if (!secret) problems.push(`${source}: upstreams[${index}].clientSecret: environment variable ${u.clientSecret.env} is not set`);
    } else {
      try {
        secret = readFileSync(u.clientSecret.file, 'utf8').trim();
      } catch (err) {
        problems.push(`${source}: upstreams[${index}].clientSecret: cannot read ${u.clientSecret.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    }
    return { ...u, clientSecret: secret, pkce: u.pkce ?? u.kind === 'oidc' };
  });
  if (problems.length) throw new UpstreamConfigError(problems);
  return upstreams;
}

export function loadUpstreamsFile(path: string, env: NodeJS.ProcessEnv = process.env): Upstream[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UpstreamConfigError([`FEDERATION_UPSTREAMS_FILE: cannot use ${path}: ${(err as Error).message}`]);
  }
  return resolveUpstreams(raw, env, path);
}

/** The upstream levels, as ranks of our acr values (low → high). */
export const acrRank = (value: string | undefined): number => (value ? ACR_ORDER.indexOf(value) : -1);

/**
 * The level an upstream reached, from its assurance claim (a string, a space-separated list or an
 * array: the highest mapped level wins). Unknown or missing → the lowest (Keycloak #25335 lost
 * the level after a brokered login; here it is always explicit).
 */
export function assuranceOf(upstream: Pick<Upstream, 'assurance'>, claims: Record<string, unknown>): { acr: string; upstreamLevel: string | null } {
  const raw = claims[upstream.assurance.claim];
  const values = (Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[\s,]+/) : []).map(String).filter(Boolean);
  let best: { acr: string; upstreamLevel: string | null } = { acr: ACR.low, upstreamLevel: null };
  for (const v of values) {
    const mapped = upstream.assurance.levels[v];
    if (mapped && acrRank(mapped) >= acrRank(best.acr)) best = { acr: mapped, upstreamLevel: v };
  }
  return best;
}

/**
 * What to ask the upstream for: each acr the portal asked for, as the upstream's lowest level
 * that maps to it or above; none asked → the upstream's default.
 */
export function upstreamAcrValues(upstream: Pick<Upstream, 'assurance' | 'defaultAcrValues'>, requested: string[]): string | undefined {
  const wanted = requested.filter((r) => acrRank(r) >= 0);
  if (!wanted.length) return upstream.defaultAcrValues;
  const levels = Object.entries(upstream.assurance.levels).sort((a, b) => acrRank(a[1]) - acrRank(b[1]));
  const out = new Set<string>();
  for (const r of wanted) {
    const match = levels.find(([, ours]) => acrRank(ours) >= acrRank(r)) ?? levels[levels.length - 1];
    if (match) out.add(match[0]);
  }
  return out.size ? [...out].join(' ') : upstream.defaultAcrValues;
}

/** The lowest level among the portal's acr_values: what the login must reach. */
export function requiredAcr(requested: string[]): string | null {
  const ranks = requested.map(acrRank).filter((r) => r >= 0);
  return ranks.length ? ACR_ORDER[Math.min(...ranks)] : null;
}

/** The upstream's name for sentences: `name`, else the label without the word for "account". */
export function upstreamName(upstream: { label: { vi: string; en: string }; name?: { vi: string; en: string } }, lang: 'vi' | 'en'): string {
  if (upstream.name) return upstream.name[lang];
  const label = upstream.label[lang];
  const stripped = lang === 'vi' ? label.replace(/^tài khoản\s+/iu, '') : label.replace(/\s+account(?=\s*(\(|$))/iu, '').replace(/^account\s+/iu, '');
  return stripped.trim() || label;
}
