/**
 * Development tool (not part of `npm run bench`): the firm figures of the client-credentials grant
 * (docs/performance.md, "Token endpoint (client credentials), seventh pass"), which CPU timings on
 * the shared machine cannot give: promises made and bytes allocated per grant, in the service
 * process and in the bare oidc-provider, over COUNT_GRANTS keep-alive grants (16 in flight, a
 * `node:http` agent) after COUNT_WARMUP of warm-up. Both processes preload
 * bench/support/count-hooks.mjs. BENCH_DATABASE_URL as bench/service.ts.
 */
import 'reflect-metadata';
import http from 'node:http';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scratchDatabase, startServiceProcess } from './support/bench-kit.js';
import { startBareProvider } from './support/bare-process.js';
import { basic, CC_BODY } from './support/token-rows.js';

const GRANTS = Number(process.env.COUNT_GRANTS ?? 6000);
const WARMUP = Number(process.env.COUNT_WARMUP ?? 2000);
const dir = mkdtempSync(join(tmpdir(), 'token-counts-'));
const hooks = fileURLToPath(new URL('./support/count-hooks.mjs', import.meta.url));
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import=${hooks}`;
process.env.COUNT_HOOKS_FILE = join(dir, 'bare.json');
if (process.env.COUNT_HEAP_DIR) process.env.COUNT_HEAP_PROFILE = join(process.env.COUNT_HEAP_DIR, 'bare.heapprofile');
const DATABASE_URL = process.env.BENCH_DATABASE_URL;
const scratch = DATABASE_URL ? await scratchDatabase(DATABASE_URL, 'counts') : undefined;
const svc = await startServiceProcess({ TRUST_PROXY: '1', BENCH_ACCOUNTS: '0', COUNT_HOOKS_FILE: join(dir, 'service.json'), ...(process.env.COUNT_HEAP_DIR ? { COUNT_HEAP_PROFILE: join(process.env.COUNT_HEAP_DIR, 'service.heapprofile') } : {}), ...(scratch ? { DATABASE_URL: scratch.url } : {}) });
const bare = await startBareProvider();

interface Counts { at: number; promises: number; allocated: number; collections: number }
async function read(pid: number, file: string): Promise<Counts> {
  const before = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Counts).at : 0;
  process.kill(pid, 'SIGUSR2');
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    if (!existsSync(file)) continue;
    try {
      const c = JSON.parse(readFileSync(file, 'utf8')) as Counts;
      if (c.at !== before) return c;
    } catch {
      // written as we read: again
    }
  }
}

async function grants(url: string, auth: string, count: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const target = new URL(`${url}/oidc/token`);
  let left = count;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(target, { method: 'POST', agent, headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(CC_BODY) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { access_token?: string };
          if (res.statusCode !== 200 || !body.access_token) reject(new Error(`${res.statusCode} ${JSON.stringify(body)}`));
          else resolve();
        });
      });
      req.on('error', reject);
      req.end(CC_BODY);
    });
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (left-- > 0) await one();
  }));
  agent.destroy();
}

async function measure(name: string, url: string, pid: number, file: string, client: { clientId: string; secret: string }) {
  const auth = basic(client.clientId, client.secret);
  await grants(url, auth, WARMUP);
  const a = await read(pid, file);
  await grants(url, auth, GRANTS);
  const b = await read(pid, file);
  const line = `${name.padEnd(8)} promises/grant ${((b.promises - a.promises) / GRANTS).toFixed(1)}  KB allocated/grant ${((b.allocated - a.allocated) / GRANTS / 1024).toFixed(1)}  collections/1000 grants ${(((b.collections - a.collections) * 1000) / GRANTS).toFixed(1)}`;
  process.stdout.write(`${line}\n`);
}

try {
  await measure('ours', svc.ready.url, svc.ready.pid, join(dir, 'service.json'), svc.ready.machine);
  await measure('bare', bare.ready.url, bare.ready.pid, join(dir, 'bare.json'), bare.ready.machine);
  // The heap profiles are written after the second reading.
  if (process.env.COUNT_HEAP_DIR) await new Promise((r) => setTimeout(r, 5000));
} finally {
  await svc.stop();
  await bare.stop();
  await scratch?.drop();
}
