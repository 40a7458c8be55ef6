import 'reflect-metadata';
import { scratchDatabase, startServiceProcess } from './support/bench-kit.js';
import { runLoginDriver } from './support/login-rows.js';
const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL!, 'quick4');
const svc = await startServiceProcess({ DATABASE_URL: scratch.url, DEBUG: 'knex:query', TRUST_PROXY: '1', BENCH_ACCOUNTS: '1' });
try {
  const r = svc.ready;
  let mine = ''; svc.child.stderr!.on('data', (c: Buffer) => (mine += c.toString())); svc.child.stdout!.on('data', (c: Buffer) => (mine += c.toString()));
  const res = await runLoginDriver({ kind: (process.env.KIND ?? 'passkey') as 'passkey', issuer: `${r.url}/oidc`, client: r.portal, accounts: r.accounts!.map(({ login, password }) => ({ login, password })), passkeys: r.accounts!.map((a) => a.passkey), concurrency: 1, seconds: 0.01 });
  await new Promise((x) => setTimeout(x, 300));
  const out = mine; const i = 0;
  const qs = out.slice(i).split('\n').filter((l) => l.includes('knex:query')).map((l) => l.replace(/^\S+ knex:query /, '').slice(0, 160));
  console.log('flows', res.operations, 'queries', qs.length);
  const c = new Map<string, number>(); for (const q of qs) c.set(q, (c.get(q) ?? 0) + 1);
  for (const [q, n] of [...c].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(n, q);
} finally { await svc.stop(); await scratch.drop(); }
