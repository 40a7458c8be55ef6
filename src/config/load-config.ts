import { readFileSync } from 'node:fs';
import { configSchema, envVars, type Config, type EnvVar } from './schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Path to a JSON config file; defaults to env TINNHIEM_CONFIG. Environment variables override it. */
  file?: string;
  /** Values that override both (used by CLI flags and tests). */
  overrides?: Record<string, unknown>;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const prior = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && prior && typeof prior === 'object'
        ? deepMerge(prior as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

function readEnvValue(env: NodeJS.ProcessEnv, v: EnvVar, problems: string[]): string | undefined {
  const direct = env[v.name];
  const fileVar = `${v.name}_FILE`;
  const file = v.secret ? env[fileVar] : undefined;
  if (direct !== undefined && direct !== '' && file) {
    problems.push(`${v.name}: give either ${v.name} or ${fileVar}, not both`);
    return undefined;
  }
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      problems.push(`${fileVar} (${v.path}): cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      return undefined;
    }
  }
  // An empty variable means "not set", as in most twelve-factor services.
  return direct === '' ? undefined : direct;
}

/**
 * Builds the configuration from an optional JSON file, the environment and overrides, and
 * validates it once. Every problem names the environment variable and the config path.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  let raw: Record<string, unknown> = {};

  const file = options.file ?? env.TINNHIEM_CONFIG;
  if (file) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
      raw = parsed as Record<string, unknown>;
    } catch (err) {
      problems.push(`TINNHIEM_CONFIG: cannot use ${file}: ${(err as Error).message}`);
    }
  }
  for (const v of envVars) {
    const value = readEnvValue(env, v, problems);
    if (value !== undefined) setPath(raw, v.path, value);
  }
  if (options.overrides) raw = deepMerge(raw, options.overrides);
  if (problems.length) throw new ConfigError(problems);

  const result = configSchema.safeParse(raw);
  if (result.success) {
    // Without an explicit PUBLIC_URL, the public URL follows the port (PORT=8080 → :8080).
    const server = raw.server as Record<string, unknown> | undefined;
    if (server?.publicUrl === undefined && result.data.server.port !== 0) {
      result.data.server.publicUrl = `http://localhost:${result.data.server.port}`;
    }
    return result.data;
  }
  for (const issue of result.error.issues) {
    const path = issue.path.join('.');
    const v = envVars.find((e) => e.path === path);
    const name = v ? `${v.name} (${path})` : path || '(root)';
    problems.push(`${name}: ${issue.message}`);
  }
  throw new ConfigError(problems);
}

/** The configuration with secrets replaced, for `tinnhiem config show` and start-up logs. */
export function redactConfig(config: Config): Record<string, unknown> {
  const copy = structuredClone(config) as Record<string, unknown>;
  for (const v of envVars.filter((e) => e.secret)) {
    const keys = v.path.split('.');
    let node: Record<string, unknown> | undefined = copy;
    for (const key of keys.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined;
    const last = keys[keys.length - 1];
    if (node && node[last] !== undefined) node[last] = redactSecret(String(node[last]));
  }
  return copy;
}

function redactSecret(value: string): string {
  // Keep a URL's shape (host, database) but never its password.
  if (URL.canParse(value)) {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  }
  return '***';
}

/** Markdown table of the environment variables with their defaults (README, docs). */
export function configTable(): string {
  const defaults = configSchema.parse({}) as Record<string, unknown>;
  const lookup = (path: string): unknown =>
    path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], defaults);
  const rows = envVars.map((v) => {
    const def = lookup(v.path);
    const shown = def === undefined ? '(unset)' : `\`${typeof def === 'object' && !Array.isArray(def) ? JSON.stringify(def) : String(def)}\``;
    return `| \`${v.name}\`${v.secret ? ` (or \`${v.name}_FILE\`)` : ''} | ${shown} | ${v.doc} |`;
  });
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}
