import { spawn, type ChildProcess } from 'node:child_process';
import { childEnv, cliPath, repoRoot } from './run-cli.js';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Resolves with the exit code after a signal. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Starts `tinnhiem serve` (or another entry script) as its own process and waits for its
 * "tinnhiem ready" log line, which carries the URL it listens on (PORT=0 picks a free port).
 */
export function startServerProcess(
  env: Record<string, string>,
  options: { args?: string[]; script?: string; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const args = options.script ? ['--import', 'tsx', options.script] : [cliPath, 'serve', ...(options.args ?? [])];
  const child = spawn(process.execPath, args, { cwd: repoRoot, env: childEnv({ PORT: '0', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not become ready in time:\n${out}`));
    }, options.timeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"urls":\{"listening":"(http:\/\/[^"]+)"/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({
          child,
          url: match[1],
          output: () => out,
          exited,
          async stop(signal = 'SIGTERM') {
            if (child.exitCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready:\n${out}`));
    });
  });
}
