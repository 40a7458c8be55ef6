/**
 * Our registry held on a validation node (src/validation/registry-index.ts): what it answers, and
 * what it leaves to the registry read.
 */
import { describe, expect, it } from '@jest/globals';
import { RegistryIndex, type IndexedRow, type RegistryIndexSource } from '../../../src/validation/registry-index.js';
import type { RegistryStatus } from '../../../src/validation/ports.js';

const T0 = new Date('2026-12-06T00:00:00Z');
const good = (sha: string): RegistryStatus => ({ derSha256: sha, status: 'good', revokedAt: null, revocationReason: null, invalidityDate: null, statusChangedAt: T0 });
const row = (serial: string, status: RegistryStatus, at = 0, issuerId = 'ca1'): IndexedRow => ({ issuerId, serial, createdAt: new Date(T0.getTime() + at), status });

/** A registry of rows in keyset order; `gate` holds a page read until released. */
class FakeRegistry implements RegistryIndexSource {
  rows: IndexedRow[] = [];
  pages = 0;
  gate: Promise<void> | null = null;
  async page(issuerIds: string[], after: { createdAt: Date; serial: string; issuerId: string } | null, limit: number): Promise<IndexedRow[]> {
    this.pages++;
    const snapshot = this.rows
      .filter((r) => issuerIds.includes(r.issuerId))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.serial.localeCompare(b.serial) || a.issuerId.localeCompare(b.issuerId))
      .filter((r) => !after || r.createdAt > after.createdAt || (r.createdAt.getTime() === after.createdAt.getTime() && (r.serial > after.serial || (r.serial === after.serial && r.issuerId > after.issuerId))))
      .slice(0, limit)
      .map((r) => ({ ...r, status: { ...r.status } }));
    if (this.gate) await this.gate;
    return snapshot;
  }
}

async function loaded(registry: FakeRegistry, options: Partial<ConstructorParameters<typeof RegistryIndex>[1]> = {}) {
  let fresh = true;
  const index = new RegistryIndex(registry, { fresh: () => fresh, pageRows: 2, ...options });
  index.issuers(['ca1']);
  index.refreshIfDue(0);
  await index.settled();
  return { index, setFresh: (f: boolean) => (fresh = f) };
}

