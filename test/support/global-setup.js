// Plain ESM (jest loads global setup outside its module system); TypeScript through tsx.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { distIsCurrent } from '../../bin/build-state.js';

/**
 * The CLI tests run bin/tinnhiem.js (test/support/run-cli.ts), which runs dist/ when it is the
 * build of the current sources and the sources through tsx otherwise (docs/cli.md). Building
 * once here makes every CLI run of the suite the compiled one (a second or more less each).
 * TINNHIEM_FROM_SOURCES=1 skips it: the tests then run the sources, as a developer's edit would.
 */
function buildCli(globalConfig) {
  // Unit tests run no CLI process: a run of only those does not wait for a build.
  const patterns = globalConfig?.testPathPatterns?.patterns ?? [];
  if (patterns.length && patterns.every((p) => /test\/unit/.test(String(p)))) return;
  const root = fileURLToPath(new URL('../../', import.meta.url));
  if (process.env.TINNHIEM_FROM_SOURCES === '1' || distIsCurrent(root)) return;
  const built = spawnSync(process.execPath, [fileURLToPath(new URL('../../scripts/build.js', import.meta.url))], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build failed: the CLI tests would run the sources; fix the build first');
}

/**
 * Embedded runs: one migrated PGlite data directory that every test file copies (test-db.ts).
 * PostgreSQL runs: check the server answers, so a wrong DATABASE_URL fails once, clearly.
 */
export default async function globalSetup(globalConfig) {
  buildCli(globalConfig);
  const { openDatabase } = await tsImport('../../src/storage/db.ts', import.meta.url);
  if (process.env.DATABASE_URL) {
    const db = await openDatabase({ kind: 'postgres', url: process.env.DATABASE_URL, poolMax: 1 });
    await db.close();
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'tinnhiem-template-'));
  const dir = join(root, 'db');
  const db = await openDatabase({ kind: 'embedded', dir }, { purpose: 'test template' });
  await db.migrateLatest();
  await db.close();
  process.env.TINNHIEM_TEST_PGLITE_TEMPLATE = dir;
  process.env.TINNHIEM_TEST_TEMPLATE_ROOT = root;
}
