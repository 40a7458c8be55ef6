import { describe, expect, it } from '@jest/globals';
import { errors } from 'oidc-provider';
import { adapterFactory, asTokenRequest } from '../../../oidc/adapter.js';
import { accountReadOncePerRequest, withRequestMemo } from '../../../oidc/request-memo.js';
import type { PayloadStore, StoredPayload } from '../../../oidc/ports.js';

/**
 * The refresh token grant's writes held for one statement (oidc/adapter.ts, refreshRotation),
 * driven as oidc-provider's refresh_token grant drives the adapter: find, consume, upsert of the
 * rotated refresh token, then (opaque format) upsert of the access token.
 */
function recordingStore(options: { consumedFirst?: boolean; account?: { id: string; status: string } | null } = {}) {
  const calls: string[] = [];
  const store: PayloadStore = {
    async upsert(model, id) {
      calls.push(`upsert ${model}:${id}`);
    },
    async find(model, id) {
      calls.push(`find ${model}:${id}`);
      return model === 'Grant' ? { accountId: 'a' } : undefined;
    },
    async findBy() {
      return undefined;
    },
    async consume(model, id) {
      calls.push(`consume ${model}:${id}`);
    },
    async destroy(model, id) {
      calls.push(`destroy ${model}:${id}`);
    },
    async revokeByGrantId(grantId) {
      calls.push(`revoke ${grantId}`);
    },
    async consumeAndStore(consume, rows: readonly StoredPayload[]) {
      calls.push(`consumeAndStore ${consume.model}:${consume.id} + ${rows.map((r) => `${r.model}:${r.id}`).join(', ')}`);
      return !options.consumedFirst;
    },
    async findWithGrant(model, id) {
      calls.push(`findWithGrant ${model}:${id}`);
      const found = { payload: { grantId: 'g1', accountId: 'a' }, grant: { accountId: 'a', jti: 'g1' } };
      return 'account' in options ? { ...found, account: options.account as never } : found;
    },
  };
  const ended: string[] = [];
  const Adapter = adapterFactory(store, { providerMetadata: async () => undefined }, { now: () => new Date() }, () => false, async (g) => void ended.push(g));
  return { Adapter, calls, ended };
}

const ok = { succeeded: () => true, refuse: () => undefined };

describe('refresh token rotation in one statement (oidc/adapter.ts)', () => {
  it('reads the token with its grant once, and writes the consumption, the rotated token and the access token together', async () => {
    const { Adapter, calls } = recordingStore();
    const [rts, ats, grants] = [new Adapter('RefreshToken'), new Adapter('AccessToken'), new Adapter('Grant')];
    await withRequestMemo(() =>
      asTokenRequest(async () => {
        expect(await rts.find('old')).toMatchObject({ grantId: 'g1' });
        expect(await grants.find('g1')).toMatchObject({ accountId: 'a' }); // from the same query
        await rts.consume('old');
        await rts.upsert('new', { grantId: 'g1' } as never, 60);
        expect(calls).toEqual(['findWithGrant RefreshToken:old']); // nothing written yet
        await ats.upsert('at', { grantId: 'g1' } as never, 60);
      }, ok),
    );
    expect(calls).toEqual(['findWithGrant RefreshToken:old', 'consumeAndStore RefreshToken:old + RefreshToken:new, AccessToken:at']);
  });

  it('writes the rotation when the provider is done if no opaque access token followed (an API JWT)', async () => {
    const { Adapter, calls } = recordingStore();
    const rts = new Adapter('RefreshToken');
    await asTokenRequest(async () => {
      await rts.consume('old');
      await rts.upsert('new', { grantId: 'g1' } as never, 60);
    }, ok);
    expect(calls).toEqual(['consumeAndStore RefreshToken:old + RefreshToken:new']);
  });

  it('a token consumed first by another request: nothing written, the grant ended, the answer refused with invalid_grant', async () => {
    for (const opaque of [true, false]) {
      const { Adapter, calls, ended } = recordingStore({ consumedFirst: true });
      const [rts, ats] = [new Adapter('RefreshToken'), new Adapter('AccessToken')];
      const refused: unknown[] = [];
      const work = async () => {
        await rts.consume('old');
        await rts.upsert('new', { grantId: 'g1' } as never, 60);
        if (opaque) await ats.upsert('at', { grantId: 'g1' } as never, 60);
      };
      const run = asTokenRequest(work, { succeeded: () => true, refuse: (err) => void refused.push(err) });
      if (opaque) await expect(run).rejects.toBeInstanceOf(errors.InvalidGrant);
      else {
        await run;
        expect(refused).toEqual([expect.any(errors.InvalidGrant)]);
      }
      expect(calls.slice(1)).toEqual(['revoke g1', 'destroy Grant:g1']);
      expect(ended).toEqual(['g1']);
    }
  });

  it('after an error answer only the consumption is written, as before', async () => {
    const { Adapter, calls } = recordingStore();
    const rts = new Adapter('RefreshToken');
    await expect(
      asTokenRequest(async () => {
        await rts.consume('old');
        await rts.upsert('new', { grantId: 'g1' } as never, 60);
        throw new errors.InvalidTarget('no such resource');
      }, ok),
    ).rejects.toBeInstanceOf(errors.InvalidTarget);
    await asTokenRequest(async () => {
      await rts.consume('other');
      await rts.upsert('new2', { grantId: 'g1' } as never, 60);
    }, { succeeded: () => false, refuse: () => undefined });
    expect(calls).toEqual(['consume RefreshToken:old', 'consume RefreshToken:other']);
  });

  it('outside a token request, each call is its own statement, as before', async () => {
    const { Adapter, calls } = recordingStore();
    const rts = new Adapter('RefreshToken');
    await rts.find('old');
    await rts.consume('old');
    await rts.upsert('new', { grantId: 'g1' } as never, 60);
    expect(calls).toEqual(['find RefreshToken:old', 'consume RefreshToken:old', 'upsert RefreshToken:new']);
  });

  it("the account read with the token answers the provider's account lookups in that request, and only there", async () => {
    for (const account of [{ id: 'a', status: 'active' }, null, undefined]) {
      const { Adapter } = recordingStore(account === undefined ? {} : { account });
      const reads: string[] = [];
      const findAccount = accountReadOncePerRequest(async (id) => {
        reads.push(id);
        return { id, status: 'from-database' };
      });
      const rts = new Adapter('RefreshToken');
      const seen = await withRequestMemo(() =>
        asTokenRequest(async () => {
          await rts.find('old');
          return [await findAccount('a'), await findAccount('a')];
        }, ok),
      );
      if (account === undefined) {
        // Not read with the token (the store gave none): read from the database, once.
        expect(seen).toEqual([{ id: 'a', status: 'from-database' }, { id: 'a', status: 'from-database' }]);
        expect(reads).toEqual(['a']);
      } else {
        expect(seen).toEqual([account, account]);
        expect(reads).toEqual([]);
        // Each caller gets its own copy: one caller's change is not another's.
        if (seen[0]) expect(seen[0]).not.toBe(seen[1]);
      }
      // The next request reads the account again.
      expect(await withRequestMemo(() => findAccount('a'))).toEqual({ id: 'a', status: 'from-database' });
    }
  });
});
