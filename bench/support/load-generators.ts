/**
 * Native load generators in processes of their own, so a token row measures the server and not
 * the client (docs/performance.md, "Method"): `wrk` (keep-alive connections, a Lua script for the
 * request and, for rotating refresh tokens, for the answer) and `ab` without `-k` (a new TCP
 * connection for every request). Both run on the same cores as the server: the service and its
 * reference are driven by the same generator with the same settings.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { round } from './bench-kit.js';

export interface NativeLoad {
  tool: 'wrk' | 'ab';
  requests: number;
  /** Non-2xx answers, socket errors and timeouts; a row with errors is not valid. */
  errors: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  connections: number;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const luaString = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * What wrk prints at the end (its `done` callback): one JSON line; with a pool (see wrkPost), the
 * answers without a new value (from every thread) and what is left of each thread's pool.
 */
const done = (withPool: boolean) => `
done = function(summary, latency, requests)
  local e = summary.errors
  local bad = 0
  ${withPool ? 'for _, t in ipairs(threads) do bad = bad + t:get("bad_total"); io.write("WRK-POOL " .. table.concat(t:get("pool"), " ") .. "\\n") end' : ''}
  io.write(string.format('WRK-JSON {"requests":%d,"micros":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50":%d,"p99":%d,"bad":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout, latency:percentile(50), latency:percentile(99), bad))
end
`;

export interface PostSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * wrk over `connections` keep-alive connections for `seconds`. With `rotate`, the form field
 * `rotate.field` of every request takes a value from a pool (one per connection and more), and
 * each answer's `rotate.answer` JSON member goes back into the pool: a rotating refresh token is
 * spent by the request and its successor comes with the answer. `rotate.pool` is left holding
 * what remains at the end (for the next run).
 */
export async function wrkPost(spec: PostSpec, options: { connections: number; seconds: number; rotate?: { field: string; answer: string; pool: string[] } }): Promise<NativeLoad> {
  const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-wrk-'));
  try {
    const headers = Object.entries(spec.headers)
      .map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`)
      .join('\n');
    let script = `wrk.method = "POST"\n${headers}\nwrk.body = ${luaString(spec.body)}\n`;
    if (options.rotate) {
      const poolFile = join(dir, 'pool.txt');
      writeFileSync(poolFile, `${options.rotate.pool.join('\n')}\n`);
      const { field, answer } = options.rotate;
      script += `
pool = {}
bad_total = 0
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args)
  for line in io.lines(${luaString(poolFile)}) do table.insert(pool, line) end
end
request = function()
  local v = table.remove(pool) or "none"
  return wrk.format(nil, nil, nil, ${luaString(spec.body)} .. "&${field}=" .. v)
end
response = function(status, headers, body)
  local v = string.match(body, '"${answer}":"([^"]+)"')
  if v then table.insert(pool, v) else bad_total = bad_total + 1 end
end
`;
    }
    script += done(!!options.rotate);
    const scriptFile = join(dir, 'load.lua');
    writeFileSync(scriptFile, script);
    // One thread: with a pool the thread's Lua state holds it; the generator takes one core at most.
    const { out } = await run('wrk', ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--timeout', '10s', '-s', scriptFile, spec.url], (options.seconds + 30) * 1000);
    const m = /WRK-JSON (\{.*\})/.exec(out);
    if (!m) throw new Error(`wrk gave no result:\n${out.slice(-2000)}`);
    const r = JSON.parse(m[1]) as Record<string, number>;
    if (options.rotate) {
      const left = /WRK-POOL ?(.*)\n/.exec(out)?.[1].split(' ').filter(Boolean) ?? [];
      options.rotate.pool.splice(0, options.rotate.pool.length, ...left);
    }
    const seconds = r.micros / 1e6;
    return {
      tool: 'wrk',
      requests: r.requests,
      errors: r.status + r.connect + r.read + r.write + r.timeout + r.bad,
      seconds: round(seconds),
      perSecond: round(r.requests / seconds, 1),
      p50ms: round(r.p50 / 1000),
      p99ms: round(r.p99 / 1000),
      connections: options.connections,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ab without keep-alive: every request opens (and closes) its own TCP connection. */
export async function abPost(spec: PostSpec, options: { concurrency: number; seconds: number }): Promise<NativeLoad> {
  const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-ab-'));
  try {
    const bodyFile = join(dir, 'body');
    writeFileSync(bodyFile, spec.body);
    const { 'content-type': type = 'application/x-www-form-urlencoded', ...rest } = Object.fromEntries(Object.entries(spec.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const headerArgs = Object.entries(rest).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
    const { code, out } = await run('ab', ['-q', '-r', '-l', '-s', '10', '-t', String(options.seconds), '-n', '50000000', '-c', String(options.concurrency), '-p', bodyFile, '-T', type, ...headerArgs, spec.url], (options.seconds + 30) * 1000);
    const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
    const requests = num(/Complete requests:\s+(\d+)/);
    if (code !== 0 || !Number.isFinite(requests)) throw new Error(`ab failed (${code}):\n${out.slice(-2000)}`);
    const non2xx = num(/Non-2xx responses:\s+(\d+)/);
    const failed = num(/Failed requests:\s+(\d+)/);
    const seconds = num(/Time taken for tests:\s+([\d.]+)/);
    return {
      tool: 'ab',
      requests,
      errors: (Number.isFinite(non2xx) ? non2xx : 0) + (Number.isFinite(failed) ? failed : 0),
      seconds: round(seconds),
      perSecond: round(requests / seconds, 1),
      p50ms: num(/^\s+50%\s+(\d+)/m),
      p99ms: num(/^\s+99%\s+(\d+)/m),
      connections: options.concurrency,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
