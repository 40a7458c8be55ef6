/**
 * How the benchmarks host a server process (the service, bench/support/service-process.ts, and the
 * bare oidc-provider, bench/support/bare-provider.ts) or the validation bench's own process
 * (bench/validate.ts and its development tools, through bench/hosted-run.ts): from the compiled build, as `tinnhiem serve`
 * runs in production, whenever dist/ is the build of the sources as they are now (the decision of
 * bin/tinnhiem.js: bin/build-state.js, and TINNHIEM_FROM_SOURCES=1 forces the sources). Otherwise
 * from the TypeScript sources through tsx, with a one-line notice: tsx's loader, esbuild's
 * keepNames `__name` helper on every closure and source maps are not what ships, and they cost
 * CPU in the measured requests (docs/performance.md, "Method").
 *
 * The harness itself (the script that builds the service and prints its ready line, and the files
 * of bench/ and test/ it imports) is not compiled by the build: it is transformed here by esbuild,
 * file by file (no bundling, no keepNames, no source maps), into dist/bench/… and dist/test/…, where its
 * relative imports of ../../src/… resolve to the compiled modules of dist/src/…. The build wipes
 * dist/ (scripts/build.js), so these files never outlive the build they were made against. A
 * harness finds the repository's files from bench/support/repo-root.ts, not from its own place.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distIsCurrent } from '../../bin/build-state.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The harnesses a benchmark may host. */
const HARNESS = new Set([
  'bench/support/service-process.ts',
  'bench/support/bare-provider.ts',
  // The password rows' reference: scrypt's hashes a second, in a process hosted as the service is.
  'bench/support/scrypt-bound.ts',
  // The validation bench and its development tools: the validator runs in their own process (bench/hosted-run.ts).
  'bench/validate.ts',
  'bench/validate-cold-dev.ts',
  'bench/validate-cold-compare.ts',
]);

/** Folders the build compiles into dist/ (imports of them resolve there); anything else is transformed here. */
const BUILT = /^(src|ca|oidc|migrations)\//;

let noticed = false;

/** Whether server processes are hosted from dist/ (the compiled build) in this run. */
export function hostsCompiled(): boolean {
  return process.env.TINNHIEM_FROM_SOURCES !== '1' && distIsCurrent(root);
}

/** Builds dist/ when it is not the build of the sources as they are now (unless TINNHIEM_FROM_SOURCES=1), so that what runs is what ships. */
export async function buildIfStale(): Promise<void> {
  if (process.env.TINNHIEM_FROM_SOURCES === '1' || hostsCompiled()) return;
  process.stdout.write('bench: dist/ is not current; building it (npm run build), so the servers run as shipped\n');
  const code = await new Promise<number | null>((resolve) => spawn(process.execPath, ['scripts/build.js'], { cwd: root, stdio: 'inherit' }).on('exit', resolve));
  if (code !== 0 || !hostsCompiled()) throw new Error('bench: the build failed; fix it, or run from the sources with TINNHIEM_FROM_SOURCES=1');
}

/**
 * The environment a hosted process runs in, besides its own variables: what docs/deployment.md
 * asks of a production node. glibc's malloc asks the kernel for transparent huge pages
 * (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`): scrypt's 32 MiB, mapped afresh for every password
 * verification, then comes in 16 pages of 2 MiB instead of 8,192 of 4 KiB (docs/performance.md,
 * "Password login, eighteenth pass"). The service, the bare provider and the scrypt bound all run
 * with it, so each row compares like with like. BENCH_HUGE_PAGES=0 leaves it out (an A/B of the
 * setting); another glibc tunable already set is kept.
 */
export function hostedEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (env.BENCH_HUGE_PAGES === '0') return {};
  const others = (env.GLIBC_TUNABLES ?? '').split(':').filter((t) => t !== '' && !t.startsWith('glibc.malloc.hugetlb='));
  return { GLIBC_TUNABLES: [...others, 'glibc.malloc.hugetlb=1'].join(':') };
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
  if (!HARNESS.has(entry)) throw new Error(`hostedEntry: ${entry} is not a known harness`);
  const esbuild = await import('esbuild');
  // The entry and every file of bench/ or test/ it imports (relatively), transitively: a harness
  // that gains a helper needs no list kept in step.
  const pending = [entry];
  const done = new Set<string>();
  while (pending.length) {
    const file = pending.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(join(root, file), 'utf8');
    const { code } = await esbuild.transform(source, { loader: 'ts', format: 'esm', target: 'node20', sourcefile: file, tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } } });
    const out = join(root, 'dist', file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, code);
    for (const [, spec] of code.matchAll(/(?:from\s*|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
      const target = posix.normalize(posix.join(posix.dirname(file), `${spec}.ts`));
      if (!BUILT.test(target)) pending.push(target);
    }
  }
  return [join('dist', entry.replace(/\.ts$/, '.js'))];
}
