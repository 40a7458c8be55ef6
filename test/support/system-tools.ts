import { execFileSync } from 'node:child_process';
import { describe } from '@jest/globals';

/**
 * Tests that need a system program (openssl, certtool, pdfsig, chromium, softhsm2-util) always
 * run in CI. On a developer machine without the program they are skipped with ONE line naming
 * the Debian package to install; in CI (CI=true) a missing program fails the run instead.
 */
const warned = new Set<string>();

export function hasProgram(program: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `describe` when `program` exists, else a skipped block (or a failure in CI). */
export function describeWithProgram(program: string, debianPackage: string): typeof describe {
  if (hasProgram(program)) return describe;
  if (process.env.CI) {
    throw new Error(`${program} is required in CI: apt-get install ${debianPackage} (.ci/run installs it)`);
  }
  if (!warned.has(program)) {
    warned.add(program);
    process.stderr.write(`skipping tests that need ${program}: install it with \`apt-get install ${debianPackage}\`\n`);
  }
  // Reason: the program is missing on this machine; CI installs it and never skips (see above).
  return describe.skip as unknown as typeof describe;
}
