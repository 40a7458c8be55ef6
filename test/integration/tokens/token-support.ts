import { expect } from '@jest/globals';
import type * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../../support/test-db.js';
import { Browser, codeLogin, createOfficial, discover } from '../../support/oidc-rp.js';
import { roundRobinProxy, type RoundRobinProxy } from '../../support/test-servers.js';

/**
 * Nodes for the token tests (issue 17): on PostgreSQL two nodes on one database behind a
 * round-robin proxy (the proxy's URL is the public URL, so both issue and accept the same tokens);
 * on the embedded database, which one process owns, one node.
 */
export interface Cluster {
  nodes: TestService[];
  /** The public URL: the proxy's, or the single node's. */
  url: string;
  proxy?: RoundRobinProxy;
  /** The shared database (PostgreSQL), for a node started later. */
  database?: TestDatabase;
  close(): Promise<void>;
}

export async function startCluster(): Promise<Cluster> {
  if (!usingPostgres()) {
    const node = await startTestService();
    return { nodes: [node], url: node.url, close: () => node.close() };
  }
  const proxy = await roundRobinProxy();
  const database: TestDatabase = await createTestDatabase();
  const nodes: TestService[] = [];
  // One after the other: the first initialises the installation, the second finds it.
  for (let i = 0; i < 2; i++) nodes.push(await startTestService({ database, publicUrl: proxy.url }));
  proxy.setTargets(nodes.map((n) => n.url));
  return {
    nodes,
    url: proxy.url,
    proxy,
    database,
    async close() {
      for (const node of nodes) await node.close();
      await proxy.close();
      await database.destroy();
    },
  };
}

/** An API call that needs `certs:read`, straight to one node. */
export async function apiStatus(node: TestService, token: string, scheme = 'Bearer', headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${node.url}/api/v1/certificate-requests`, { headers: { authorization: `${scheme} ${token}`, ...headers } });
  await res.arrayBuffer();
  return res.status;
}

/**
 * Acceptance 1 of issue 17: within 2 s of the call that ended it, every node refuses the token.
 * Polls each node; fails naming the node still accepting it.
 */
export async function expectRefusedEverywhereWithin2s(cluster: Cluster, token: string): Promise<void> {
  const deadline = performance.now() + 2_000;
  for (const [i, node] of cluster.nodes.entries()) {
    let status = await apiStatus(node, token);
    while (status !== 401 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      status = await apiStatus(node, token);
    }
    expect({ node: i, status }).toEqual({ node: i, status: 401 });
  }
}

export async function expectAcceptedEverywhere(cluster: Cluster, token: string): Promise<void> {
  for (const [i, node] of cluster.nodes.entries()) expect({ node: i, status: await apiStatus(node, token) }).toEqual({ node: i, status: 200 });
}

let portalCounter = 0;

/** A first-party portal allowed the API (`certs:read`) and refresh tokens. */
export async function addPortal(cluster: Cluster): Promise<{ id: string; secret: string; redirect: string; config: client.Configuration }> {
  portalCounter += 1;
  const id = `cong-${portalCounter}`;
  const redirect = `http://127.0.0.1:9/${id}/cb`;
  const { secret } = await cluster.nodes[0].service.clients.add('test', {
    clientId: id,
    name: `Cổng ${portalCounter}`,
    redirectUris: [redirect],
    scopes: ['openid', 'profile', 'offline_access', 'certs:read'],
    firstParty: true,
  });
  return { id, secret: secret!, redirect, config: await discover(cluster.url, id, secret!) };
}

/** A login through the portal asking for the API: an API JWT, a refresh token and the browser's session. */
export async function loginForApi(cluster: Cluster, portal: { redirect: string; config: client.Configuration }, official?: Awaited<ReturnType<typeof createOfficial>>) {
  const person = official ?? (await createOfficial(cluster.nodes[0]));
  const browser = new Browser();
  const api = `${cluster.url}/api`;
  const login = await codeLogin(portal.config, browser, portal.redirect, person, { scope: 'openid offline_access certs:read', resource: api, prompt: 'consent' }, { resource: api });
  return { person, browser, tokens: login.tokens, login };
}
