import 'reflect-metadata';
import { scratchDatabase, startServiceProcess } from './support/bench-kit.js';
import { startBareProvider } from './support/bare-process.js';
import { tokenRows } from './support/token-rows.js';
const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL!, 'quick');
const svc = await startServiceProcess({ DATABASE_URL: scratch.url });
const bare = await startBareProvider();
try {
  const rows = await tokenRows(svc.ready, bare.ready, Number(process.env.S ?? 5), (l) => console.log(l));
} finally { await svc.stop(); await bare.stop(); await scratch.drop(); }
