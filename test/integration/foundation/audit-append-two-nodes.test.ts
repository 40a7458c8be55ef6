import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import knexFactory, { type Knex } from 'knex';
import { AuditRepository, auditAppendCall } from '../../../src/storage/audit-repository.js';
import { canonicalJson, eventHash, verifyChain, type AuditEvent } from '../../../src/audit/audit-chain.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../../support/test-db.js';

/**
 * Issue 20 (docs/performance.md, "Logins: one round trip per audit event"): an audit event is
 * appended by the database's append function, the chain's lock, head and insert in one call,
 * the hash computed there from the canonical JSON the service made. The chain must stay one
 * contiguous, verifiable chain under a parallel burst from two nodes (two connection pools on
 * one PostgreSQL database), with batch appends and rolled-back appends among them, and every
 * stored event must be exactly what the service hashed.
 */
const clock = { now: () => new Date() };
let t: TestDatabase;
let nodeA: AuditRepository;
let nodeB: AuditRepository;
let second: Knex | undefined;

beforeAll(async () => {
  t = await createTestDatabase();
  nodeA = new AuditRepository(t.db.knex, clock);
  // The embedded database has one connection and no second process: the burst runs on one node there.
  second = usingPostgres() ? knexFactory({ client: 'pg', connection: t.env.DATABASE_URL, pool: { min: 0, max: 8 } }) : undefined;
  nodeB = second ? new AuditRepository(second, clock) : nodeA;
}, 60_000);

afterAll(async () => {
  await second?.destroy();
  await t?.destroy();
});

const awkward = [
  { tên: 'Nguyễn Thị Ngọc Hân', nested: { z: 1, a: [true, null, 'x'] } },
  { quote: 'a"b\\c', line: 'một\ndòng\u2028hai', emoji: '🔐', empty: {} },
  { n: 12345678901234, f: 0.1, neg: -3 },
  {},
];

describe(`the audit chain's append function (${usingPostgres() ? 'PostgreSQL, two nodes' : 'embedded'})`, () => {
  it('keeps one contiguous, verifiable chain under a parallel burst of single, batch and rolled-back appends', async () => {
    const kinds = Array.from({ length: 48 }, (_, i) => i);
    const appended: AuditEvent[] = [];
    const outcomes = await Promise.allSettled(
      kinds.map(async (i) => {
        const node = i % 2 ? nodeB : nodeA;
        const knex = i % 2 && second ? second : t.db.knex;
        const input = { actor: `user:burst-${i}`, action: 'login.success', target: i % 5 ? `account:${i}` : null, details: { i, ...awkward[i % awkward.length] } };
        if (i % 7 === 3) {
          // Rolled back after its append: no trace, no gap.
          await knex.transaction(async (trx) => {
            await node.append(trx, input);
            throw new Error('rolled back');
          });
        } else if (i % 11 === 5) {
          appended.push(...(await knex.transaction((trx) => node.appendMany(trx, [input, { ...input, action: 'certificate.issue' }]))));
        } else {
          appended.push(await knex.transaction((trx) => node.append(trx, input)));
        }
      }),
    );
    expect(outcomes.filter((o) => o.status === 'rejected').every((o) => /rolled back/.test(String((o as PromiseRejectedResult).reason)))).toBe(true);
    const stored: AuditEvent[] = [];
    for await (const e of nodeA.all()) stored.push(e);
    expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
    expect(stored).toHaveLength(appended.length);
    expect((await verifyChain(nodeA.all())).ok).toBe(true);
    // What each append answered is what was stored, and its hash is the service's own.
    const bySeq = new Map(stored.map((e) => [e.seq, e]));
    for (const e of appended) {
      const s = bySeq.get(e.seq)!;
      expect(canonicalJson(s.details)).toBe(canonicalJson(e.details));
      expect(s.hash.equals(e.hash)).toBe(true);
      expect(eventHash(e.prevHash, e).equals(e.hash)).toBe(true);
    }
  }, 60_000);

  it('throws when the database answers a hash that is not the service\'s own for the event (nothing is kept: the caller\'s statement fails)', () => {
    const call = auditAppendCall({ actor: 'user:x', action: 'test', details: { a: 1 } }, new Date());
    expect(() => call.appended({ out_seq: 1, out_prev_hash: Buffer.alloc(32), out_hash: Buffer.alloc(32, 1) })).toThrow(/differs/);
    expect(() => call.appended(undefined)).toThrow(/no row/);
  });
});
