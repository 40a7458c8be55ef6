/**
 * What the benchmarks and the soak share: the machine description, a closed-loop load runner
 * with latency percentiles, the RSS of another process, and the service process itself
 * (bench/support/service-process.ts) started as its own process, so that memory is the service's
 * alone and the load generator's work is not counted in it.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { SoftAuthenticatorState } from '../../test/support/soft-authenticator.js';
import { generateKeyPairSync, sign } from 'node:crypto';
import { hostedEntry, hostedEnv } from './hosted.js';
import { repoRoot, repoRootUrl } from './repo-root.js';
import { scratchDatabase } from './scratch-database.js';

export { repoRoot, scratchDatabase };

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  node: string;
  openssl: string;
  database: string;
  load: string;
}

/** CPU model, cores, RAM and versions (PostgreSQL's from the server when one is used). */
export async function machine(databaseUrl?: string): Promise<Machine> {
  let database = `embedded PGlite ${pgliteVersion()}`;
  if (databaseUrl) {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    const { rows } = await c.query<{ server_version: string }>('show server_version');
    await c.end();
    database = `PostgreSQL ${rows[0].server_version}`;
  }
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    openssl: execFileSync('openssl', ['version']).toString().trim(),
    database,
    load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
}

function pgliteVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('node_modules/@electric-sql/pglite/package.json', repoRootUrl), 'utf8')) as { version: string }).version;
  } catch {
    return '';
  }
}

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

export interface LoadResult {
  operations: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  /** The first few error messages (the soak prints them). */
  errorSamples: string[];
}

/**
 * `concurrency` workers each call `op` in a loop until `seconds` have passed (a closed loop: a
 * worker sends its next request when the last one is answered). An operation that throws counts
 * as an error, never as a completed operation.
 */
export async function closedLoop(op: (worker: number, i: number) => Promise<void>, options: { concurrency: number; seconds: number }): Promise<LoadResult> {
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  const started = process.hrtime.bigint();
  const end = Date.now() + options.seconds * 1000;
  let counter = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, worker) => {
      while (Date.now() < end) {
        const t0 = process.hrtime.bigint();
        try {
          await op(worker, counter++);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } catch (err) {
          errors++;
          if (errorSamples.length < 5) errorSamples.push(err instanceof Error ? err.message : String(err));
        }
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  return { operations: latencies.length, errors, seconds: round(seconds), perSecond: round(latencies.length / seconds, 1), p50ms: round(percentile(latencies, 50)), p99ms: round(percentile(latencies, 99)), errorSamples };
}

/** Latencies of `count` operations one after another (fewer if `maxSeconds` run out first). */
export async function sequential(count: number, op: (i: number) => Promise<void>, maxSeconds = Infinity): Promise<{ p50ms: number; p99ms: number; count: number }> {
  const latencies: number[] = [];
  const end = Date.now() + maxSeconds * 1000;
  for (let i = 0; i < count && (i < 5 || Date.now() < end); i++) {
    const t0 = process.hrtime.bigint();
    await op(i);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  latencies.sort((a, b) => a - b);
  return { count: latencies.length, p50ms: round(percentile(latencies, 50)), p99ms: round(percentile(latencies, 99)) };
}

/** Resident set size of a process, in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Math.round(Number(m[1]) / 1024);
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak and the samples. */
export function rssSampler(pid: number, everyMs = 250): { stop(): { peakMiB: number; samples: number[] } } {
  const samples: number[] = [];
  const timer = setInterval(() => {
    try {
      samples.push(rssMiB(pid));
    } catch {
      /* the process ended; the caller sees it elsewhere */
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { peakMiB: samples.length ? Math.max(...samples) : NaN, samples };
    },
  };
}

/** What the service process prints once it listens (bench/support/service-process.ts). */
export interface ServiceReady {
  url: string;
  pid: number;
  issuerId: string;
  /** DER of the issuing CA certificate, base64 (OCSP CertIDs). */
  issuerDer: string;
  portal: { clientId: string; secret: string; redirectUri: string };
  machine: { clientId: string; secret: string };
  officer: { clientId: string; secret: string };
  official: { login: string; password: string };
  /** BENCH_ACCOUNTS officials, each with a password and a registered software passkey; `sub`: the ID token's subject (the account's id). */
  accounts?: Array<{ login: string; password: string; sub: string; passkey: SoftAuthenticatorState }>;
  /** Synthetic registry rows written before listening, and how long that took. */
  synthetic: {
    count: number;
    seconds: number;
    sample: Array<{ serial: string; nationalId: string; holderName: string }>;
    /** Set when the rows came from a prepared registry (bench/support/prepared-registry.ts): its key, and the checks and ANALYZE on the copy. */
    prepared?: { key: string; seconds: number };
  };
}

export interface ServiceProcess {
  ready: ServiceReady;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts bench/support/service-process.ts with `env` (DATABASE_URL or a DATA_DIR of its own) and
 * waits for its ready line. Its stdout/stderr are kept (the last 20 KB) for error messages.
 */
export async function startServiceProcess(env: Record<string, string>, timeoutMs = 900_000, nodeFlags: string[] = []): Promise<ServiceProcess> {
  // Only what the caller names: a DATABASE_URL or DATA_DIR of the shell must not become the
  // service's (the bench writes clients and rows there); scratch databases are passed explicitly.
  const inherited = { ...process.env };
  delete inherited.DATABASE_URL;
  delete inherited.DATA_DIR;
  // BENCH_SERVICE_PROFILE=<dir>: the service process writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_SERVICE_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVICE_PROFILE}`] : [];
  // From the compiled build when dist/ is current, as `tinnhiem serve` runs (bench/support/hosted.ts).
  const entry = await hostedEntry('bench/support/service-process.ts');
  const child = spawn(process.execPath, [...profile, ...nodeFlags, ...entry], {
    cwd: repoRoot,
    env: { ...inherited, ...hostedEnv(), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString()).slice(-20_000);
  };
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // A benchmark that crashes must not leave the service running (it stops itself on SIGTERM).
  const orphanGuard = () => child.kill('SIGTERM');
  process.on('exit', orphanGuard);
  void exited.then(() => process.off('exit', orphanGuard));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the service process was not ready within ${timeoutMs / 1000} s:\n${out}`));
    }, timeoutMs);
    let buffer = '';
    child.stdout!.on('data', (c: Buffer) => {
      keep(c);
      buffer += c.toString();
      const m = /^BENCH-READY (.*)\n/m.exec(buffer);
      if (m) {
        clearTimeout(timer);
        buffer = '';
        resolve({
          ready: JSON.parse(m[1]) as ServiceReady,
          child,
          output: () => out,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
            if (code === 'timeout') child.kill('SIGKILL');
          },
        });
      }
    });
    child.stderr!.on('data', keep);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the service process exited with ${code} before it was ready:\n${out}`));
    });
  });
}

export const wrkVersion = () => (spawnSync('wrk', ['-v']).stdout?.toString() ?? '').split('\n')[0] || 'wrk';

/** Every non-2xx answer is an error in a benchmark: read the body for the message. */
export async function expectOk(res: Response, what: string): Promise<Response> {
  if (res.ok) return res;
  const body = await res.text().catch(() => '');
  throw new Error(`${what}: HTTP ${res.status} ${body.slice(0, 200)}`);
}

/** Raw ECDSA P-256 `crypto.sign` per second of a TBSCertificate-sized buffer: the ceiling of any issuance. */
export function rawSignRate(ms = 2000): number {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.alloc(600, 7);
  let n = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    sign('sha256', data, privateKey);
    n++;
  }
  return n / (ms / 1000);
}
