import 'reflect-metadata';
import { scratchDatabase, startServiceProcess } from './support/bench-kit.js';
import { basic, CC_BODY } from './support/token-rows.js';
import { wrkPost } from './support/load-generators.js';
const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL!, 'quick3');
const svc = await startServiceProcess({ DATABASE_URL: scratch.url });
try {
  const h = { authorization: basic(svc.ready.machine.clientId, svc.ready.machine.secret), 'content-type': 'application/x-www-form-urlencoded' };
  await wrkPost({ url: `${svc.ready.url}/oidc/token`, headers: h, body: CC_BODY }, { connections: 16, seconds: 2 });
  console.log('MARK', Date.now());
  console.log(await wrkPost({ url: `${svc.ready.url}/oidc/token`, headers: h, body: CC_BODY }, { connections: 16, seconds: Number(process.env.S ?? 8) }));
} finally { await svc.stop(); await scratch.drop(); }
