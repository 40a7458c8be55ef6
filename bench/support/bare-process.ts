/** Starts bench/support/bare-provider.ts (the token rows' reference) as its own process. */
import { spawn } from 'node:child_process';
import { repoRoot } from './bench-kit.js';
import { hostedEntry, hostedEnv } from './hosted.js';

export interface BareReady {
  url: string;
  pid: number;
  issuer: string;
  machine: { clientId: string; secret: string };
  portal: { clientId: string; secret: string; redirectUri: string };
}

export async function startBareProvider(): Promise<{ ready: BareReady; stop(): Promise<void> }> {
  // BENCH_SERVICE_PROFILE=<dir>: the bare provider writes its V8 CPU profiles in <dir>/bare.
  const dir = process.env.BENCH_SERVICE_PROFILE;
  const profile = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}/bare`] : [];
  // Hosted as the service is (bench/support/hosted.ts): compiled when dist/ is current, so both
  // servers run the same way and neither pays tsx's loader and helpers.
  const entry = await hostedEntry('bench/support/bare-provider.ts');
  const child = spawn(process.execPath, [...profile, ...entry], { cwd: repoRoot, env: { ...process.env, ...hostedEnv() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const orphanGuard = () => child.kill('SIGTERM');
  process.on('exit', orphanGuard);
  void exited.then(() => process.off('exit', orphanGuard));
  child.stderr.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-5000)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^BARE-READY (.*)\n/m.exec(out);
      if (!m) return;
      resolve({
        ready: JSON.parse(m[1]) as BareReady,
        async stop() {
          if (child.exitCode === null) child.kill('SIGTERM');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        },
      });
    });
    void exited.then((code) => reject(new Error(`the bare provider exited with ${code}:\n${out}`)));
  });
}
