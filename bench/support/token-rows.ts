/**
 * The token endpoint rows of bench/service.ts: client credentials over keep-alive connections
 * (wrk) and with one TCP connection per request (ab without -k), and refresh grants with rotation
 * (wrk, each answer's refresh token used by the next request), each against the bare
 * oidc-provider (bench/support/bare-provider.ts) driven the same way in the same run.
 */
import { readFileSync } from 'node:fs';
import * as client from 'openid-client';
import { Browser, codeLogin, type BrowserTransport } from '../../test/support/oidc-rp.js';
import type { BareReady } from './bare-process.js';
import type { ServiceReady } from './bench-kit.js';
import { round } from './bench-kit.js';
import { abPost, wrkPost, type NativeLoad, type PostSpec } from './load-generators.js';
import type { SummaryRow } from './summary-rows.js';

export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

const FORM = 'application/x-www-form-urlencoded';
export const CC_BODY = 'grant_type=client_credentials&scope=certs%3Aread%20signatures%3Avalidate';

/**
 * A load's figures with the CPU its server process spent per request (user + system, ms) and,
 * for the service on PostgreSQL, the CPU of its database's server processes per request.
 */
export type TokenLoad = NativeLoad & { cpuMsPerRequest: number; databaseCpuMsPerRequest?: number };

/** User + system CPU time of a process so far, in ms (Linux: /proc/<pid>/stat, 100 ticks a second). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Runs `load` and adds the CPU the process `pid` spent on it per request. On a shared machine the
 * rates of the two processes swing with what else runs (the same code measured 0.43 and 0.68 of
 * the bare provider in two runs of one evening), while the CPU per request moves far less: it
 * says what a change costs or saves per grant.
 */
async function withCpu(pid: number, load: () => Promise<NativeLoad>, databaseCpu?: () => Promise<number>): Promise<TokenLoad> {
  const before = cpuMs(pid);
  const dbBefore = await databaseCpu?.();
  const result = await load();
  const cpuMsPerRequest = result.requests ? round((cpuMs(pid) - before) / result.requests, 3) : NaN;
  if (dbBefore === undefined || !databaseCpu) return { ...result, cpuMsPerRequest };
  return { ...result, cpuMsPerRequest, databaseCpuMsPerRequest: result.requests ? round(((await databaseCpu()) - dbBefore) / result.requests, 3) : NaN };
}

/** The median, least and greatest of some figures (an even count: the mean of the middle two). */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** "0.82 (0.76–0.90)": a median and its range. */
export const spreadText = (s: Spread) => `${s.median} (${s.min}–${s.max})`;

export function spread(xs: readonly number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return { median: round(s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2), min: round(s[0]), max: round(s[s.length - 1]) };
}

/** One pair of turns: the service's and the reference's, back to back, `first` ran first. */
export interface TurnPair {
  first: 'ours' | 'bare';
  ours: TokenLoad;
  bare: TokenLoad;
  /** ours ÷ bare, requests per second. */
  ratio: number;
  /** bare ÷ ours, CPU per request: the same ratio by the servers' CPU instead of the wall clock. */
  cpuRatio: number;
}

export interface TokenRow {
  grant: string;
  generator: string;
  /** Totals over the row's turns (rates) and the median turn's latencies. */
  ours: TokenLoad;
  bare: TokenLoad;
  /** The row's figure: the median of its pairs' rate ratios; `ratioSpread` their least and greatest. */
  ratio: number;
  ratioSpread: Spread;
  cpuRatio: Spread;
  pairs: TurnPair[];
  aim: number;
}

const ccSpec = (base: string, c: { clientId: string; secret: string }): PostSpec => ({
  url: `${base}/oidc/token`,
  headers: { authorization: basic(c.clientId, c.secret), 'content-type': FORM },
  body: CC_BODY,
});

/** A spot check before the load: the grant answers with a JWT access token (three parts). */
async function checkCc(spec: PostSpec): Promise<void> {
  const res = await fetch(spec.url, { method: 'POST', headers: spec.headers, body: spec.body });
  const body = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || body.access_token?.split('.').length !== 3) throw new Error(`client credentials at ${spec.url}: ${res.status} ${JSON.stringify(body)}`);
}

/** Refresh tokens of the bare provider: code + PKCE through its trivial login step. */
async function bareRefreshTokens(bare: BareReady, count: number): Promise<string[]> {
  const config = await client.discovery(new URL(bare.issuer), bare.portal.clientId, {}, client.ClientSecretBasic(bare.portal.secret), { execute: [client.allowInsecureRequests] });
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push((await bareCodeFlow(config, bare.portal.redirectUri, i)).refresh_token!);
  return tokens;
}

