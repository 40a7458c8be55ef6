import { isIP } from 'node:net';
import { z } from 'zod';

/** Env booleans: `true/false/1/0/yes/no` (case-insensitive); anything else is an error naming the field. */
const booleanish = z.union([
  z.boolean(),
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), { message: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes'),
]);

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * TRUST_PROXY: how many reverse proxies in front of the service append to X-Forwarded-For. The
 * client address is the entry that many places from the right (the proxies' own appends), never
 * one a client wrote itself. `true`/`yes` mean one proxy and `false`/`no` none (docs/security.md).
 */
const proxyHops = z
  .union([z.boolean(), z.number(), z.string()])
  .transform((v) => String(v).trim().toLowerCase())
  .refine((v) => /^(10|[0-9])$/.test(v) || ['true', 'false', 'yes', 'no'].includes(v), { message: 'expected the number of trusted proxy hops (0–10), or true (1) / false (0)' })
  .transform((v) => (v === 'true' || v === 'yes' ? 1 : v === 'false' || v === 'no' ? 0 : Number(v)));

const httpUrl = z
  .string()
  .trim()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { message: 'expected an http(s) URL' })
  // One canonical form, without a trailing slash, so `${publicUrl}/oidc` is always right.
  .transform((v) => v.replace(/\/+$/, ''));

