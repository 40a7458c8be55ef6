// Plain ESM (jest loads global setup outside its module system); TypeScript through tsx.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

/**
 * Embedded runs: one migrated PGlite data directory that every test file copies (test-db.ts).
 * PostgreSQL runs: check the server answers, so a wrong DATABASE_URL fails once, clearly.
 */
export default async function globalSetup() {
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
