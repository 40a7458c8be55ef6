/**
 * A prepared synthetic registry for `bench:scale` on PostgreSQL (docs/performance.md, "Prepared
 * registries"): seeding a million rows and building their trigram indexes takes minutes, and the
 * result is the same for the same generator and schema. So the service process records, in the
 * database it seeded, a key naming everything the rows depend on, and the bench keeps that
 * database as a template: a later run with the same key copies it (`CREATE DATABASE … TEMPLATE`, a
 * file copy) instead of seeding again; a different key, or a template older than
 * PREPARED_MAX_DAYS, builds a new one.
 *
 * The key is a SHA-256 over: the generator's version below, the registry's size, the names of the
 * migrations this code applies (in order), and the text of the files that decide the rows (the
 * generator, bench/support/service-process.ts, and the folding, src/text/folding.ts). The
 * service process checks it again on the copy, with the migrations the copy has applied and a
 * sample of rows folded again by the application.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { migrations } from '../../migrations/index.js';

/** Raise when the generator's output changes in a way its file's text does not show. */
export const GENERATOR_VERSION = 1;
/** A template older than this is rebuilt: the dev CA's delegated OCSP signer lives 30 days, and the rows' dates are relative to the seed. */
export const PREPARED_MAX_DAYS = 7;

const SOURCES = ['bench/support/service-process.ts', 'src/text/folding.ts'];

export interface PreparedKey {
  key: string;
  parts: { generator: number; size: number; migrations: string[]; sources: Record<string, string> };
}

export function preparedKey(size: number): PreparedKey {
  const sources = Object.fromEntries(SOURCES.map((f) => [f, createHash('sha256').update(readFileSync(new URL(`../../${f}`, import.meta.url))).digest('hex')]));
  const parts = { generator: GENERATOR_VERSION, size, migrations: migrations.map((m) => m.name), sources };
  return { key: createHash('sha256').update(JSON.stringify(parts)).digest('hex'), parts };
}

/** `<base database>_scale_<size>_<first 10 hex digits of the key>`: one per helper's database, size and key. */
export function preparedName(baseUrl: string, size: number, key: string): string {
  const base = decodeURIComponent(new URL(baseUrl).pathname.slice(1)) || 'postgres';
  return `${base}_scale_${size}_${key.slice(0, 10)}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
}

/** The table the service process writes into the database it seeded (and reads back on a copy). */
export const PREPARED_TABLE = 'bench_prepared_registry';
