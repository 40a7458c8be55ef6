/**
 * Runs a benchmark whose measured code is in its own process (bench/validate.ts and its development
 * tools) as bench/support/hosted.ts hosts the servers: compiled from dist/, the code `tinnhiem
 * serve` runs, building dist/ first when it is not the build of the sources as they are now;
 * through tsx with TINNHIEM_FROM_SOURCES=1 (docs/performance.md, "Method").
 *   node --import tsx bench/hosted-run.ts [node options…] bench/validate.ts [arguments…]
 * Node options (e.g. --cpu-prof) go before the script; the exit code is the benchmark's.
 */
import { spawn } from 'node:child_process';
import { buildIfStale, hostedEntry, hostedEnv } from './support/hosted.js';
import { repoRoot } from './support/repo-root.js';

const args = process.argv.slice(2);
const at = args.findIndex((a) => a.startsWith('bench/') && a.endsWith('.ts'));
if (at < 0) throw new Error('usage: node --import tsx bench/hosted-run.ts [node options…] bench/<script>.ts [arguments…]');
await buildIfStale();
const entry = await hostedEntry(args[at]);
const child = spawn(process.execPath, [...args.slice(0, at), ...entry, ...args.slice(at + 1)], { cwd: repoRoot, env: { ...process.env, ...hostedEnv() }, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
