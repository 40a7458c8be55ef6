/** Injected wherever time matters (validity, expiry, audit), so tests can move it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * The clock's time in milliseconds: `Date.now()` for the system clock, without the Date object
 * (the change feed's check runs on every token grant; docs/performance.md, "Token endpoint
 * (client credentials), eighth pass"); any other clock (a test's) is asked as always.
 */
export function nowMsOf(clock: Clock): number {
  return clock === systemClock ? Date.now() : clock.now().getTime();
}
