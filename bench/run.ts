/**
 * `npm run bench`: every benchmark in turn, each reporting ratios against a reference measured in
 * the same run (DESIGN.md, "Performance method"). Results: bench/results/*.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const benches = [
  ['bench/seed.ts', process.env.BENCH_SEED_CERTIFICATES ?? '2339'],
  ['bench/ocsp.ts'],
  ['bench/validate.ts'],
  ['bench/ocsp-hsm.ts'],
].filter(([file]) => existsSync(file));

let failed = false;
for (const [file, ...args] of benches) {
  console.log(`\n## ${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...args], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
