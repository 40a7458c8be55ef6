// Whether dist/ is the build of the sources as they are now (bin/tinnhiem.js, scripts/build.js).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What the build compiles or copies; a change under any of them makes dist/ stale. */
export const SOURCE_DIRS = ['src', 'ca', 'oidc', 'migrations'];
const SOURCE_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];

/**
 * The number of source entries and whether any was modified after `since` (ms). Directories are
 * counted too: adding, deleting or renaming a file changes its directory's mtime, so a deleted
 * source is noticed as well as an edited one. Stops at the first newer entry.
 */
export function sourceState(root, since) {
  let entries = 0;
  let newer = false;
  const visit = (path) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    entries++;
    if (stat.mtimeMs > since) newer = true;
    if (newer || !stat.isDirectory()) return;
    for (const name of readdirSync(path)) {
      visit(join(path, name));
      if (newer) return;
    }
  };
  for (const file of SOURCE_FILES) visit(join(root, file));
  for (const dir of SOURCE_DIRS) visit(join(root, dir));
  return { entries, newer };
}

/**
 * dist/ is current when its stamp exists, no source entry is newer than the build's start, and
 * the sources have as many entries as at the build (a file restored with an old mtime, e.g. by
 * `cp -p` or an archive, is not newer: when it adds or removes an entry it is still noticed).
 */
export function distIsCurrent(root) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(root, 'dist', 'build-stamp.json'), 'utf8'));
  } catch {
    return false;
  }
  if (typeof stamp.builtAt !== 'number' || typeof stamp.entries !== 'number') return false;
  const now = sourceState(root, stamp.builtAt);
  return !now.newer && now.entries === stamp.entries;
}
