import type { Logger } from '../logging/logger.js';

/**
 * The periodic work of a node (CRL refresh, OCSP signer renewal, sweeping expired rows), in one
 * place so a newcomer sees every timer the service runs and a stop clears them all. Timers are
 * unref'd: they never keep a process alive, and a failed run is logged and retried next period.
 */
export class BackgroundJobs {
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly log: Logger) {}

  /** Runs `job` every `intervalMs`; a failure is logged as a warning with `failure` as message. */
  every(intervalMs: number, failure: string, job: () => Promise<unknown>): void {
    const timer = setInterval(() => {
      job().catch((err: unknown) => this.log.warn({ err }, failure));
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }
}
