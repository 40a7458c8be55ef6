#!/usr/bin/env node
// The tinnhiem command. Runs the compiled JavaScript in dist/ (built by `npm ci` through the
// `prepare` script, or `npm run build`) when it is the build of the sources as they are now;
// otherwise the TypeScript sources through tsx, so a developer who edited a file never runs the
// old build. TINNHIEM_FROM_SOURCES=1 forces the sources (docs/cli.md, "Compiled or from the sources").
import { fileURLToPath } from 'node:url';
import { distIsCurrent } from './build-state.js';

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.env.TINNHIEM_FROM_SOURCES !== '1' && distIsCurrent(root)) {
  await import('../dist/src/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
