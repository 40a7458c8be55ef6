import { describe, expect, it } from '@jest/globals';
import { keptInteractions } from '../../../oidc/kept-interactions.js';
import { captured, capturingInteraction, guardedRead, readGuardedInteraction } from '../../../oidc/login-capture.js';
import { withRequestMemo } from '../../../oidc/request-memo.js';

/**
 * The interactions a node has just stored (oidc/kept-interactions.ts) and the guard a login step
 * reads its interaction with (oidc/login-capture.ts): a copy taken once, never past its expiry,
 * bounded; the guard records what was read, and the step's captured result carries it.
 */
const now = new Date('2026-12-07T10:00:00Z');
const later = (s: number) => new Date(now.getTime() + s * 1000);
const payload = (n: number) => ({ jti: `i${n}`, kind: 'Interaction', prompt: { name: 'login', reasons: ['no_session'], details: {} }, params: { client_id: 'portal' }, returnTo: `/oidc/auth/i${n}` });

describe('interactions kept by the node that stored them', () => {
  it('answers a copy with its jti, once, and nothing once expired or forgotten', () => {
    const kept = keptInteractions();
    kept.stored('i1', payload(1), later(3600), now);
    kept.stored('i2', payload(2), later(10), now);
    kept.stored('i3', payload(3), later(3600), now);
    const found = kept.take('i1', now)!;
    expect(found).toEqual(payload(1));
    (found.prompt as { name: string }).name = 'consent';
    expect(kept.take('i1', now)).toBeUndefined();
    expect(kept.take('i2', later(11))).toBeUndefined();
    kept.forget('i3');
    expect(kept.take('i3', now)).toBeUndefined();
    expect(kept.size).toBe(0);
  });

  it('lets expired ones go when more are stored, and keeps at most 4,096', () => {
    const kept = keptInteractions();
    kept.stored('old', payload(0), later(5), now);
    for (let i = 1; i <= 4_097; i++) kept.stored(`i${i}`, payload(i), later(3600), later(6));
    expect(kept.size).toBe(4_096);
    expect(kept.take('old', later(6))).toBeUndefined();
    expect(kept.take('i1', later(6))).toBeUndefined();
    expect(kept.take('i2', later(6))?.jti).toBe('i2');
  });
});

describe('a login step’s guarded read of its interaction', () => {
  it('takes the kept copy only inside readGuardedInteraction, records what it read, and the captured result carries it as expected', async () => {
    const kept = keptInteractions();
    kept.stored('i1', payload(1), later(3600), now);
    const fromDatabase = { ...payload(1), fromDatabase: true };
    const read = () => guardedRead('i1', () => kept.take('i1', now), async () => fromDatabase);
    await withRequestMemo(async () => {
      // Outside it: the database's, the copy left kept.
      expect(await read()).toBe(fromDatabase);
      const { value, guard } = await readGuardedInteraction(read);
      expect(value).toEqual(payload(1));
      expect(guard).toEqual({ id: 'i1', payload: payload(1) });
      // Taken: a second guarded read goes to the database and is what the guard holds.
      const again = await readGuardedInteraction(read);
      expect(again.guard.payload).toEqual(fromDatabase);
      const { rows } = await capturingInteraction(async () => {
        captured('i1', { ...payload(1), result: { login: { accountId: 'a1' } } }, later(3600));
        captured('i9', payload(9), later(3600));
      }, guard);
      expect(rows.map((r) => [r.id, r.expected])).toEqual([
        ['i1', payload(1)],
        ['i9', undefined],
      ]);
    });
  });
});
