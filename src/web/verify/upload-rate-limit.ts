/**
 * Uploads per client address and minute on one node (the /verify page is anonymous). In memory:
 * a node forgets its counts on restart, and N nodes accept N times the rate, which is the point of
 * a cheap first line rather than an exact quota (docs/verify.md). Durations come from the
 * monotonic clock.
 */
export interface RateDecision {
  allowed: boolean;
  retryAfterSeconds: number;
}

export class UploadRateLimit {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly perWindow: number,
    private readonly windowMs = 60_000,
    private readonly now: () => number = () => performance.now(),
    /** Addresses remembered at most; past it, expired windows are swept, then the oldest dropped. */
    private readonly maxAddresses = 100_000,
  ) {}

  take(address: string): RateDecision {
    const now = this.now();
    let w = this.windows.get(address);
    if (!w || now - w.start >= this.windowMs) {
      if (!w && this.windows.size >= this.maxAddresses) this.sweep(now);
      w = { start: now, count: 0 };
      this.windows.set(address, w);
    }
    if (w.count >= this.perWindow) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000)) };
    w.count++;
    return { allowed: true, retryAfterSeconds: 0 };
  }

  private sweep(now: number): void {
    for (const [address, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(address);
    while (this.windows.size >= this.maxAddresses) this.windows.delete(this.windows.keys().next().value as string);
  }
}
