/**
 * A bounded queue in front of password verification. scrypt is deliberately expensive (about a
 * core for tens of milliseconds and 32 MiB a guess), so without a bound a flood of wrong logins
 * queues every login behind it: 24 threads of wrong logins once made a legitimate one take 11–21 s.
 *
 * At most `concurrency` verifications run at once, and the last slot only for a clean login. The
 * others wait, at most `maxWaitMs`, in order of suspicion: a waiter's `priority` is the number of
 * failures already counted against its client address and account (lower first, then first come).
 * A login from a clean address for an account nobody is attacking therefore passes every waiter
 * of a flood and starts at once on the reserved slot. When `maxWaiting` are waiting, a newcomer takes the place of the most
 * suspect waiter if it is less suspect itself (that waiter is told to come back), and is told to
 * come back otherwise. "Come back" is a 429 with Retry-After to the client.
 */
export interface HashQueueSettings {
  concurrency: number;
  maxWaiting: number;
  maxWaitMs: number;
}

export class HashQueueBusy extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('password verification is busy');
    this.name = 'HashQueueBusy';
  }
}

interface Waiter {
  priority: number;
  seq: number;
  start(): void;
  refuse(): void;
  timer?: NodeJS.Timeout;
}

export class HashQueue {
  private running = 0;
  private seq = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly settings: HashQueueSettings) {}

  /** Waiting and running, for metrics and tests. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Runs `task` when a slot is free; rejects with HashQueueBusy when it cannot get one in time. */
  async run<T>(priority: number, task: () => Promise<T>): Promise<T> {
    await this.acquire(priority);
    try {
      return await task();
    } finally {
      this.running--;
      this.pump();
    }
  }

  private retryAfter(): number {
    return Math.max(1, Math.ceil(this.settings.maxWaitMs / 1000));
  }

  /**
   * The last slot is reserved for clean logins (priority 0: no failure counted against the address
   * or the account): a flood, whose addresses fail, never holds every slot, so a clean login starts
   * at once instead of waiting for a flood's verification to end. While clean logins run, suspects
   * start no more than leave a core to each of them (scrypt is CPU-bound: a clean login then shares
   * the CPU with at most the suspects' verifications that were already running).
   */
  private eligible(priority: number): boolean {
    const { concurrency } = this.settings;
    if (this.running >= concurrency) return false;
    if (priority === 0 || concurrency === 1) return true;
    return this.running < concurrency - 1;
  }

  private acquire(priority: number): Promise<void> {
    // Waiters still waiting cannot start (pump starts every one that can), so a newcomer that can, does.
    if (this.eligible(priority)) {
      this.take();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        priority,
        seq: this.seq++,
        start: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        refuse: () => {
          clearTimeout(waiter.timer);
          reject(new HashQueueBusy(this.retryAfter()));
        },
      };
      if (this.waiting.length >= this.settings.maxWaiting) {
        const worst = this.worst();
        if (!worst || compare(worst, waiter) <= 0) return waiter.refuse();
        this.remove(worst);
        worst.refuse();
      }
      this.waiting.push(waiter);
      waiter.timer = setTimeout(() => {
        this.remove(waiter);
        waiter.refuse();
      }, this.settings.maxWaitMs);
    });
  }

  private take(): void {
    this.running++;
  }

  /** Starts the least suspect waiters that may take a free slot. */
  private pump(): void {
    for (;;) {
      const next = this.best((w) => this.eligible(w.priority));
      if (!next) return;
      this.remove(next);
      this.take();
      next.start();
    }
  }

  private best(allowed: (w: Waiter) => boolean): Waiter | undefined {
    let best: Waiter | undefined;
    for (const w of this.waiting) if (allowed(w) && (!best || compare(w, best) < 0)) best = w;
    return best;
  }

  private worst(): Waiter | undefined {
    let worst: Waiter | undefined;
    for (const w of this.waiting) if (!worst || compare(w, worst) > 0) worst = w;
    return worst;
  }

  private remove(w: Waiter): void {
    const i = this.waiting.indexOf(w);
    if (i >= 0) this.waiting.splice(i, 1);
  }
}

/** Less suspect first, then first come. */
const compare = (a: Waiter, b: Waiter) => a.priority - b.priority || a.seq - b.seq;
