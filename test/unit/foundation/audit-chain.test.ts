import { describe, expect, it } from '@jest/globals';
import { GENESIS_HASH, canonicalJson, eventBodyAroundSeq, eventHash, verifyChain, type AuditEvent } from '../../../src/audit/audit-chain.js';

function chain(n: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const base = {
      seq,
      occurredAt: new Date(Date.UTC(2026, 10, 27, 9, 0, seq)),
      actor: 'user:ra1',
      action: 'certificate.revoke',
      target: `certificate:${seq}`,
      details: { reason: 'keyCompromise', nested: { b: 2, a: [1, 'Nguyễn'] } },
    };
    const hash = eventHash(prev, base);
    events.push({ ...base, prevHash: prev, hash });
    prev = hash;
  }
  return events;
}

async function* iterate(events: AuditEvent[]) {
  yield* events;
}

describe('audit hash chain', () => {
  it('the canonical JSON around the sequence number is the canonical JSON the hash covers (the database\'s append function completes it)', () => {
    const cases = [
      { actor: 'user:a', action: 'login.success', target: 'account:1', details: { z: 1, a: { y: [1, 'hai', null], b: true } } },
      { actor: 'cli:"root"', action: 'x', target: null, details: {} },
      { actor: 'user:Ngọc Hân', action: 'passkey.register', target: 't\u2028🔐', details: { 'k"ey': 'a\\b\nc', n: -0.5 } },
    ];
    for (const c of cases) {
      for (const seq of [1, 9, 10, 123456789012]) {
        const occurredAt = new Date(Date.UTC(2026, 11, 6, 1, 2, 3, 45));
        const { head, tail } = eventBodyAroundSeq({ ...c, occurredAt });
        const body = canonicalJson({ seq, occurredAt: occurredAt.toISOString(), actor: c.actor, action: c.action, target: c.target, details: c.details });
        expect(`${head}${seq}${tail}`).toBe(body);
      }
    }
  });

  it('canonical JSON sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ x: 'Đà Nẵng' })).toBe('{"x":"Đà Nẵng"}');
  });

  it('accepts an intact chain and reports its head', async () => {
    const events = chain(5);
    const result = await verifyChain(iterate(events));
    expect(result).toEqual({ ok: true, checked: 5, head: { seq: 5, hash: events[4].hash.toString('hex') } });
    expect(await verifyChain(iterate([]))).toEqual({ ok: true, checked: 0, head: null });
  });

  it('names an edited event', async () => {
    const events = chain(5);
    events[2] = { ...events[2], actor: 'user:mallory' };
    const result = await verifyChain(iterate(events));
    expect(result.ok).toBe(false);
    expect(result.firstBad).toMatchObject({ seq: 3, problem: 'edited' });
  });

  it('names the gap left by a deleted event', async () => {
    const events = chain(5);
    events.splice(1, 2);
    const result = await verifyChain(iterate(events));
    expect(result.firstBad).toMatchObject({ seq: 4, problem: 'missing' });
    expect(result.firstBad!.message).toContain('#2–#3 are missing');
  });

  it('names the break when an event was replaced with a recomputed hash', async () => {
    const events = chain(5);
    const forged = { ...events[1], details: { reason: 'superseded' } };
    events[1] = { ...forged, hash: eventHash(forged.prevHash, forged) };
    const result = await verifyChain(iterate(events));
    expect(result.firstBad).toMatchObject({ seq: 3, problem: 'broken-link' });
  });

  it('detects two events swapped', async () => {
    const events = chain(4);
    [events[1], events[2]] = [events[2], events[1]];
    const result = await verifyChain(iterate(events));
    expect(result.ok).toBe(false);
    expect(result.firstBad!.seq).toBe(3);
  });
});
