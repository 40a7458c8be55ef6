import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { LoginThrottleRepository } from '../../../src/storage/login-throttle-repository.js';

/**
 * Issue 20: a login settles its three throttle counters in one statement (two round trips fewer
 * per password login). The same result as one statement per key: released keys lose one pending
 * attempt, reset keys are gone, other keys are untouched; and settlements of the same keys at once,
 * inside transactions, in any argument order, neither deadlock nor lose a count.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let repo: LoginThrottleRepository;
const now = new Date();
const window = { windowMs: 600_000 };

beforeAll(async () => {
  t = await startTestService();
  repo = new LoginThrottleRepository(t.service.db.knex);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

async function counters(keys: string[]): Promise<Record<string, number | null>> {
  const rows = await repo.peek(keys);
  return Object.fromEntries(keys.map((k) => [k, rows.find((r) => r.key === k)?.pending ?? null]));
}

describe(`settling login throttle counters (${db})`, () => {
  it('releases and resets several keys in one statement as one statement per key did', async () => {
    const keys = ['ip:10.30.0.1', 'pwd:account-ip:a1|10.30.0.1', 'account:a1', 'ip:10.30.0.99'];
    for (let i = 0; i < 3; i++) await repo.attempt(keys.map((key) => ({ key, ...window })), now);
    await t.service.db.withTransaction((trx) => repo.settle(trx, keys.slice(0, 3), ['pwd:account-ip:a1|10.30.0.1']));
    expect(await counters(keys)).toEqual({ 'ip:10.30.0.1': 2, 'pwd:account-ip:a1|10.30.0.1': null, 'account:a1': 2, 'ip:10.30.0.99': 3 });
    // Pending never goes below zero; an absent key is no error.
    await repo.settle(null, ['ip:10.30.0.1', 'account:a1', 'ip:10.30.0.1', 'account:absent']);
    await repo.settle(null, ['ip:10.30.0.1', 'account:a1']);
    await repo.settle(null, ['ip:10.30.0.1', 'account:a1']);
    expect(await counters(['ip:10.30.0.1', 'account:a1', 'account:absent'])).toEqual({ 'ip:10.30.0.1': 0, 'account:a1': 0, 'account:absent': null });
    // Only resets, several keys.
    await repo.settle(null, [], ['ip:10.30.0.99', 'account:a1']);
    expect(await counters(['ip:10.30.0.99', 'account:a1', 'ip:10.30.0.1'])).toEqual({ 'ip:10.30.0.99': null, 'account:a1': null, 'ip:10.30.0.1': 0 });
  });

  it('concurrent settlements of the same keys in transactions, in any order, neither deadlock nor lose a count', async () => {
    const keys = ['ip:10.31.0.1', 'pwd:account-ip:b1|10.31.0.1', 'account:b1'];
    const n = 24;
    for (let i = 0; i < n; i++) await repo.attempt(keys.map((key) => ({ key, ...window })), now);
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        t.service.db.withTransaction(async (trx) => {
          const order = i % 2 ? [...keys].reverse() : keys;
          await repo.settle(trx, order);
          // Held a little, as a login's transaction holds them until its audit event is appended.
          await trx.raw('select 1');
        }),
      ),
    );
    expect(await counters(keys)).toEqual(Object.fromEntries(keys.map((k) => [k, 0])));
  });
});
