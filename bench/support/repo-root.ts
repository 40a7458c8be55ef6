/**
 * The repository's root, whether this module runs from the sources (bench/support/) or from the
 * copy bench/support/hosted.ts compiles into dist/bench/support/: results and fixtures are read
 * and written relative to it, never relative to the running file (docs/performance.md, "Method").
 */
import { fileURLToPath } from 'node:url';

export const repoRootUrl = new URL(import.meta.url.includes('/dist/bench/') ? '../../../' : '../../', import.meta.url);
export const repoRoot = fileURLToPath(repoRootUrl);
