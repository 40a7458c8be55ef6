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

const httpUrl = z
  .string()
  .trim()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { message: 'expected an http(s) URL' })
  // One canonical form, without a trailing slash, so `${publicUrl}/oidc` is always right.
  .transform((v) => v.replace(/\/+$/, ''));

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
      trustProxy: booleanish.default(false),
      bodyLimitBytes: integer(1024, 256 * 1024 * 1024).default(1024 * 1024),
      shutdownTimeoutMs: integer(0, 10 * 60_000).default(25_000),
    })
    .prefault({}),
  database: z
    .object({
      url: postgresUrl.optional(),
      poolMax: integer(1, 200).default(10),
    })
    .prefault({}),
  dataDir: z.string().trim().min(1).default('./data'),
  log: z
    .object({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export interface EnvVar {
  name: string;
  /** Dotted path in the config object. */
  path: string;
  doc: string;
  /** Secret values are never echoed in errors or logs and may be given as `${name}_FILE`. */
  secret?: boolean;
}

/** The environment variables, in the order the docs list them. */
export const envVars: readonly EnvVar[] = [
  { name: 'PORT', path: 'server.port', doc: 'TCP port of the HTTP listener (0 picks a free port).' },
  { name: 'HOST', path: 'server.host', doc: 'Address to listen on. Use 0.0.0.0 in a container or behind a reverse proxy.' },
  {
    name: 'PUBLIC_URL',
    path: 'server.publicUrl',
    doc: 'External base URL as clients see it (default http://localhost:PORT); the OIDC issuer, CRL and OCSP URLs derive from it.',
  },
  {
    name: 'TRUST_PROXY',
    path: 'server.trustProxy',
    doc: 'Trust X-Forwarded-For/-Proto from a reverse proxy (only enable behind one).',
  },
  { name: 'BODY_LIMIT_BYTES', path: 'server.bodyLimitBytes', doc: 'Largest request body accepted; larger gets 413.' },
  {
    name: 'SHUTDOWN_TIMEOUT_MS',
    path: 'server.shutdownTimeoutMs',
    doc: 'On SIGTERM/SIGINT, how long in-flight requests may take before connections are closed.',
  },
  {
    name: 'DATABASE_URL',
    path: 'database.url',
    doc: 'PostgreSQL connection URL. When unset, the embedded database (PGlite) in DATA_DIR is used.',
    secret: true,
  },
  { name: 'DATABASE_POOL_MAX', path: 'database.poolMax', doc: 'Largest PostgreSQL connection pool.' },
  { name: 'DATA_DIR', path: 'dataDir', doc: 'Directory for the embedded database and key files.' },
  { name: 'LOG_LEVEL', path: 'log.level', doc: 'fatal, error, warn, info, debug, trace or silent.' },
];
