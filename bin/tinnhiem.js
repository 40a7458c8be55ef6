#!/usr/bin/env node
// The tinnhiem command. Runs the compiled JavaScript in dist/ (built by `npm ci` through the
// `prepare` script, or `npm run build`) when it is the build of the sources as they are now;
// otherwise the TypeScript sources through tsx, so a developer who edited a file never runs the
// old build. TINNHIEM_FROM_SOURCES=1 forces the sources (docs/cli.md, "Compiled or from the sources").
// Of the build, the CLI's bundle (dist/cli/, scripts/bundle-cli.js) for every command but `serve`,
// whose start-up time does not matter and which keeps the module graph as compiled.
import { existsSync, lstatSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import module from 'node:module';
import { fileURLToPath } from 'node:url';
import { distIsCurrent } from './build-state.js';

// Node 22.1+: V8's compiled code is kept on disk between runs, so a second run does not compile
// the same modules again. The cache lives beside the code it caches (dist/.compile-cache), never
// in the shared temporary directory: whoever can write a code cache chooses what runs, so it must
// be writable only by those who can already change the code. Where the installation is read-only
// the cache is simply off (the call reports a failure and does not throw). Node 20 has no such
// cache; the function is then absent.
module.enableCompileCache?.(fileURLToPath(new URL('../dist/.compile-cache', import.meta.url)));

/** The command a command line names: the first word that is not an option (nor -c's file). */
function commandNamed(args) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-c' || args[i] === '--config') i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return undefined;
}

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.env.TINNHIEM_FROM_SOURCES !== '1' && distIsCurrent(root)) {
  const bundle = commandNamed(process.argv.slice(2)) !== 'serve' && existsSync(new URL('../dist/cli/main.js', import.meta.url));
  await import(bundle ? '../dist/cli/main.js' : '../dist/src/cli/main.js');
} else {
  // tsx keeps its transforms in TMPDIR/tsx-<uid>, which another local user can create first and
  // fill: compiled code of their choosing would run as us. Cache only in a directory that is ours
  // and writable by nobody else (or not there yet: tsx then makes it, 0700); else no cache.
  const cacheDir = join(tmpdir(), `tsx-${process.geteuid?.() ?? userInfo().username}`);
  try {
    const st = lstatSync(cacheDir);
    if (!st.isDirectory() || st.uid !== process.geteuid?.() || (st.mode & 0o022) !== 0) process.env.TSX_DISABLE_CACHE = '1';
  } catch {
    // Absent: tsx creates it for us.
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
