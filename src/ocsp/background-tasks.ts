import type { Logger } from '../logging/logger.js';

/**
 * The responder's background work (feed reads, pre-signing, issuer reloads), tracked so that
 * close() waits for it: the database closes right after. Failures are logged as warnings, not
 * once the responder is closing.
 */
export class BackgroundTasks {
  /** Set by `stop`; every part of the responder checks it between steps. */
  closed = false;
  private readonly running = new Set<Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly log: Logger) {}

  /** Runs `task` now; `what` is the warning logged if it fails. */
  run(task: () => Promise<unknown>, what: string): Promise<void> {
    const run = task()
      .then(() => undefined)
      .catch((err: unknown) => {
        if (!this.closed) this.log.warn({ err }, what);
      })
      .finally(() => this.running.delete(run));
    this.running.add(run);
    return run;
  }

  /**
   * Runs `task` every `ms`. A run that outlasts the interval is not joined by another one (with a
   * million certificates a pre-signing run can take longer than its interval).
   */
  every(ms: number, task: () => Promise<unknown>, what: string): void {
    let running: Promise<void> | null = null;
    const timer = setInterval(() => {
      if (running || this.closed) return;
      running = this.run(task, what).finally(() => {
        running = null;
      });
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  /** No new runs from now on. */
  stop(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
  }

  /** Waits for the runs in progress; they check `closed` between steps, so this is short. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}
