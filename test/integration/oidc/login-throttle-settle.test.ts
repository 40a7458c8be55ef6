import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { LoginThrottleRepository } from '../../../src/storage/login-throttle-repository.js';
import { AuditRepository } from '../../../src/storage/audit-repository.js';
import { verifyChain } from '../../../src/audit/audit-chain.js';

/**
 * Issue 20: a login settles its three throttle counters in one statement (two round trips fewer
 * per password login). The same result as one statement per key: released keys lose one pending
 * attempt, reset keys are gone, other keys are untouched; and settlements of the same keys at once,
 * inside transactions, in any argument order, neither deadlock nor lose a count.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let repo: LoginThrottleRepository;
let audit: AuditRepository;
const now = new Date();
const window = { windowMs: 600_000 };

beforeAll(async () => {
  t = await startTestService();
  repo = new LoginThrottleRepository(t.service.db.knex);
  audit = new AuditRepository(t.service.db.knex, { now: () => new Date() });
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

  // A password login's success settles its counters and appends login.success in one statement
  // without a transaction (settleAudited): the same settlement, the event in the chain, both or neither.
  it('settles and appends the success event in one statement, as settle and append in a transaction did', async () => {
    const keys = ['ip:10.32.0.1', 'pwd:account-ip:c1|10.32.0.1', 'account:c1'];
    for (let i = 0; i < 2; i++) await repo.attempt(keys.map((key) => ({ key, ...window })), now);
    const event = await repo.settleAudited(keys, ['pwd:account-ip:c1|10.32.0.1'], { actor: 'user:c1', action: 'login.success', target: 'account:c1', details: { method: 'pwd', ip: '10.32.0.1' } }, new Date());
    expect(await counters(keys)).toEqual({ 'ip:10.32.0.1': 1, 'pwd:account-ip:c1|10.32.0.1': null, 'account:c1': 1 });
    const stored = (await t.service.audit.list({ action: 'login.success', target: 'account:c1', limit: 5 }))[0];
    expect(stored).toMatchObject({ seq: event.seq, actor: 'user:c1', details: { method: 'pwd', ip: '10.32.0.1' } });
    expect(Buffer.from(stored.hash).equals(event.hash)).toBe(true);
    expect((await verifyChain(t.service.audit.all())).ok).toBe(true);
  });

  it('keeps neither the settlement nor the event when the append fails', async () => {
    const keys = ['ip:10.33.0.1', 'pwd:account-ip:d1|10.33.0.1', 'account:d1'];
    await repo.attempt(keys.map((key) => ({ key, ...window })), now);
    const knex = t.service.db.knex;
    // A fault in the chain's insert, for this test's action only.
    await knex.raw(`CREATE FUNCTION test_refuse_append() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.action = 'test.refused' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
    await knex.raw('CREATE TRIGGER test_refuse_append BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_refuse_append()');
    try {
      const before = (await t.service.audit.list({ limit: 1 }))[0]?.seq ?? 0;
      await expect(repo.settleAudited(keys, ['pwd:account-ip:d1|10.33.0.1'], { actor: 'user:d1', action: 'test.refused', target: 'account:d1', details: {} }, new Date())).rejects.toThrow(/refused by the test/);
      expect(await counters(keys)).toEqual({ 'ip:10.33.0.1': 1, 'pwd:account-ip:d1|10.33.0.1': 1, 'account:d1': 1 });
      expect((await t.service.audit.list({ limit: 1 }))[0]?.seq ?? 0).toBe(before);
    } finally {
      await knex.raw('DROP TRIGGER test_refuse_append ON audit_events');
      await knex.raw('DROP FUNCTION test_refuse_append()');
    }
  });

  it('a burst of audited successes and failing logins on the same keys neither deadlocks nor loses a count or an event', async () => {
    const keys = ['ip:10.34.0.1', 'pwd:account-ip:e1|10.34.0.1', 'account:e1'];
    const policy = { maxFailures: 1_000, windowMs: 600_000, lockMs: 60_000 };
    const n = 24;
    for (let i = 0; i < n; i++) await repo.attempt(keys.map((key) => ({ key, ...window })), now);
    const before = (await t.service.audit.list({ limit: 1 }))[0]?.seq ?? 0;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        i % 2
          ? repo.settleAudited(i % 4 === 1 ? keys : [...keys].reverse(), [], { actor: 'user:e1', action: 'login.success', target: 'account:e1', details: { i } }, new Date())
          : // A failure as PasswordLogin records it: the counters in key order, then its event, in one transaction.
            t.service.db.withTransaction(async (trx) => {
              for (const key of [...keys].sort()) await repo.fail(trx, key, policy, new Date());
              await audit.append(trx, { actor: 'user:e1', action: 'login.failure', target: 'account:e1', details: { i } });
            }),
      ),
    );
    const rows = await repo.peek(keys);
    for (const key of keys) expect(rows.find((r) => r.key === key)).toMatchObject({ pending: 0, failures: n / 2 });
    const events = (await t.service.audit.list({ target: 'account:e1', limit: 100 })).filter((e) => e.seq > before);
    expect(events.map((e) => e.action).sort()).toEqual([...Array(n / 2).fill('login.failure'), ...Array(n / 2).fill('login.success')]);
    expect((await verifyChain(t.service.audit.all())).ok).toBe(true);
  });
});
