/**
 * The login rows of bench/service.ts, driven by bench/support/login-driver.ts in a process of its
 * own: password logins against the scrypt bound (hashes/s of the service's own parameters, at
 * the service's hash concurrency, measured on this machine in the same run), and passkey logins
 * against the same flow through the bare provider with its trivial login step.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { BareReady } from './bare-process.js';
import { hostedEntry, hostedEnv } from './hosted.js';
import { repoRoot, round, type LoadResult, type ServiceReady } from './bench-kit.js';
import type { LoginJob } from './login-driver.js';
import type { SummaryRow } from './summary-rows.js';

/** User + system CPU time of a process so far, in ms (Linux: /proc/<pid>/stat, 100 ticks a second). */
function cpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/stat`);
}

/** The same for the process's main thread alone (its JavaScript; the rest is libuv's pool, V8's helpers). */
function mainThreadCpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/task/${pid}/stat`);
}

function statCpuMs(path: string): number {
  const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * A login load with the CPU spent per flow by the server process (`serverPid`), by the driver,
 * and (when the row is given a reader of it) by the PostgreSQL backends of the service's database.
 */
export type LoginLoad = LoadResult & { serverCpuMs: number; serverMainCpuMs: number; driverCpuMs: number; databaseCpuMs?: number };

/** The driver run against the server process `serverPid`, with the CPU both spent on the measured flows. */
export async function driveLogins(job: LoginJob, serverPid: number, databaseCpu?: () => Promise<number>): Promise<LoginLoad> {
  let before = cpuMs(serverPid);
  let mainBefore = mainThreadCpuMs(serverPid);
  let databaseBefore: Promise<number> | undefined;
  // The server's CPU from the end of the driver's warm-up (it prints WARM when its measured loop starts).
  const result = await runLoginDriver(job, () => {
    before = cpuMs(serverPid);
    mainBefore = mainThreadCpuMs(serverPid);
    databaseBefore = databaseCpu?.();
  });
  const serverCpuMs = cpuMs(serverPid) - before;
  const serverMainCpuMs = mainThreadCpuMs(serverPid) - mainBefore;
  if (!databaseCpu || !databaseBefore) return { ...result, serverCpuMs, serverMainCpuMs };
  return { ...result, serverCpuMs, serverMainCpuMs, databaseCpuMs: (await databaseCpu()) - (await databaseBefore) };
}

export function runLoginDriver(job: LoginJob, onWarm?: () => void): Promise<LoadResult & { driverCpuMs: number }> {
  return new Promise((resolve, reject) => {
    // BENCH_DRIVER_PROFILE=<dir>: each driver process writes a V8 CPU profile there.
    const profile = process.env.BENCH_DRIVER_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_DRIVER_PROFILE}`] : [];
    const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'bench/support/login-driver.ts'], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let warm = false;
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (!warm && out.includes('LOGIN-WARM\n')) {
        warm = true;
        onWarm?.();
      }
    });
    child.stderr.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-5000)));
    child.on('exit', (code) => {
      const m = /LOGIN-RESULT (.*)\n/.exec(out);
      if (m) resolve(JSON.parse(m[1]) as LoadResult & { driverCpuMs: number });
      else reject(new Error(`the login driver exited with ${code}:\n${out.slice(-3000)}`));
    });
    child.stdin.end(JSON.stringify(job));
  });
}

/**
 * scrypt hashes per second with the service's parameters (src/accounts/password.ts), `concurrency`
 * at a time on libuv's pool as the service runs them (LOGIN_HASH_CONCURRENCY, default 2), in a
 * process hosted as the service is (bench/support/scrypt-bound.ts).
 */
export async function scryptBound(concurrency: number, seconds: number): Promise<{ perSecond: number; cpuMsPerHash: number }> {
  const entry = await hostedEntry('bench/support/scrypt-bound.ts');
  const child = spawn(process.execPath, [...entry, String(concurrency), String(seconds)], { cwd: repoRoot, env: { ...process.env, ...hostedEnv() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const m = /^SCRYPT-BOUND (.*)$/m.exec(out);
  if (code !== 0 || !m) throw new Error(`the scrypt bound failed (exit ${code}):\n${out.slice(-2000)}`);
  return JSON.parse(m[1]) as { perSecond: number; cpuMsPerHash: number };
}

/** Seconds of uncounted flows at the start of each driver process (its JIT compiler's warm-up). */
export const LOGIN_WARMUP_SECONDS = 2;

/** Password flows in flight per verification slot (LOGIN_HASH_CONCURRENCY); BENCH_PASSWORD_FLOWS_PER_SLOT for a trial of another. */
export const PASSWORD_FLOWS_PER_SLOT = Number(process.env.BENCH_PASSWORD_FLOWS_PER_SLOT ?? 4);

/** The password rows: the portal's flow (the passkey row's but for its login step), counted against the aim; the flow with a consent page, informing. */
export const PASSWORD_ROW = 'authorization-code login with password (PKCE), the portal flow of the passkey row';
export const PASSWORD_CONSENT_ROW = 'password login with a consent page (third-party style)';

export interface LoginRow {
  login: string;
  ours: LoginLoad;
  reference: { name: string; perSecond: number; load?: LoginLoad };
  ratio: number;
  /** The issue's bound for the ratio; null for a row that only informs. */
  aim: number | null;
  /**
   * CPU ms per flow (a steadier figure than rates on a shared machine): the server process's
   * (a password flow's includes its hash on libuv's pool) and the driver's, for ours and the
   * reference; for the scrypt bound, the CPU of one hash.
   */
  cpuMsPerFlow: { server: number; serverMain: number; driver: number; reference: number; referenceDriver?: number; database?: number };
}

/**
 * The password rows' turns, each the counted flow then the consent flow, with the scrypt bound
 * read before each turn and once more after the last; each turn is set against the mean of the
 * readings on either side of it. The hash's cost drifts by up to a third over minutes on a shared
 * machine (docs/performance.md, "Password login, eighteenth pass"): a reading taken only before a
 * turn set the flows of one window against the hashes of another.
 */
async function passwordTurnsBetweenBounds(job: LoginJob, turns: number, hashConcurrency: number, pid: number, databaseCpu?: () => Promise<number>) {
  const bounds: number[] = [];
  const hashCpu: number[] = [];
  const passwordTurns: LoginLoad[] = [];
  const consentTurns: LoginLoad[] = [];
  for (let i = 0; i <= turns; i++) {
    const b = await scryptBound(hashConcurrency, Math.min(job.seconds, 5));
    bounds.push(b.perSecond);
    hashCpu.push(b.cpuMsPerHash);
    if (i === turns) break;
    passwordTurns.push(await driveLogins({ ...job, kind: 'password' }, pid, databaseCpu));
    consentTurns.push(await driveLogins({ ...job, kind: 'password-consent' }, pid, databaseCpu));
  }
  const bracketed = (readings: number[]) => readings.slice(1).reduce((a, after, i) => a + (readings[i] + after) / 2, 0) / (readings.length - 1);
  return { bound: bracketed(bounds), oneHash: round(bracketed(hashCpu), 1), passwordTurns, consentTurns };
}

export async function loginRows(ready: ServiceReady, bare: BareReady, seconds: number, hashConcurrency: number, log: (line: string) => void, databaseCpu?: () => Promise<number>): Promise<LoginRow[]> {
  const accounts = ready.accounts ?? [];
  if (accounts.length < 8) throw new Error('the login rows need BENCH_ACCOUNTS ≥ 8 in the service process');
  const ours = { issuer: `${ready.url}/oidc`, client: ready.portal, accounts: accounts.map(({ login, password, sub }) => ({ login, password, sub })), passkeys: [] };
  const rows: LoginRow[] = [];
  // Ours and the reference take turns (BENCH_LOGIN_TURNS, half a row's seconds each by default):
  // on a machine loaded by others the load moves within a minute, and a reference measured only
  // before the row then sets the ratio more than the service does.
  const turns = Math.max(1, Number(process.env.BENCH_LOGIN_TURNS ?? 2));
  const turn = seconds / turns;
  // Password: enough flows in flight that a verification slot is never idle (a whole flow spends
  // more time in its ten other requests than in its hash: with one flow more than the slots, the
  // hashes ran less than half the time); the rest wait in the hash queue (LOGIN_HASH_WAIT_MS is
  // raised for the bench, so none is shed).
  // The counted row is the portal's flow, the passkey row's (`openid profile`, no prompt: a
  // first-party portal never sees a consent page); the flow with a forced consent page (a
  // third-party portal's, the row's flow until 2026-12-06) follows it in each turn as a row of its
  // own, without an aim, against the same bound.
  // The wrong password each driver process submits first goes to an account of its own (the last),
  // outside the counted rotation: the failure it leaves made every 16th counted login a suspect in
  // the hash queue (which starts a suspect only when no hash runs), so that login waited for the
  // queue to empty, at the end of the turn, and ran its hash alone (docs/performance.md,
  // "Password login, eighth pass").
  // BENCH_LOGIN_ROWS=passkey: the passkey row alone (A/B pairs of the passkey flow, without the password rows' minutes).
  const passwordRows = process.env.BENCH_LOGIN_ROWS !== 'passkey';
  const probe = ours.accounts[ours.accounts.length - 1];
  const passwordJob: LoginJob = { kind: 'password', ...ours, accounts: ours.accounts.slice(0, -1), probe, concurrency: PASSWORD_FLOWS_PER_SLOT * hashConcurrency, seconds: turn, warmupSeconds: LOGIN_WARMUP_SECONDS };
  const { bound, oneHash, passwordTurns, consentTurns } = passwordRows ? await passwordTurnsBetweenBounds(passwordJob, turns, hashConcurrency, ready.pid, databaseCpu) : { bound: NaN, oneHash: NaN, passwordTurns: [], consentTurns: [] };
  const scryptReference = { name: `scrypt N=2^15 r=8 p=3, ${hashConcurrency} at a time`, perSecond: round(bound, 1) };
  const hashCpuOf = (load: LoginLoad) => ({ server: perFlow(load.serverCpuMs, load), serverMain: perFlow(load.serverMainCpuMs, load), driver: perFlow(load.driverCpuMs, load), reference: oneHash, ...databasePerFlow(load) });
  if (passwordRows) {
    const password = combine(passwordTurns);
    rows.push({ login: PASSWORD_ROW, ours: password, reference: scryptReference, ratio: round(password.perSecond / bound), aim: 0.9, cpuMsPerFlow: hashCpuOf(password) });
    const consent = combine(consentTurns);
    rows.push({ login: PASSWORD_CONSENT_ROW, ours: consent, reference: scryptReference, ratio: round(consent.perSecond / bound), aim: null, cpuMsPerFlow: hashCpuOf(consent) });
  }
  // Passkey: the same driver against both, 8 flows in flight, one authenticator per flow at a time.
  // The login page's autofill; with BENCH_PASSKEY_LINK=1 also, in turns with it, the passkey page
  // (the link beside the autofill, one request more): its row has no aim of its own.
  const withLink = process.env.BENCH_PASSKEY_LINK === '1';
  const bareTurns: LoginLoad[] = [];
  const passkeyTurns: LoginLoad[] = [];
  const linkTurns: LoginLoad[] = [];
  for (let i = 0; i < turns; i++) {
    bareTurns.push(await driveLogins({ kind: 'bare', issuer: bare.issuer, client: bare.portal, accounts: [], passkeys: [], concurrency: 8, seconds: turn, warmupSeconds: LOGIN_WARMUP_SECONDS }, bare.pid));
    passkeyTurns.push(await driveLogins({ kind: 'passkey', ...ours, passkeys: accounts.map((a) => a.passkey), concurrency: 8, seconds: turn, warmupSeconds: LOGIN_WARMUP_SECONDS, counterFrom: (2 * i) * 1_000_000 }, ready.pid, databaseCpu));
    if (withLink) linkTurns.push(await driveLogins({ kind: 'passkey', route: 'link', ...ours, passkeys: accounts.map((a) => a.passkey), concurrency: 8, seconds: turn, warmupSeconds: LOGIN_WARMUP_SECONDS, counterFrom: (2 * i + 1) * 1_000_000 }, ready.pid, databaseCpu));
  }
  const bareLoad = combine(bareTurns);
  const reference = { name: 'bare oidc-provider, same flow, trivial login step', perSecond: bareLoad.perSecond, load: bareLoad };
  const cpuOf = (load: LoginLoad) => ({ server: perFlow(load.serverCpuMs, load), serverMain: perFlow(load.serverMainCpuMs, load), driver: perFlow(load.driverCpuMs, load), reference: perFlow(bareLoad.serverCpuMs, bareLoad), referenceDriver: perFlow(bareLoad.driverCpuMs, bareLoad), ...databasePerFlow(load) });
  const passkey = combine(passkeyTurns);
  rows.push({ login: 'authorization-code login with a passkey (PKCE)', ours: passkey, reference, ratio: round(passkey.perSecond / bareLoad.perSecond), aim: 0.5, cpuMsPerFlow: cpuOf(passkey) });
  if (withLink) {
    const link = combine(linkTurns);
    rows.push({ login: 'the same through the passkey page (link)', ours: link, reference, ratio: round(link.perSecond / bareLoad.perSecond), aim: 0.5, cpuMsPerFlow: cpuOf(link) });
  }
  for (const r of rows) {
    const c = r.cpuMsPerFlow;
    const db = c.database === undefined ? '' : `, PostgreSQL ${c.database}`;
    const cpu = c.referenceDriver === undefined ? `CPU ms/flow: server ${c.server} (main thread ${c.serverMain}; one hash ${c.reference}), driver ${c.driver}${db}` : `CPU ms/flow: server ${c.server} (main thread ${c.serverMain}) vs ${c.reference}, driver ${c.driver} vs ${c.referenceDriver}${db}`;
    log(`  ${r.login.padEnd(58)} ours ${r.ours.perSecond}/s p50 ${r.ours.p50ms} ms, errors ${r.ours.errors} | ${r.reference.name}: ${r.reference.perSecond}/s | ratio ${r.ratio} (${r.aim === null ? 'no aim' : `aim ≥ ${r.aim}`}) | ${cpu}`);
  }
  for (const r of rows) if (r.ours.errors) log(`    first errors: ${r.ours.errorSamples.join(' | ')}`);
  if (bareLoad.errors) log(`    bare errors: ${bareLoad.errorSamples.join(' | ')}`);
  return rows;
}

const perFlow = (ms: number, load: LoadResult) => (load.operations ? round(ms / load.operations, 1) : NaN);
/** The PostgreSQL backends' CPU per flow, when it was read. */
const databasePerFlow = (load: LoginLoad) => (load.databaseCpuMs === undefined ? {} : { database: perFlow(load.databaseCpuMs, load) });

/** Turns of one load as one: their operations over their seconds; p50 weighted by operations, the worst p99; CPU summed. */
function combine(turns: LoginLoad[]): LoginLoad {
  const operations = turns.reduce((a, t) => a + t.operations, 0);
  const seconds = turns.reduce((a, t) => a + t.seconds, 0);
  return {
    operations,
    errors: turns.reduce((a, t) => a + t.errors, 0),
    seconds,
    perSecond: round(operations / seconds, 1),
    p50ms: round(turns.reduce((a, t) => a + t.p50ms * t.operations, 0) / Math.max(1, operations), 1),
    p99ms: Math.max(...turns.map((t) => t.p99ms)),
    errorSamples: turns.flatMap((t) => t.errorSamples).slice(0, 5),
    serverCpuMs: turns.reduce((a, t) => a + t.serverCpuMs, 0),
    serverMainCpuMs: turns.reduce((a, t) => a + t.serverMainCpuMs, 0),
    driverCpuMs: turns.reduce((a, t) => a + t.driverCpuMs, 0),
    ...(turns.every((t) => t.databaseCpuMs !== undefined) ? { databaseCpuMs: turns.reduce((a, t) => a + t.databaseCpuMs!, 0) } : {}),
  };
}

/** The login rows as `summary` rows: each flow's rate against its reference in the same run. */
export function loginSummary(rows: LoginRow[]): SummaryRow[] {
  return rows.map((r) => {
    const valid = !r.ours.errors && !(r.reference.load?.errors ?? 0) && r.reference.perSecond > 0;
    return {
      measure: r.login,
      result: `${r.ours.perSecond}/s (p50 ${r.ours.p50ms} ms${r.ours.errors ? `, ${r.ours.errors} errors` : ''})`,
      reference: `${r.reference.name}: ${r.reference.perSecond}/s`,
      ratio: `${r.ratio}×`,
      aim: r.aim === null ? '' : `≥ ${r.aim}×`,
      met: valid && r.aim !== null ? r.ratio >= r.aim : null,
    };
  });
}