/** One whole code + PKCE flow at the bare provider (its login step finishes at once). */
export async function bareCodeFlow(config: client.Configuration, redirectUri: string, account: number, offline = true, transport?: BrowserTransport): Promise<client.TokenEndpointResponse> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    // As the service's rows: a refresh token (offline_access, consent) for the refresh pool; the
    // passkey row's flow asks for `openid profile` only.
    ...(offline ? { scope: 'openid profile email offline_access', prompt: 'consent' } : { scope: 'openid profile' }),
    login_hint: String(account),
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const { stoppedAt } = await new Browser({ transport }).follow(url, redirectUri);
  if (!stoppedAt) throw new Error('the bare provider did not redirect back');
  const tokens = await client.authorizationCodeGrant(config, stoppedAt, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
  if (offline && !tokens.refresh_token) throw new Error('the bare provider issued no refresh token');
  return tokens;
}

/**
 * The reference and the service in `rounds` pairs of turns, back to back, the order alternated
 * from pair to pair (reference first in the first): on this shared machine one 10-second run per
 * row swung by about 0.1 from run to run, so a row's figure is the median of its pairs' ratios,
 * each pair measured within a few seconds, with their spread beside it (docs/performance.md,
 * "Method"). No pair is dropped or chosen.
 */
async function paired(rounds: number, pids: { ours: number; bare: number; databaseCpu?: () => Promise<number> }, reference: () => Promise<NativeLoad>, ours: () => Promise<NativeLoad>): Promise<Pick<TokenRow, 'ours' | 'bare' | 'ratio' | 'ratioSpread' | 'cpuRatio' | 'pairs'>> {
  const pairs: TurnPair[] = [];
  for (let i = 0; i < rounds; i++) {
    const first = i % 2 ? 'ours' : 'bare';
    const turn = { bare: () => withCpu(pids.bare, reference), ours: () => withCpu(pids.ours, ours, pids.databaseCpu) };
    const one = await turn[first]();
    const other = await turn[first === 'bare' ? 'ours' : 'bare']();
    const [o, b] = first === 'ours' ? [one, other] : [other, one];
    pairs.push({ first, ours: o, bare: b, ratio: round(o.perSecond / b.perSecond), cpuRatio: round(b.cpuMsPerRequest / o.cpuMsPerRequest) });
  }
  const ratioSpread = spread(pairs.map((p) => p.ratio));
  return { ours: combine(pairs.map((p) => p.ours)), bare: combine(pairs.map((p) => p.bare)), ratio: ratioSpread.median, ratioSpread, cpuRatio: spread(pairs.map((p) => p.cpuRatio)), pairs };
}

function combine(loads: TokenLoad[]): TokenLoad {
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const requests = loads.reduce((a, l) => a + l.requests, 0);
  const seconds = loads.reduce((a, l) => a + l.seconds, 0);
  const cpu = loads.reduce((a, l) => a + l.cpuMsPerRequest * l.requests, 0);
  const database = loads.every((l) => l.databaseCpuMsPerRequest !== undefined) ? loads.reduce((a, l) => a + l.databaseCpuMsPerRequest! * l.requests, 0) : undefined;
  return {
    ...loads[0],
    requests,
    errors: loads.reduce((a, l) => a + l.errors, 0),
    seconds: round(seconds),
    perSecond: round(requests / seconds, 1),
    p50ms: mid(loads.map((l) => l.p50ms)),
    p99ms: mid(loads.map((l) => l.p99ms)),
    cpuMsPerRequest: requests ? round(cpu / requests, 3) : NaN,
    ...(database === undefined ? {} : { databaseCpuMsPerRequest: requests ? round(database / requests, 3) : NaN }),
  };
}

/**
 * `databaseCpu`: the CPU (ms) the service's database server processes have spent so far, when
 * they run on this machine (PostgreSQL); the rows then give it per request beside the service's.
 * BENCH_TOKEN_GRANTS=refresh (or `client_credentials`) limits the rows to those grants.
 */
