/** Injected wherever time matters (validity, expiry, audit), so tests can move it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