/** An IPv4/IPv6 address or CIDR range (10.0.1.0/24, fd00::/8). */
function isAddressOrRange(entry: string): boolean {
  const [address, bits, extra] = entry.split('/');
  const family = isIP(address);
  if (!family || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
}

/** A comma-separated list in the environment, or an array in a config file. */
const commaList = z.union([
  z.array(z.string().trim().min(1)),
  z.string().transform((v) =>
    v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  ),
]);

function safeJson(v: string): unknown {
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/**
 * A JSON object of string lists (`{"tls-server":["soctrang.gov.vn"]}`), in the environment as
 * JSON text or in a config file as an object.
 */
const listsByKey = z.preprocess(
  (v) => (typeof v === 'string' ? safeJson(v) : v),
  z.record(z.string().min(1), z.array(z.string().trim().min(1))),
);

const postgresUrl = z
  .string()
  .trim()
  .refine((v) => URL.canParse(v) && /^postgres(ql)?:$/.test(new URL(v).protocol), {
    message: 'expected postgres://user[:password]@host[:port]/database',
  });

/**
 * The whole configuration. Every field has a safe default, so an empty environment starts a
 * development instance on the embedded database. Environment variables map onto it through
 * `envVars` below; a JSON config file (TINNHIEM_CONFIG) may give the same nested shape.
 */
export const configSchema = z.object({
  server: z
    .object({
      port: integer(0, 65535).default(3000),
      host: z.string().trim().min(1).default('127.0.0.1'),
      publicUrl: httpUrl.default('http://localhost:3000'),
      trustProxy: proxyHops.default(0),
      bodyLimitBytes: integer(1024, 256 * 1024 * 1024).default(1024 * 1024),
      shutdownTimeoutMs: integer(0, 10 * 60_000).default(25_000),
    })
    .prefault({}),
  database: z
    .object({
      url: postgresUrl.optional(),
      poolMax: integer(1, 200).default(10),
      // Bounds on a database that does not answer (a restart, a failover, a partition): requests
      // then fail fast with 503 instead of hanging (docs/deployment.md).
      acquireTimeoutMs: integer(100, 120_000).default(5_000),
      queryTimeoutMs: integer(0, 3_600_000).default(30_000),
    })
    .prefault({}),
  dataDir: z.string().trim().min(1).default('./data'),
  secrets: z
    .object({
      masterPassphrase: z.string().min(12, 'at least 12 characters').optional(),
    })
    .prefault({}),
  oidc: z
    .object({
      accessTokenTtlSeconds: integer(60, 24 * 3600).default(600),
      idTokenTtlSeconds: integer(60, 24 * 3600).default(600),
      refreshTokenTtlSeconds: integer(300, 365 * 24 * 3600).default(14 * 24 * 3600),
      sessionTtlSeconds: integer(300, 30 * 24 * 3600).default(8 * 3600),
      keyPollSeconds: integer(1, 3600).default(30),
    })
    .prefault({}),
  ca: z
    .object({
      name: z.string().trim().min(1).max(40).default('tinnhiem'),
      organisation: z.string().trim().min(1).max(64).default('tinnhiem (development)'),
      locality: z.string().trim().min(1).max(128).optional(),
      keyType: z.enum(['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'rsa-pss-2048', 'rsa-pss-3072', 'rsa-pss-4096']).default('ecdsa-p256'),
      crlValidityHours: integer(1, 24 * 31).default(24),
      deltaCrlValidityMinutes: integer(5, 24 * 60).default(60),
      rootCrlValidityDays: integer(1, 400).default(365),
      rootCrlWarnDays: integer(1, 400).default(60),
      keyStore: z.enum(['file', 'pkcs11']).default('file'),
      // Name policy (docs/ca.md): DNS zones per profile, and the subset a requester may ask for.
      dnsSuffixes: listsByKey.default({}),
      requesterDnsSuffixes: listsByKey.default({}),
      // docs/ca.md, "Policy OIDs": the operator's registered arc (e.g. 1.3.6.1.4.1.<PEN>.x); unset: the development arc.
      policyArc: z
        .string()
        .trim()
        .regex(/^[0-2](\.(0|[1-9]\d{0,9}))+$/, 'expected a dotted object identifier such as 1.3.6.1.4.1.<PEN>.1')
        .refine((v) => v.split('.').every((arc) => Number(arc) < 2 ** 31), 'every arc must be below 2^31: GnuTLS and NSS cannot decode larger ones (a 2.25.<UUID> arc breaks them)')
        .optional(),
      issuingNameConstraints: booleanish.default(false),
      // docs/ca.md, "URL settings": base of CDP/AIA/OCSP URLs, plain http.
      pkiBaseUrl: httpUrl.refine((v) => v.startsWith('http:'), { message: 'expected a plain http:// URL: relying parties fetch CRLs and OCSP over HTTP (RFC 5280 §4.2.1.13, RFC 6960 Appendix A)' }).optional(),
      profileApprovals: z
        .preprocess((v) => (typeof v === 'string' ? safeJson(v) : v), z.record(z.string().min(1), z.number().int().min(0).max(10)))
        .default({}),
    })
    .prefault({}),
  pkcs11: z
    .object({
      module: z.string().trim().min(1).optional(),
      token: z.string().trim().min(1).max(32).optional(),
      pin: z.string().min(1).optional(),
      sessions: integer(1, 64).default(4),
    })
    .prefault({}),
  ocsp: z
    .object({
      signer: z.enum(['delegated', 'ca']).default('delegated'),
      validityHours: integer(1, 240).default(24),
      maxAgeSeconds: integer(0, 240 * 3600).default(3600),
      maxInflightSignings: integer(1, 100_000).default(256),
      cacheEntries: integer(0, 10_000_000).default(100_000),
      refreshBatch: integer(1, 100_000).default(2_000),
      refreshIntervalSeconds: integer(1, 3600).default(30),
      changePollMs: integer(50, 60_000).default(1_000),
      propagationTimeoutMs: integer(0, 60_000).default(5_000),
      // How long a node answers from memory without reading the change feed (docs/ocsp.md).
      fenceMs: integer(1_000, 600_000).default(10_000),
    })
    .prefault({}),
  login: z
    .object({
      maxFailuresPerAccount: integer(1, 100_000).default(50),
      maxFailuresPerAddress: integer(1, 100_000).default(30),
      failureWindowSeconds: integer(1, 24 * 3600).default(900),
      lockSeconds: integer(1, 24 * 3600).default(900),
      // The per-(account, address) bound is the fast one; the account's own is slower and longer,
      // so failures from many addresses still end, and a stranger needs many to lock it (docs/security.md).
      maxFailuresPerAccountAddress: integer(1, 100_000).default(5),
      accountFailureWindowSeconds: integer(1, 7 * 24 * 3600).default(24 * 3600),
      accountLockSeconds: integer(1, 7 * 24 * 3600).default(3600),
      hashConcurrency: integer(1, 64).default(2),
      hashQueue: integer(0, 10_000).default(32),
      hashWaitMs: integer(0, 60_000).default(1_500),
      clientAuthMaxFailuresPerClientAddress: integer(1, 100_000).default(10),
      clientAuthMaxFailuresPerAddress: integer(1, 100_000).default(50),
    })
    .prefault({}),
  federation: z
    .object({
      upstreamsFile: z.string().trim().min(1).optional(),
      timeoutMs: integer(100, 60_000).default(10_000),
      simulatorPort: integer(0, 65535).default(3100),
    })
    .prefault({}),
  webauthn: z
    .object({
      // Default: the host name of PUBLIC_URL (WebAuthn §5.1.3: a registrable domain suffix of the origin).
      rpId: z.string().trim().min(1).optional(),
      rpName: z.string().trim().min(1).max(64).default('tinnhiem'),
      origins: commaList.optional(),
      timeoutSeconds: integer(30, 600).default(300),
    })
    .prefault({}),
  certLogin: z
    .object({
      tlsPort: integer(0, 65535).optional(),
      tlsCertFile: z.string().trim().min(1).optional(),
      tlsKeyFile: z.string().trim().min(1).optional(),
      publicUrl: httpUrl.optional(),
      caBundleFile: z.string().trim().min(1).optional(),
      proxyHeader: z.string().trim().toLowerCase().regex(/^[a-z0-9-]+$/, 'a header name').optional(),
      trustedProxies: commaList.optional(),
    })
    // A TLS listener needs its certificate and key.
    .refine((c) => c.tlsPort === undefined || (c.tlsCertFile && c.tlsKeyFile), { message: 'CERT_LOGIN_TLS_CERT_FILE and CERT_LOGIN_TLS_KEY_FILE are required with CERT_LOGIN_TLS_PORT', path: ['tlsCertFile'] })
    .refine((c) => !c.proxyHeader || c.trustedProxies?.length, { message: 'CERT_LOGIN_TRUSTED_PROXIES is required with CERT_LOGIN_PROXY_HEADER', path: ['trustedProxies'] })
    .refine((c) => (c.trustedProxies ?? []).every(isAddressOrRange), { message: 'expected addresses or CIDR ranges (10.0.0.5, 10.0.1.0/24, fd00::/8)', path: ['trustedProxies'] })
    .prefault({}),
  validation: z
    .object({
      trustAnchors: z
        .union([z.array(z.string()), z.string().transform((v) => v.split(',').map((f) => f.trim()).filter(Boolean))])
        .default([]),
      maxBytes: integer(1024, 512 * 1024 * 1024).default(20 * 1024 * 1024),
      maxSignatures: integer(1, 1000).default(50),
      timeBudgetMs: integer(100, 10 * 60_000).default(20_000),
      fetch: booleanish.default(true),
      fetchTimeoutMs: integer(100, 60_000).default(5_000),
      fetchPrivateNetworks: booleanish.default(false),
    })
    .prefault({}),
  // The public trust portal (/verify, docs/verify.md): anonymous uploads, so tighter limits.
  verify: z
    .object({
      maxBytes: integer(1024, 512 * 1024 * 1024).default(10 * 1024 * 1024),
      uploadsPerMinute: integer(1, 100_000).default(20),
    })
    .prefault({}),
  // Audit checkpoints (docs/audit.md): the chain's head signed outside the database.
  audit: z
    .object({
      keyUri: z.string().trim().min(1).optional(),
      publicKeyFile: z.string().trim().min(1).optional(),
      checkpointFile: z.string().trim().min(1).optional(),
      syslogUrl: z
        .string()
        .trim()
        .refine((v) => URL.canParse(v) && /^(udp|tcp):$/.test(new URL(v).protocol) && !!new URL(v).hostname, { message: 'expected udp://host[:port] or tcp://host[:port]' })
        .optional(),
      tsaUrl: httpUrl.optional(),
      tsaCertFile: z.string().trim().min(1).optional(),
      checkpointEvents: integer(1, 10_000_000).default(1000),
      checkpointSeconds: integer(5, 24 * 3600).default(600),
      sinkTimeoutMs: integer(100, 60_000).default(5_000),
    })
    .prefault({}),
  log: z
    .object({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export { envVars, type EnvVar } from './env-vars.js';
