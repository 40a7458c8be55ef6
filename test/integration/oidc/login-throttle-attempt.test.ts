import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { createOfficial } from '../../support/oidc-rp.js';
import { LoginThrottleRepository } from '../../../src/storage/login-throttle-repository.js';
import { AuditRepository } from '../../../src/storage/audit-repository.js';
import { verifyChain } from '../../../src/audit/audit-chain.js';

/**
 * Issue 20, seventh pass: a login counts its attempt on its three throttle keys in one statement
 * (LoginThrottleRepository.attempt; until 2026-12-06 one statement per key, "so that new keys
 * never deadlock"). The statement takes the rows in key order, as every other statement on them
 * does. These tests pin what a statement per key did (each key's own window, expired windows and
 * locks starting afresh, leases reported) and that bursts of attempts on the same new keys, given
 * in any order and overlapping only in part, beside successes and failures settling them, neither
 * deadlock nor lose a count; and, through the service, that a burst of failing and succeeding
 * logins counts every attempt before its hash and still stops at the bound.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let repo: LoginThrottleRepository;
let audit: AuditRepository;
const policy = { maxFailures: 1_000, windowMs: 600_000, lockMs: 60_000 };

beforeAll(async () => {
  t = await startTestService({
    env: {
      LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS: '3',
      LOGIN_MAX_FAILURES_PER_ADDRESS: '100',
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '100',
      LOGIN_HASH_WAIT_MS: '60000',
    },
  });
  repo = new LoginThrottleRepository(t.service.db.knex);
  audit = new AuditRepository(t.service.db.knex, { now: () => new Date() });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const PERMUTATIONS = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
];
const row = async (key: string) => (await repo.peek([key]))[0];

describe(`counting login attempts in one statement (${db})`, () => {
  it('counts each key as a statement per key did: its own window, expired windows and locks afresh, states in the order asked', async () => {
    const now = new Date();
    const knex = t.service.db.knex;
    const k = { fresh: 'ip:10.40.0.1', stale: 'pwd:account-ip:f1|10.40.0.1', locked: 'account:f1', unlocked: 'account:f2' };
    // stale: failures from 20 minutes ago (past its 10-minute window, within the other's hour);
    // locked: a lock still running; unlocked: a lock that has ended.
    await knex('login_throttle').insert([
      { key: k.stale, failures: 2, pending: 1, window_started_at: new Date(now.getTime() - 20 * 60_000), locked_until: null },
      { key: k.locked, failures: 4, pending: 0, window_started_at: new Date(now.getTime() - 60_000), locked_until: new Date(now.getTime() + 60_000) },
      { key: k.unlocked, failures: 4, pending: 2, window_started_at: new Date(now.getTime() - 60_000), locked_until: new Date(now.getTime() - 1_000) },
    ]);
    const states = await repo.attempt(
      [
        { key: k.locked, windowMs: 600_000 },
        { key: k.fresh, windowMs: 3_600_000 },
        { key: k.stale, windowMs: 600_000 },
        { key: k.unlocked, windowMs: 600_000 },
      ],
      now,
    );
    expect(states.map((s) => s.key)).toEqual([k.locked, k.fresh, k.stale, k.unlocked]);
    expect(states.map((s) => [s.failures, s.pending])).toEqual([
      [4, 1],
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
    expect(states[0].lockedUntil?.getTime()).toBe(now.getTime() + 60_000);
    expect(states[3].lockedUntil).toBeNull();
    expect(states[2].windowStartedAt.getTime()).toBe(now.getTime());
    expect(states[0].windowStartedAt.getTime()).toBe(now.getTime() - 60_000);
    // The same stale row under a longer window (an hour): its failures still count.
    await knex('login_throttle').where({ key: k.stale }).update({ failures: 2, pending: 0, window_started_at: new Date(now.getTime() - 20 * 60_000) });
    const [longer] = await repo.attempt([{ key: k.stale, windowMs: 3_600_000 }], now);
    expect([longer.failures, longer.pending]).toEqual([2, 1]);
    // A key asked twice is counted once; no keys, no statement.
    const twice = await repo.attempt([{ key: k.fresh, windowMs: 600_000 }, { key: k.fresh, windowMs: 600_000 }], now);
    expect(twice.map((s) => s.pending)).toEqual([2, 2]);
    expect(await repo.attempt([], now)).toEqual([]);
    // A lease on a key is reported to the attempt, as before.
    const leased = 'client-auth:ip:10.40.0.9';
    expect(await repo.lease(leased, 600_000, 5_000, now)).toBe(true);
    const [withLease] = await repo.attempt([{ key: leased, windowMs: 600_000 }], now);
    expect(withLease.leaseWaitMs).toBeGreaterThan(3_000);
    expect(withLease.leaseWaitMs).toBeLessThanOrEqual(5_000);
  });

  it('bursts of attempts on the same new keys in any order, beside successes and failures settling them, neither deadlock nor lose a count or an event', async () => {
    for (let round = 0; round < 3; round++) {
      // New keys each round (the speculative insertion a statement per key avoided): two
      // addresses, two accounts, their (account, address) keys; each attempt takes three of them.
      const ip = [`ip:10.41.${round}.1`, `ip:10.41.${round}.2`];
      const account = [`account:g${round}a`, `account:g${round}b`];
      const pair = (a: number, i: number) => `pwd:account-ip:g${round}${a}|10.41.${round}.${i + 1}`;
      const n = 48;
      const keysOf = (j: number) => {
        const a = j % 2;
        const i = Math.floor(j / 2) % 2;
        const keys = [ip[i], pair(a, i), account[a]];
        // Every order of the arguments (the statement sorts them).
        return PERMUTATIONS[Math.floor(j / 4) % 6].map((p) => keys[p]);
      };
      const before = (await t.service.audit.list({ limit: 1 }))[0]?.seq ?? 0;
      // Each attempt counted at once; then settled as a success (one statement with its event) or
      // as a failure (the counters in key order, then the event, in one transaction), while the
      // other attempts of the burst are still being counted.
      const outcomes = await Promise.all(
        Array.from({ length: n }, async (_, j) => {
          const keys = keysOf(j);
          const states = await repo.attempt(
            keys.map((key) => ({ key, windowMs: policy.windowMs })),
            new Date(),
          );
          expect(states.map((s) => s.key)).toEqual(keys);
          if (j % 3 === 0) {
            await t.service.db.withTransaction(async (trx) => {
              for (const key of [...keys].sort()) await repo.fail(trx, key, policy, new Date());
              await audit.append(trx, { actor: 'test', action: 'login.failure', target: `burst:${round}`, details: { j } });
            });
            return { keys, failed: true };
          }
          await repo.settleAudited(keys, [], { actor: 'test', action: 'login.success', target: `burst:${round}`, details: { j } }, new Date());
          return { keys, failed: false };
        }),
      );
      for (const key of [...ip, ...account, pair(0, 0), pair(0, 1), pair(1, 0), pair(1, 1)]) {
        const mine = outcomes.filter((o) => o.keys.includes(key));
        expect(await row(key)).toMatchObject({ key, pending: 0, failures: mine.filter((o) => o.failed).length });
        expect(mine.length).toBeGreaterThan(0);
      }
      const events = (await t.service.audit.list({ target: `burst:${round}`, limit: 200 })).filter((e) => e.seq > before);
      expect(events.length).toBe(n);
    }
    expect((await verifyChain(t.service.audit.all())).ok).toBe(true);
  }, 60_000);

  it('a burst of attempts only, on the same new keys in opposite orders, counts every one', async () => {
    const keys = ['ip:10.42.0.1', 'pwd:account-ip:h1|10.42.0.1', 'account:h1'];
    const n = 40;
    const states = await Promise.all(Array.from({ length: n }, (_, j) => repo.attempt((j % 2 ? [...keys].reverse() : keys).map((key) => ({ key, windowMs: policy.windowMs })), new Date())));
    for (const key of keys) {
      // Each attempt saw the ones before it, and itself: the pending counts are 1..n, each once.
      const seen = states.map((s) => s.find((x) => x.key === key)!.pending).sort((a, b) => a - b);
      expect(seen).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(await row(key)).toMatchObject({ pending: n, failures: 0 });
    }
  });

  it('through the service, a burst of wrong and right passwords from one address counts each before its hash and stops at the bound', async () => {
    const official = await createOfficial(t);
    const others = [await createOfficial(t), await createOfficial(t)];
    const ip = '10.43.0.1';
    const before = (await t.service.audit.list({ limit: 1 }))[0]?.seq ?? 0;
    // 12 wrong passwords on one account (its bound from one address: 3), and right ones of two
    // other accounts from the same address (3 each: attempts in flight count against the bound too),
    // all at once.
    const results = await Promise.all([
      ...Array.from({ length: 12 }, (_, i) => t.service.accounts.loginWithPassword({ login: official.login, password: `sai-${i}-mat-khau`, ip })),
      ...Array.from({ length: 6 }, (_, i) => t.service.accounts.loginWithPassword({ login: others[i % 2].login, password: others[i % 2].password, ip })),
    ]);
    const wrong = results.slice(0, 12);
    const right = results.slice(12);
    // The right passwords were admitted (their account's keys are clean) and logged in.
    expect(right.every((r) => r.ok)).toBe(true);
    // At most the bound's checks of the wrong ones ran (invalid), the rest were refused unchecked.
    const checked = wrong.filter((r) => !r.ok && r.reason === 'invalid').length;
    const refused = wrong.filter((r) => !r.ok && r.reason === 'throttled').length;
    expect(checked + refused).toBe(12);
    expect(checked).toBeLessThanOrEqual(3);
    const events = (await t.service.audit.list({ limit: 200 })).filter((e) => e.seq > before);
    const count = (action: string, target: string) => events.filter((e) => e.action === action && e.target === target).length;
    for (const other of others) expect(count('login.success', `account:${other.account.id}`)).toBe(3);
    // A failure event for each checked password (the one that locked the key may be one of those
    // answered "throttled"), a refusal for each attempt refused before its hash, and the lock.
    expect(count('login.failure', `account:${official.account.id}`)).toBe(3);
    expect(count('login.refused_throttled', `account:${official.account.id}`)).toBe(12 - 3);
    expect(count('login.throttled', `account:${official.account.id}`)).toBe(1);
    // Nothing left pending on any key of either account.
    const keys = [`ip:${ip}`, ...[official, ...others].flatMap((o) => [`pwd:account-ip:${o.account.id}|${ip}`, `account:${o.account.id}`])];
    for (const s of await repo.peek(keys)) expect(s.pending).toBe(0);
    expect((await row(`pwd:account-ip:${official.account.id}|${ip}`))?.failures).toBe(3);
  }, 120_000);
});
