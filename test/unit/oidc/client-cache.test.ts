import { describe, expect, it } from '@jest/globals';
import type { ClientMetadata } from 'oidc-provider';
import { ClientCache } from '../../../oidc/clients/client-cache.js';

// The token endpoint's cache of clients (oidc/clients/client-registry.ts): a read that raced a
// change must not put the old client back, since nothing would drop it again.
describe('ClientCache', () => {
  const client = (secret: string): ClientMetadata => ({ client_id: 'portal', client_secret: secret });
  let release!: () => void;
  const slowLoad = (result: ClientMetadata) => () => new Promise<ClientMetadata>((resolve) => (release = () => resolve(result)));

  it('keeps what it loaded, and serves it until the client changes', async () => {
    const cache = new ClientCache(() => true);
    await cache.get('portal', async () => client('one'));
    let loads = 0;
    expect(await cache.get('portal', async () => (loads++, client('two')))).toEqual(client('one'));
    expect(loads).toBe(0);
    cache.forget('portal');
    expect(await cache.get('portal', async () => (loads++, client('two')))).toEqual(client('two'));
    expect(loads).toBe(1);
  });

  it('does not keep a read during which a client changed: the old secret is not served after the change', async () => {
    const cache = new ClientCache(() => true);
    const reading = cache.get('portal', slowLoad(client('old')));
    cache.forget('portal'); // the secret was rotated while the old row was being read
    release();
    expect(await reading).toEqual(client('old')); // that one request saw the row as it read it
    expect(cache.peek('portal')).toBeUndefined();
    expect(await cache.get('portal', async () => client('new'))).toEqual(client('new'));
  });

  it('holds nothing per client that changed: a million changes leave only the entries', () => {
    const cache = new ClientCache(() => true);
    for (let i = 0; i < 1_000_000; i++) cache.forget(`client-${i}`);
    expect(cache.size).toBe(0);
    expect(Object.values(cache).filter((v) => v instanceof Map).map((m: Map<unknown, unknown>) => m.size)).toEqual([0]);
  });

  it('serves nothing from memory while the node does not follow the change feed', async () => {
    let trusted = true;
    const cache = new ClientCache(() => trusted);
    await cache.get('portal', async () => client('one'));
    trusted = false;
    expect(cache.peek('portal')).toBeUndefined();
    expect(await cache.get('portal', async () => client('two'))).toEqual(client('two'));
  });
});
