import { describe, expect, it } from '@jest/globals';
import { adapterFactory } from '../../../oidc/adapter.js';
import { accountReadOncePerRequest, currentScope, inRequest, withinScope, withRequestMemo } from '../../../oidc/request-memo.js';
import type { PayloadStore } from '../../../oidc/ports.js';

/** A payload store that counts its reads (issue 20: one request reads a row once). */
function countingStore() {
  const rows = new Map<string, Record<string, unknown>>();
  const reads: string[] = [];
  const store: PayloadStore = {
    async upsert(model, id, payload) {
      rows.set(`${model}:${id}`, structuredClone(payload));
    },
    async find(model, id) {
      reads.push(`${model}:${id}`);
      const row = rows.get(`${model}:${id}`);
      return row && structuredClone(row);
    },
    async findBy(model, _column, value) {
      reads.push(`${model}:uid:${value}`);
      return [...rows.entries()].find(([k, v]) => k.startsWith(`${model}:`) && v.uid === value)?.[1];
    },
    async consume(model, id) {
      const row = rows.get(`${model}:${id}`);
      if (row) row.consumed = 1;
    },
    async destroy(model, id) {
      rows.delete(`${model}:${id}`);
    },
    async revokeByGrantId() {},
  };
  const Adapter = adapterFactory(store, { providerMetadata: async () => undefined }, { now: () => new Date() }, () => false);
  return { Adapter, reads, rows };
}

describe('reads memoised per request (oidc/request-memo.ts)', () => {
  it('reads an interaction once per request; a write makes the next read go to the store', async () => {
    const { Adapter, reads } = countingStore();
    const interactions = new Adapter('Interaction');
    await interactions.upsert('i1', { uid: 'i1', params: { a: 1 } } as never, 60);
    await withRequestMemo(async () => {
      const first = await interactions.find('i1');
      const second = await interactions.find('i1');
      expect(reads).toEqual(['Interaction:i1']);
      // Each caller has its own copy: a change to one is not seen by the other.
      (first as { params: { a: number } }).params.a = 2;
      expect((second as { params: { a: number } }).params.a).toBe(1);
      await interactions.upsert('i1', { uid: 'i1', params: { a: 3 } } as never, 60);
      expect(((await interactions.find('i1')) as { params: { a: number } }).params.a).toBe(3);
      expect(reads).toEqual(['Interaction:i1', 'Interaction:i1']);
      await interactions.destroy('i1');
      expect(await interactions.find('i1')).toBeUndefined();
    });
    // Another request reads again.
    await withRequestMemo(() => interactions.find('i1'));
    expect(reads).toHaveLength(4);
  });

  it('never memoises authorization codes or tokens (their consumption detects a replay), nor outside a request', async () => {
    const { Adapter, reads } = countingStore();
    const codes = new Adapter('AuthorizationCode');
    await codes.upsert('c1', { accountId: 'a' } as never, 60);
    await withRequestMemo(async () => {
      await codes.find('c1');
      await codes.consume('c1');
      expect(await codes.find('c1')).toMatchObject({ consumed: 1 });
    });
    expect(reads).toEqual(['AuthorizationCode:c1', 'AuthorizationCode:c1']);
    const sessions = new Adapter('Session');
    await sessions.find('s1');
    await sessions.find('s1');
    expect(reads.filter((r) => r.startsWith('Session'))).toHaveLength(2);
  });

  it('a consumed or revoked model is read again in the same request', async () => {
    const { Adapter, reads } = countingStore();
    const grants = new Adapter('Grant');
    await grants.upsert('g1', { accountId: 'a' } as never, 60);
    await withRequestMemo(async () => {
      await grants.find('g1');
      await grants.revokeByGrantId('g1');
      await grants.find('g1');
    });
    expect(reads).toEqual(['Grant:g1', 'Grant:g1']);
  });

  it('an account is read once per request, and a failed read is not kept', async () => {
    let calls = 0;
    const find = accountReadOncePerRequest(async (id: string) => {
      calls++;
      if (calls === 1) throw new Error('database restarting');
      return { id, roles: ['official'] };
    });
    await withRequestMemo(async () => {
      await expect(find('a')).rejects.toThrow('database restarting');
      const one = await find('a');
      const two = await find('a');
      expect(one).toEqual(two);
      expect(one).not.toBe(two);
    });
    expect(calls).toBe(2);
  });
});

describe('one request scope for the memo, the token request and the authorization request (oidc/request-memo.ts)', () => {
  it('a field set by withinScope is seen during its work only, by that request only; the memo stays', async () => {
    const seen: unknown[] = [];
    let outlived: Promise<unknown> | undefined;
    let release!: () => void;
    const later = new Promise<void>((r) => (release = r));
    const request = (label: string) =>
      withRequestMemo(async () => {
        expect(currentScope()?.token).toBeUndefined();
        await withinScope('token', label, async () => {
          await Promise.resolve();
          seen.push(currentScope()?.token);
          expect(inRequest()).toBe(true);
          // Something the work starts and does not await: it must not see the field once the work is done.
          if (label === 'a') outlived = later.then(() => currentScope()?.token);
        });
        seen.push(currentScope()?.token ?? 'none');
        expect(inRequest()).toBe(true);
      });
    // Two requests at once: each sees its own.
    await Promise.all([request('a'), request('b')]);
    expect(seen.filter((s) => s !== 'none').sort()).toEqual(['a', 'b']);
    expect(seen.filter((s) => s === 'none')).toHaveLength(2);
    release();
    expect(await outlived).toBeUndefined();
  });

  it('outside a request a field gets a scope of its own without a memo, and the earlier value comes back after nesting', async () => {
    expect(currentScope()).toBeUndefined();
    await withinScope('authorization', true, async () => {
      expect(currentScope()?.authorization).toBe(true);
      expect(inRequest()).toBe(false);
      await withinScope('token', 'inner', async () => {
        expect(currentScope()).toMatchObject({ authorization: true, token: 'inner' });
      });
      expect(currentScope()?.token).toBeUndefined();
    });
    expect(currentScope()).toBeUndefined();
    // A failing work restores the field too.
    await withRequestMemo(async () => {
      await expect(withinScope('token', 'x', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(currentScope()?.token).toBeUndefined();
      // A work that throws before it returns a promise, too.
      expect(() =>
        withinScope('token', 'y', () => {
          throw new Error('at once');
        }),
      ).toThrow('at once');
      expect(currentScope()?.token).toBeUndefined();
    });
  });
});
