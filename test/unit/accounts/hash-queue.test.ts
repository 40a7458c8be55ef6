import { describe, expect, it } from '@jest/globals';
import { HashQueue, HashQueueBusy } from '../../../src/accounts/hash-queue.js';

/** A task the test finishes by hand, recording when it started. */
function gate(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    finish: () => finish(),
    task: async () => {
      log.push(name);
      await done;
      return name;
    },
  };
}

/** Lets every settled promise chain run (a task's end passes its slot on through a few). */
const tick = async () => {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('password hash queue', () => {
  it('runs at most `concurrency` at once and the least suspect waiter next (then first come)', async () => {
    const q = new HashQueue({ concurrency: 2, maxWaiting: 10, maxWaitMs: 60_000 });
    const log: string[] = [];
    const gates = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((n) => [n, gate(log, n)]));
    const runs = [q.run(5, gates.a.task), q.run(0, gates.b.task), q.run(7, gates.c.task), q.run(3, gates.d.task), q.run(3, gates.e.task)];
    await tick();
    // a (suspect) took the general slot, b (clean) the reserved one; the rest wait.
    expect(log).toEqual(['a', 'b']);
    expect(q.load).toEqual({ running: 2, waiting: 3 });
    gates.a.finish();
    await tick();
    // A slot is free, but b (clean) is running: suspects wait until it is done (CPU to b).
    expect(log).toEqual(['a', 'b']);
    expect(q.load).toEqual({ running: 1, waiting: 3 });
    gates.b.finish();
    await tick();
    // The least suspect goes first; the reserved slot is not for suspects: e waits while d runs.
    expect(log).toEqual(['a', 'b', 'd']);
    expect(q.load).toEqual({ running: 1, waiting: 2 });
    gates.d.finish();
    await tick();
    expect(log).toEqual(['a', 'b', 'd', 'e']);
    gates.e.finish();
    await tick();
    gates.c.finish();
    expect(await Promise.all(runs)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(q.load).toEqual({ running: 0, waiting: 0 });
  });

  it('keeps the last slot for a clean login: a flood of suspects never delays it', async () => {
    const q = new HashQueue({ concurrency: 2, maxWaiting: 100, maxWaitMs: 60_000 });
    const log: string[] = [];
    const flood = Array.from({ length: 24 }, (_, i) => gate(log, `flood-${i}`));
    const floodRuns = flood.map((g, i) => q.run(1 + i, g.task));
    await tick();
    expect(log).toEqual(['flood-0']);
    const legit = gate(log, 'legit');
    const legitRun = q.run(0, legit.task);
    await tick();
    expect(log).toEqual(['flood-0', 'legit']);
    legit.finish();
    expect(await legitRun).toBe('legit');
    for (const g of flood) g.finish();
    await Promise.all(floodRuns);
  });

  it('when full, a less suspect newcomer takes the place of the most suspect waiter, who is told to come back', async () => {
    const q = new HashQueue({ concurrency: 1, maxWaiting: 2, maxWaitMs: 60_000 });
    const log: string[] = [];
    const running = gate(log, 'running');
    const first = q.run(0, running.task);
    const g1 = gate(log, 'w1');
    const w1 = q.run(4, g1.task);
    const w2 = q.run(9, gate(log, 'w2').task);
    const worse = q.run(9, gate(log, 'worse').task);
    await expect(worse).rejects.toBeInstanceOf(HashQueueBusy);
    const better = q.run(1, async () => 'better');
    await expect(w2).rejects.toMatchObject({ retryAfterSeconds: 60 });
    running.finish();
    expect(await first).toBe('running');
    expect(await better).toBe('better');
    await tick();
    expect(log).toContain('w1');
    g1.finish();
    expect(await w1).toBe('w1');
  });

  it('a waiter that waits longer than maxWaitMs is refused with Retry-After', async () => {
    const q = new HashQueue({ concurrency: 1, maxWaiting: 5, maxWaitMs: 50 });
    const log: string[] = [];
    const running = gate(log, 'running');
    const first = q.run(0, running.task);
    const started = performance.now();
    await expect(q.run(0, async () => 'late')).rejects.toMatchObject({ name: 'HashQueueBusy', retryAfterSeconds: 1 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    running.finish();
    await first;
    expect(q.load).toEqual({ running: 0, waiting: 0 });
  });
});
