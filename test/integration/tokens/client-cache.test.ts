import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startCluster, type Cluster } from './token-support.js';
import type { TestService } from '../../support/test-app.js';

/**
 * Issue 20: the token endpoint keeps clients (with their opened secrets) in memory and admits a
 * client's right secret without writing the throttle counters. A change to a client (a rotated
 * secret, a removal) is seen at once by the node that made it and within 2 s by every other node
 * (the status-change feed); wrong secrets are still counted as before (client-auth-throttling.test.ts).
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL, two nodes' : 'embedded, one node';
let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
}, 120_000);

afterAll(async () => {
  await cluster?.close();
});

const basic = (id: string, s: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(s)}`).toString('base64')}`;

async function grant(node: TestService, clientId: string, secret: string): Promise<number> {
  const res = await fetch(`${node.url}/oidc/token`, {
    method: 'POST',
    headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=certs%3Aread',
  });
  const body = (await res.json()) as { access_token?: string };
  if (res.status === 200) expect(body.access_token?.split('.')).toHaveLength(3);
  return res.status;
}

/** Polls every node until it answers `status` for the credentials, for at most 2 s. */
async function everyNodeWithin2s(clientId: string, secret: string, status: number): Promise<void> {
  const deadline = performance.now() + 2_000;
  for (const [i, node] of cluster.nodes.entries()) {
    let last = await grant(node, clientId, secret);
    while (last !== status && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      last = await grant(node, clientId, secret);
    }
    expect({ node: i, status: last }).toEqual({ node: i, status });
  }
}

const throttleRows = (node: TestService, clientId: string) => node.service.db.knex('login_throttle').where('key', 'like', `client-auth:client-ip:${clientId}|%`).select('key', 'failures', 'pending');

describe(`clients in memory at the token endpoint (${db})`, () => {
  it('a rotated secret: the old one refused at once where rotated and within 2 s on every node, the new one accepted', async () => {
    const [first] = cluster.nodes;
    const { secret } = await first.service.clients.add('test', { clientId: 'may-xoay-vong', name: 'Máy xoay vòng', grantTypes: ['client_credentials'], scopes: ['certs:read'] });
    // Every node reads (and keeps) the client.
    for (const node of cluster.nodes) expect(await grant(node, 'may-xoay-vong', secret!)).toBe(200);
    const rotated = await first.service.clients.rotateSecret('test', 'may-xoay-vong');
    expect(await grant(first, 'may-xoay-vong', secret!)).toBe(401);
    await everyNodeWithin2s('may-xoay-vong', secret!, 401);
    await everyNodeWithin2s('may-xoay-vong', rotated, 200);
  });

  it('a removed client: refused within 2 s on every node', async () => {
    const last = cluster.nodes.at(-1)!;
    const { secret } = await cluster.nodes[0].service.clients.add('test', { clientId: 'may-go-bo', name: 'Máy gỡ bỏ', grantTypes: ['client_credentials'], scopes: ['certs:read'] });
    for (const node of cluster.nodes) expect(await grant(node, 'may-go-bo', secret!)).toBe(200);
    await last.service.clients.remove('test', 'may-go-bo');
    await everyNodeWithin2s('may-go-bo', secret!, 401);
  });

  it('40 parallel grants with the right secret from one address: all answered, no throttle counter written; a wrong secret is still counted', async () => {
    const [node] = cluster.nodes;
    const { secret } = await node.service.clients.add('test', { clientId: 'may-song-song', name: 'Máy song song', grantTypes: ['client_credentials'], scopes: ['certs:read'] });
    const statuses = await Promise.all(Array.from({ length: 40 }, () => grant(node, 'may-song-song', secret!)));
    // More than the 10 failures a (client, address) may have: counted as pending, they were refused before.
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(await throttleRows(node, 'may-song-song')).toEqual([]);
    expect(await grant(node, 'may-song-song', 'sai-bi-mat')).toBe(401);
    expect(await throttleRows(node, 'may-song-song')).toEqual([expect.objectContaining({ failures: 1, pending: 0 })]);
    // The right secret afterwards starts the counter again, as before.
    expect(await grant(node, 'may-song-song', secret!)).toBe(200);
    expect(await throttleRows(node, 'may-song-song')).toEqual([]);
  });
});
