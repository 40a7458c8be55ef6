import 'reflect-metadata';
import { scratchDatabase, startServiceProcess } from './support/bench-kit.js';
import { basic, CC_BODY } from './support/token-rows.js';
const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL!, 'quick2');
const svc = await startServiceProcess({ DATABASE_URL: scratch.url, DEBUG: 'knex:query' });
try {
  const h = { authorization: basic(svc.ready.machine.clientId, svc.ready.machine.secret), 'content-type': 'application/x-www-form-urlencoded' };
  for (let i = 0; i < 3; i++) { const r = await fetch(`${svc.ready.url}/oidc/token`, { method: 'POST', headers: h, body: CC_BODY }); console.log(r.status); }
  await new Promise((r) => setTimeout(r, 500));
  const out = svc.output(); const i = out.lastIndexOf('BENCH-READY'); console.log(out.slice(i).split('\n').filter((l) => l.includes('knex:query')).map((l) => l.slice(0, 220)).join('\n'));
} finally { await svc.stop(); await scratch.drop(); }
