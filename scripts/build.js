#!/usr/bin/env node
// Compiles the sources to dist/ (what bin/tinnhiem.js runs), copies the files they read at run
// time (profiles, pages' CSS and scripts, demo data), bundles the CLI into dist/cli/, and writes dist/build-stamp.json, by which
// bin/tinnhiem.js knows the build is current (docs/cli.md, "Compiled or from the sources").
// Run by `npm run build` and by npm itself after `npm ci` / `npm install` (the `prepare` script).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceState, SOURCE_DIRS } from '../bin/build-state.js';
import { bundleCli } from './bundle-cli.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const started = Date.now();

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // `npm ci --omit=dev`: no compiler; bin/tinnhiem.js runs the sources through tsx instead.
  process.stderr.write('tinnhiem build: typescript is not installed (production install without dev dependencies); the CLI will run the sources through tsx\n');
  process.exit(0);
}

// A clean output: a deleted source must not live on as a compiled module.
rmSync(dist, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (result.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  process.exit(result.status ?? 1);
}

function copyAssets(from, to) {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    if (entry.isDirectory()) copyAssets(source, join(to, entry.name));
    else if (!entry.name.endsWith('.ts')) {
      mkdirSync(to, { recursive: true });
      cpSync(source, join(to, entry.name));
    }
  }
}
for (const dir of SOURCE_DIRS) if (existsSync(join(root, dir))) copyAssets(join(root, dir), join(dist, dir));

// The CLI's bundle (scripts/bundle-cli.js): what bin/tinnhiem.js runs for every command but `serve`.
try {
  await bundleCli(root, dist);
} catch (err) {
  rmSync(dist, { recursive: true, force: true });
  process.stderr.write(`tinnhiem build: bundling the CLI failed: ${err.message}\n`);
  process.exit(1);
}

// The stamp carries the build's start: a source saved during the build is newer, hence stale.
writeFileSync(join(dist, 'build-stamp.json'), `${JSON.stringify({ builtAt: started, entries: sourceState(root, Number.POSITIVE_INFINITY).entries }, null, 2)}\n`);
process.stderr.write(`tinnhiem build: dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