export async function tokenRows(ready: ServiceReady, bare: BareReady, seconds: number, log: (line: string) => void, databaseCpu?: () => Promise<number>): Promise<TokenRow[]> {
  const grants = new Set((process.env.BENCH_TOKEN_GRANTS ?? 'client_credentials,refresh').split(','));
  const rows: TokenRow[] = [];
  const row = (grant: string, generator: string, measured: Awaited<ReturnType<typeof paired>>, aim: number) => {
    const r = { grant, generator, ...measured, aim };
    rows.push(r);
    const { ours, bare: ref } = r;
    const db = ours.databaseCpuMsPerRequest === undefined ? '' : ` (PostgreSQL ${ours.databaseCpuMsPerRequest} ms)`;
    log(`  ${`${grant} (${generator})`.padEnd(58)} ours ${ours.perSecond}/s p50 ${ours.p50ms} ms, CPU ${ours.cpuMsPerRequest} ms/request${db}, errors ${ours.errors} | bare ${ref.perSecond}/s p50 ${ref.p50ms} ms, CPU ${ref.cpuMsPerRequest} ms/request, errors ${ref.errors}`);
    log(`    ratio ${spreadText(r.ratioSpread)} over ${r.pairs.length} pairs (aim ≥ ${aim}); by CPU ${spreadText(r.cpuRatio)}; pairs ${r.pairs.map((p) => `${p.ratio}${p.first === 'ours' ? '*' : ''}`).join(' ')} (* ours first)`);
  };
  const pids = { ours: ready.pid, bare: bare.pid, databaseCpu };
  const ours = ccSpec(ready.url, ready.machine);
  const ref = ccSpec(bare.url, bare.machine);
  await checkCc(ours);
  await checkCc(ref);
  // Six pairs of 3-second turns per row by default (`seconds` 10): 36 s a row, against 20 s for
  // the two pairs of 5 s before, which left a row's figure to one or two bursts of other work.
  const rounds = Number(process.env.BENCH_TOKEN_ROUNDS ?? 6);
  const keep = { connections: 16, seconds: Math.max(2, Math.round(seconds * 0.3)) };
  // A warm-up turn each, not counted: the first seconds of a process measure its JIT compiler,
  // and the service has more code to compile than the bare provider.
  for (const spec of [ref, ours]) await wrkPost(spec, { connections: 16, seconds: 2 });
  if (grants.has('client_credentials')) {
    const cc = await paired(rounds, pids, () => wrkPost(ref, keep), () => wrkPost(ours, keep));
    row('client credentials', 'wrk, 16 keep-alive connections', cc, 0.8);
    const fresh = { concurrency: 16, seconds: keep.seconds };
    const ccFresh = await paired(rounds, pids, () => abPost(ref, fresh), () => abPost(ours, fresh));
    row('client credentials', 'ab, a new connection per request, 16 in flight', ccFresh, 0.8);
  }
  if (!grants.has('refresh')) return rows;

  // Refresh with rotation: 16 tokens per turn and 16 more in the pool (16 connections), each
  // answer's token reused; the pool a turn ends with is the next turn's (in-flight ones are lost).
  const pool = 16 * (rounds + 1);
  const portalConfig = await client.discovery(new URL(`${ready.url}/oidc`), ready.portal.clientId, {}, client.ClientSecretBasic(ready.portal.secret), { execute: [client.allowInsecureRequests] });
  const ourTokens: string[] = [];
  for (let i = 0; i < pool; i++) ourTokens.push((await codeLogin(portalConfig, new Browser(), ready.portal.redirectUri, ready.official, { prompt: 'consent' })).tokens.refresh_token!);
  const bareTokens = await bareRefreshTokens(bare, pool);
  const refreshSpec = (base: string, c: { clientId: string; secret: string }): PostSpec => ({ url: `${base}/oidc/token`, headers: { authorization: basic(c.clientId, c.secret), 'content-type': FORM }, body: 'grant_type=refresh_token' });
  const refresh = await paired(
    rounds,
    pids,
    () => wrkPost(refreshSpec(bare.url, bare.portal), { ...keep, rotate: { field: 'refresh_token', answer: 'refresh_token', pool: bareTokens } }),
    () => wrkPost(refreshSpec(ready.url, ready.portal), { ...keep, rotate: { field: 'refresh_token', answer: 'refresh_token', pool: ourTokens } }),
  );
  row('refresh (rotating)', 'wrk, 16 keep-alive connections', refresh, 0.5);
  return rows;
}

/** The token rows as `summary` rows: ours against the bare oidc-provider of the same run (issue 20, acceptance 1). */
export function tokenSummary(rows: readonly TokenRow[]): SummaryRow[] {
  return rows.map((r) => {
    const valid = r.ours.errors === 0 && r.bare.errors === 0;
    return {
      measure: `token endpoint: ${r.grant} (${r.generator})`,
      result: `${r.ours.perSecond}/s${valid ? '' : ` (${r.ours.errors + r.bare.errors} errors)`}`,
      reference: `bare oidc-provider, same run, turns alternated: ${r.bare.perSecond}/s`,
      // The median pair's ratio, the least and greatest pair's beside it (the same run's spread).
      ratio: `${r.ratio}× (${r.ratioSpread.min}–${r.ratioSpread.max}, ${r.pairs.length} pairs)`,
      aim: `≥ ${r.aim}×`,
      met: valid ? r.ratio >= r.aim : null,
    };
  });
}
