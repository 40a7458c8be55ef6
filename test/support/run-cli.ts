import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertScriptJson } from './cli-json.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const cliPath = fileURLToPath(new URL('../../bin/tinnhiem.js', import.meta.url));

/**
 * The environment a child process gets: the test's own, minus what would point it at another
 * database, plus `env`. Jest's NODE_OPTIONS (vm modules) is dropped: the child runs under tsx.
 */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const key of ['DATABASE_URL', 'DATA_DIR', 'NODE_OPTIONS', 'TINNHIEM_CONFIG', 'PORT', 'PUBLIC_URL']) delete base[key];
  return { ...base, LOG_LEVEL: 'info', ...env };
}

/** Runs `tinnhiem …` as a separate process, as an operator would. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tinnhiem ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      // Every successful `--json` run, in every test, is held to the documented shape.
      if (code === 0 && args.includes('--json')) {
        try {
          assertScriptJson(stdout, `tinnhiem ${args.join(' ')}`);
        } catch (err) {
          reject(err as Error);
          return;
        }
      }
      resolve({ code, stdout, stderr });
    });
  });
}
