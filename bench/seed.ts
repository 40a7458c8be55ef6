/**
 * Seeding benchmark: `seedRegistry` for N certificates (default 2,339, the province's registry) on
 * a fresh embedded database, as `tinnhiem seed` does, reported with the issuance rate as a ratio
 * to raw ECDSA P-256 `crypto.sign` throughput measured in the same run (the ceiling of issuance).
 * Writes bench/results/seed-<date>.json and prints a markdown row.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/logging/logger.js';
import { createService } from '../src/service/service.js';
import { seedRegistry } from '../src/dev/seed-registry.js';
import { rawSignRate } from './support/bench-kit.js';

const count = Number(process.argv[2] ?? 2339);


const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-bench-seed-'));
try {
  const rawPerSecond = rawSignRate();
  const config = loadConfig({ env: { DATA_DIR: dir, LOG_LEVEL: 'warn' } });
  const service = await createService(config, { log: createLogger({ level: 'warn' }), masterPassphrase: 'bench-master-passphrase', initialise: true, devCa: true, purpose: 'bench' });
  const result = await seedRegistry(service, count);
  const listed = (await service.certificates.search({ profileId: undefined, limit: 1 })).total;
  await service.close();
  const issuedPerSecond = result.issued / result.seconds;
  const report = {
    benchmark: 'seed',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    database: 'embedded (PGlite)',
    certificates: count,
    listedInRegistry: listed,
    ...result,
    issuedPerSecond: Math.round(issuedPerSecond * 10) / 10,
    rawEcdsaSignPerSecond: Math.round(rawPerSecond),
    ratioToRawSign: Math.round((issuedPerSecond / rawPerSecond) * 10_000) / 10_000,
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`./results/seed-${report.date.slice(0, 10)}.json`, import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`| seed ${count} certificates (embedded) | ${result.seconds.toFixed(1)} s | ${report.issuedPerSecond} issued/s | ${report.ratioToRawSign} × raw P-256 sign (${report.rawEcdsaSignPerSecond}/s) |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
