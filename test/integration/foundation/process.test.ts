import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { runCli } from '../../support/run-cli.js';
import { startServerProcess } from '../../support/serve-process.js';

/**
 * The service as separate processes on the embedded database (the default of `npm start`):
 * the single-owner lock, restarts, graceful shutdown and configuration errors.
 */
const dirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-proc-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('service process on the embedded database', () => {
  it('refuses a second server and writing CLI commands while running, and keeps every committed write', async () => {
    const env = { DATA_DIR: dataDir(), MASTER_PASSPHRASE: 'process-test-passphrase' };
    const server = await startServerProcess(env, { args: ['--dev'] });
    try {
      expect(server.output()).toContain('tinnhiem is running');
      expect(server.output()).toMatch(/readiness\s+http:\/\/localhost:0?\d*\/readyz|readiness/);
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);

      const second = await runCli(['serve'], { ...env, PORT: '0' });
      expect(second.code).toBe(3);
      expect(second.stderr).toMatch(/in use by `tinnhiem serve` \(pid \d+/);

      const migrate = await runCli(['migrate'], env);
      expect(migrate.code).toBe(3);
      expect(migrate.stderr).toContain('belongs to one process at a time');

      // The refused processes did not disturb the running one.
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }

    // Restart: the data survived, including both runs' events.
    const again = await startServerProcess(env);
    expect((await fetch(`${again.url}/readyz`)).status).toBe(200);
    expect(await again.stop('SIGINT')).toBe(0);

    const list = await runCli(['audit', 'list', '--json'], env);
    expect(list.code).toBe(0);
    const events = (JSON.parse(list.stdout) as Array<{ action: string }>).reverse();
    const lifecycle = events.map((e) => e.action).filter((a) => a.startsWith('service.'));
    expect(lifecycle).toEqual(['service.start', 'service.stop', 'service.start', 'service.stop']);
    // The development start's own writes (keys, demo clients and accounts) survived too.
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['installation.initialise', 'oidc.key.create', 'client.create', 'account.create']));
    const verify = await runCli(['audit', 'verify'], env);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`audit chain intact: ${events.length} events`);
  });

  it('lets an in-flight request finish on SIGTERM and exits 0', async () => {
    const script = fileURLToPath(new URL('../../support/serve-slow.ts', import.meta.url));
    const server = await startServerProcess({ DATA_DIR: dataDir() }, { script });
    const inFlight = fetch(`${server.url}/slow?ms=1500`);
    await new Promise((r) => setTimeout(r, 300));
    server.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    // The listener is closed: a new connection is refused while the old request still runs.
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.json()).toEqual({ sleptMs: 1500 });
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('shutting down: finishing in-flight requests');
  });

  it.each([
    [{ PORT: 'not-a-port' }, 'PORT (server.port)'],
    [{ DATABASE_URL: 'mysql://localhost/x' }, 'DATABASE_URL (database.url)'],
    [{ LOG_LEVEL: 'chatty' }, 'LOG_LEVEL (log.level)'],
  ])('exits non-zero naming the field of an invalid configuration: %j', async (env, field) => {
    const result = await runCli(['serve'], { DATA_DIR: dataDir(), ...env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Invalid configuration');
    expect(result.stderr).toContain(field);
  });
});
