import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditRepository } from '../../../src/storage/audit-repository.js';
import { verifyChain } from '../../../src/audit/audit-chain.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { runCli } from '../../support/run-cli.js';

const clock = { now: () => new Date() };
let t: TestDatabase;
let audit: AuditRepository;

beforeAll(async () => {
  t = await createTestDatabase();
  audit = new AuditRepository(t.db.knex, clock);
});
afterAll(async () => {
  await t?.destroy();
});


describe(`audit log (${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded'})`, () => {
  it('appends concurrently into one contiguous chain', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.db.withTransaction((trx) => audit.append(trx, { actor: 'user:ra1', action: 'certificate.issue', target: `certificate:${i}`, details: { i, tên: 'Nguyễn Văn A' } })),
      ),
    );
    const events = await audit.list({ limit: 100 });
    expect(events.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((await verifyChain(audit.all(7))).ok).toBe(true);
  });

  it('leaves nothing behind when the recorded change rolls back', async () => {
    const before = (await audit.list({ limit: 1 }))[0].seq;
    await expect(
      t.db.withTransaction(async (trx) => {
        await audit.append(trx, { actor: 'user:ra1', action: 'certificate.revoke', target: 'certificate:x' });
        throw new Error('issuance failed after the audit append');
      }),
    ).rejects.toThrow('issuance failed');
    expect((await audit.list({ limit: 1 }))[0].seq).toBe(before);
  });

  it('refuses UPDATE, DELETE and TRUNCATE at the database', async () => {
    await expect(t.db.knex('audit_events').where('seq', 1).update({ actor: 'x' })).rejects.toThrow(/append-only/);
    await expect(t.db.knex('audit_events').where('seq', 1).del()).rejects.toThrow(/append-only/);
    await expect(t.db.knex.raw('TRUNCATE audit_events')).rejects.toThrow(/append-only/);
  });

  it('`tinnhiem audit verify` passes on the intact chain and names a row changed in SQL', async () => {
    await t.close();
    const intact = await runCli(['audit', 'verify', '--json'], t.env);
    expect(intact.code).toBe(0);
    expect(JSON.parse(intact.stdout)).toMatchObject({ ok: true, checked: 20 });

    // Someone with DDL rights bypasses the append-only trigger and edits event #7.
    const db = await t.reopen();
    const original = (await db.knex('audit_events').where('seq', 7).first('details')).details as Record<string, unknown>;
    await db.knex.raw('ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only');
    await db.knex.raw(`UPDATE audit_events SET details = jsonb_set(details, '{i}', '999') WHERE seq = 7`);
    await t.close();
    const edited = await runCli(['audit', 'verify', '--json'], t.env);
    expect(edited.code).toBe(1);
    expect(JSON.parse(edited.stdout)).toMatchObject({ ok: false, firstBad: { seq: 7, problem: 'edited' } });
    const human = await runCli(['audit', 'verify'], t.env);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('AUDIT CHAIN BROKEN at event #7');

    // Deleting a row is named as well.
    const again = await t.reopen();
    await again.knex('audit_events').where('seq', 7).update({ details: JSON.stringify(original) });
    await again.knex('audit_events').where('seq', 12).del();
    await t.close();
    const deleted = await runCli(['audit', 'verify', '--json'], t.env);
    expect(JSON.parse(deleted.stdout)).toMatchObject({ ok: false, firstBad: { seq: 13, problem: 'missing' } });
    await t.reopen();
  });
});
