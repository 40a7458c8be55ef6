// Bundles the compiled CLI (dist/src/cli/main.js and every module it imports, at once or on
// demand) into dist/cli/: a few minified chunks instead of some 600 module files, so a short
// command such as `tinnhiem cert list --json` spends its start-up on its work rather than on
// resolving, reading and compiling modules one by one (docs/cli.md, "Start-up time"). Dynamic
// imports stay dynamic (esbuild's code splitting): `--help` still loads no command module.
// Called by scripts/build.js after tsc; bin/tinnhiem.js runs dist/cli/main.js when present, and
// dist/src/cli/main.js (unbundled) for `serve` and when the bundle is absent.
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * Packages bundled with our code when our code imports them, together with what they import in
 * turn: the CLI's common path (the command parser, the configuration's schema, the PostgreSQL
 * driver and query builder). Every other package is loaded from node_modules as before: one copy
 * of each (a package bundled here is also the only copy its dependants see, hence zod-to-openapi
 * beside zod and knex-pglite beside knex), and those that read their own files at run time
 * (PGlite's WebAssembly, pino's worker transports, native addons) stay where they are.
 */
const BUNDLED = new Set(['commander', 'knex', 'knex-pglite', 'pg', 'zod', '@asteasolutions/zod-to-openapi']);
/** Never bundled, whoever imports them: files read at run time, native code, drivers not installed. */
const NEVER = new Set([
  '@electric-sql/pglite', 'pino', 'thread-stream', 'oidc-provider', 'node-webcrypto-p11', 'pkcs11js',
  'pg-native', 'pg-query-stream', 'pg-cloudflare', 'cloudflare:sockets',
  'mysql', 'mysql2', 'mariadb', 'oracledb', 'tedious', 'sqlite3', 'better-sqlite3',
]);

const packageOf = (specifier) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);

/** @returns {Promise<boolean>} whether dist/cli/ was written */
export async function bundleCli(root, dist) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    process.stderr.write('tinnhiem build: esbuild is not installed; the CLI runs dist/src unbundled\n');
    return false;
  }
  const outdir = join(dist, 'cli');
  const distPath = `${dist}/`;
  const selection = {
    name: 'tinnhiem-selection',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:')) return { external: true };
        const name = packageOf(args.path);
        if (NEVER.has(name)) return { external: true };
        // Our modules decide by the list; a bundled package's own imports are bundled with it.
        if (args.importer.startsWith(distPath) && !BUNDLED.has(name)) return { external: true };
        return undefined;
      });
      // A module's `import.meta.url` stays the URL of its compiled file in dist/, so what it
      // reads beside itself (profiles, pages' CSS and scripts, demo data, package.json) is found
      // as before.
      build.onLoad({ filter: /\.js$/ }, async (args) => {
        if (!args.path.startsWith(distPath)) return undefined;
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return { contents: text, loader: 'js' };
        const own = JSON.stringify(relative(outdir, args.path).split('\\').join('/'));
        return { contents: text.replaceAll('import.meta.url', `new URL(${own}, import.meta.url).href`), loader: 'js' };
      });
    },
  };
  await esbuild.build({
    entryPoints: [join(dist, 'src', 'cli', 'main.js')],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    // Names kept: error classes are told apart by name in places, and stack traces stay readable.
    keepNames: true,
    // The CommonJS packages bundled here (knex, pg) call require() for Node's own modules.
    banner: { js: "import { createRequire as __tinnhiemRequire } from 'node:module'; const require = __tinnhiemRequire(import.meta.url);" },
    plugins: [selection],
    logLevel: 'warning',
    absWorkingDir: root,
  });
  return true;
}