describe('the registry index', () => {
  it('answers a good certificate with the digest of its DER, a hold or a revocation with the whole record', async () => {
    const registry = new FakeRegistry();
    const held: RegistryStatus = { derSha256: 'bb', status: 'hold', revokedAt: T0, revocationReason: 'certificateHold', invalidityDate: null, statusChangedAt: T0 };
    const revoked: RegistryStatus = { derSha256: 'cc', status: 'revoked', revokedAt: T0, revocationReason: 'keyCompromise', invalidityDate: new Date(T0.getTime() - 86_400_000), statusChangedAt: T0 };
    registry.rows = [row('0a', good('aa'), 1), row('0b', held, 2), row('0c', revoked, 3), row('0d', good('dd'), 3), row('0e', good('ee'), 4)];
    const { index } = await loaded(registry);
    expect(index.size).toBe(5);
    expect(registry.pages).toBe(3); // pages of 2: 2 + 2 + 1
    expect(index.lookup('ca1', '0a')).toEqual({ derSha256: 'aa', status: 'good' });
    expect(index.lookup('ca1', '0b')).toEqual(held);
    // The times the validator compares with the signing and check times are the registry's own.
    expect(index.lookup('ca1', '0c')).toEqual(revoked);
    expect(index.lookup('ca1', '0e')).toEqual({ derSha256: 'ee', status: 'good' });
  });

  it('leaves to the registry read: an unknown serial, another issuer, a reservation without DER', async () => {
    const registry = new FakeRegistry();
    registry.rows = [row('0a', good('aa')), row('0f', { ...good('x'), derSha256: null }), row('0a', good('zz'), 0, 'foreign')];
    const { index } = await loaded(registry);
    expect(index.lookup('ca1', '99')).toBeUndefined();
    expect(index.lookup('foreign', '0a')).toBeUndefined();
    expect(index.lookup('ca1', '0f')).toBeUndefined();
    expect(index.lookup('ca2', '0a')).toBeUndefined();
  });

  it('answers nothing while the node does not follow the change feed (an outage): every lookup goes to the registry', async () => {
    const registry = new FakeRegistry();
    registry.rows = [row('0a', good('aa'))];
    const { index, setFresh } = await loaded(registry);
    setFresh(false);
    expect(index.lookup('ca1', '0a')).toBeUndefined();
    setFresh(true);
    expect(index.lookup('ca1', '0a')).toEqual({ derSha256: 'aa', status: 'good' });
  });

  it('drops a certificate whose status changed (this node or the feed), and does not take it back from a page read before the change', async () => {
    const registry = new FakeRegistry();
    registry.rows = [row('0a', good('aa'), 1), row('0b', good('bb'), 2)];
    const { index } = await loaded(registry, { refreshMs: 0 });
    index.forget('ca1', '0a');
    expect(index.lookup('ca1', '0a')).toBeUndefined();
    // A refresh whose page was read before a revocation that the feed delivers while it is in flight.
    let release!: () => void;
    registry.gate = new Promise((r) => (release = r));
    index.refreshIfDue(1);
    await new Promise((r) => setImmediate(r));
    registry.rows[1] = row('0b', { ...good('bb'), status: 'revoked', revokedAt: T0, revocationReason: 'keyCompromise' }, 2);
    index.forget('ca1', '0b');
    release();
    registry.gate = null;
    await index.settled();
    expect(index.lookup('ca1', '0b')).toBeUndefined();
    // The refresh after the change holds the registry's new record.
    index.refreshIfDue(2);
    await index.settled();
    expect(index.lookup('ca1', '0b')).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    expect(index.lookup('ca1', '0a')).toEqual({ derSha256: 'aa', status: 'good' });
  });

  it('the same during a whole reload: a change delivered meanwhile is not in what replaces the held rows', async () => {
    const registry = new FakeRegistry();
    registry.rows = [row('0a', good('aa'), 1), row('0b', good('bb'), 2), row('0c', good('cc'), 3)];
    const { index } = await loaded(registry, { refreshMs: 0, reloadMs: 0 });
    let release!: () => void;
    registry.gate = new Promise((r) => (release = r));
    index.refreshIfDue(10);
    await new Promise((r) => setImmediate(r));
    index.forget('ca1', '0a');
    release();
    registry.gate = null;
    await index.settled();
    expect(index.lookup('ca1', '0a')).toBeUndefined();
    expect(index.lookup('ca1', '0c')).toEqual({ derSha256: 'cc', status: 'good' });
  });

  it('a whole reload drops rows the registry no longer has (a change made outside the service)', async () => {
    const registry = new FakeRegistry();
    registry.rows = [row('0a', good('aa'), 1), row('0b', good('bb'), 2)];
    const { index } = await loaded(registry, { refreshMs: 0, reloadMs: 100 });
    registry.rows = [row('0b', good('bb'), 2)];
    index.refreshIfDue(50); // incremental: keeps what it holds
    await index.settled();
    expect(index.lookup('ca1', '0a')).toBeDefined();
    index.refreshIfDue(150); // whole
    await index.settled();
    expect(index.lookup('ca1', '0a')).toBeUndefined();
    expect(index.lookup('ca1', '0b')).toBeDefined();
  });

  it('takes certificates created since its last read, reading again from a little before the newest it holds', async () => {
    const registry = new FakeRegistry();
    registry.rows = [row('0a', good('aa'), 1_000_000)];
    const { index } = await loaded(registry, { refreshMs: 10, overlapMs: 60_000 });
    // Committed late with an earlier created_at (another node's clock): within the overlap.
    registry.rows.push(row('0b', good('bb'), 1_000_000 - 30_000), row('0c', good('cc'), 2_000_000));
    index.refreshIfDue(5); // not due yet
    await index.settled();
    expect(index.lookup('ca1', '0c')).toBeUndefined();
    index.refreshIfDue(20);
    await index.settled();
    expect(index.lookup('ca1', '0b')).toEqual({ derSha256: 'bb', status: 'good' });
    expect(index.lookup('ca1', '0c')).toEqual({ derSha256: 'cc', status: 'good' });
  });

  it('holds at most maxEntries; the rest is read from the registry', async () => {
    const registry = new FakeRegistry();
    registry.rows = Array.from({ length: 7 }, (_, i) => row(`0${i}`, good(`h${i}`), i));
    const { index } = await loaded(registry, { maxEntries: 4 });
    expect(index.size).toBe(4);
    expect(index.lookup('ca1', '06')).toBeUndefined();
  });

  it('reads nothing once closed, and nothing before it knows our issuers', async () => {
    const registry = new FakeRegistry();
    registry.rows = [row('0a', good('aa'))];
    const index = new RegistryIndex(registry, { fresh: () => true });
    index.refreshIfDue(0);
    await index.settled();
    expect(registry.pages).toBe(0);
    index.issuers(['ca1']);
    index.close();
    index.refreshIfDue(0);
    await index.settled();
    expect(index.lookup('ca1', '0a')).toBeUndefined();
  });
});
