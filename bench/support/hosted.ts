/**
 * How the benchmarks host a server process (the service, bench/support/service-process.ts, and the
 * bare oidc-provider, bench/support/bare-provider.ts): from the compiled build, as `tinnhiem serve`
 * runs in production, whenever dist/ is the build of the sources as they are now (the decision of
 * bin/tinnhiem.js: bin/build-state.js, and TINNHIEM_FROM_SOURCES=1 forces the sources). Otherwise
 * from the TypeScript sources through tsx, with a one-line notice: tsx's loader, esbuild's
 * keepNames `__name` helper on every closure and source maps are not what ships, and they cost
 * CPU in the measured requests (docs/performance.md, "Method").
 *
 * The harness itself (the script that builds the service and prints its ready line) is in bench/
 * and test/support/, which the build does not compile: it is transformed here by esbuild, file by
 * file (no bundling, no keepNames, no source maps), into dist/bench/… and dist/test/…, where its
 * relative imports of ../../src/… resolve to the compiled modules of dist/src/…. The build wipes
 * dist/ (scripts/build.js), so these files never outlive the build they were made against.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distIsCurrent } from '../../bin/build-state.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Harness files outside the build, and what each imports of the same kind (transformed with it). */
const HARNESS: Record<string, string[]> = {
  'bench/support/service-process.ts': ['bench/support/service-process.ts', 'test/support/soft-authenticator.ts'],
  'bench/support/bare-provider.ts': ['bench/support/bare-provider.ts'],
};

let noticed = false;

/** Whether server processes are hosted from dist/ (the compiled build) in this run. */
export function hostsCompiled(): boolean {
  return process.env.TINNHIEM_FROM_SOURCES !== '1' && distIsCurrent(root);
}

/**
 * The node arguments that run `entry` (a path under the repository, e.g.
 * 'bench/support/service-process.ts'): its compiled form under dist/ when the build is current,
 * otherwise the source through tsx (and a notice on stderr, once per process).
 */
export async function hostedEntry(entry: string): Promise<string[]> {
  if (!hostsCompiled()) {
    if (!noticed) {
      noticed = true;
      process.stderr.write(`bench: dist/ is not the build of the sources as they are now (or TINNHIEM_FROM_SOURCES=1): the servers run from the TypeScript sources through tsx, not as shipped (npm run build)\n`);
    }
    return ['--import', 'tsx', entry];
  }
  const files = HARNESS[entry];
  if (!files) throw new Error(`hostedEntry: ${entry} is not a known harness`);
  const esbuild = await import('esbuild');
  for (const file of files) {
    const source = readFileSync(join(root, file), 'utf8');
    const { code } = await esbuild.transform(source, { loader: 'ts', format: 'esm', target: 'node20', sourcefile: file, tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } } });
    const out = join(root, 'dist', file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, code);
  }
  return [join('dist', entry.replace(/\.ts$/, '.js'))];
}
