import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../../support/test-db.js';
import { Browser, outgoingRequestsAsInProduction } from '../../support/oidc-rp.js';
import { roundRobinProxy, type RoundRobinProxy } from '../../support/test-servers.js';
import { addPortal, finish, newCitizen, pickAtSimulator, portalAuthorizationUrl, redeem, toSimulator, writeUpstreamsFile, type Portal } from '../../support/federation.js';
import { startDvcqgSimulator, type DvcqgSimulator } from '../../../src/dev/dvcqg-simulator.js';
import { registerDevClient } from '../../../src/dev/dvcqg-dev.js';

/**
 * A brokered login started on one node and finished on the other (behind a round-robin proxy):
 * the pending-login cookie is sealed with the installation's shared secret, and everything else
 * lives in the shared PostgreSQL database. PostgreSQL only (the embedded database has one process).
 */
const onPostgres = usingPostgres();
if (!onPostgres) process.stdout.write('federation two-nodes.test.ts: skipped, needs DATABASE_URL\n');

let proxy: RoundRobinProxy;
let database: TestDatabase;
let sim: DvcqgSimulator;
let portal: Portal;
const nodes: TestService[] = [];

// Reason: several nodes need one shared database; the embedded one serves a single process.
if (!onPostgres) process.stderr.write('skipping the DVCQG login across two nodes: set DATABASE_URL to run it on PostgreSQL\n');
(onPostgres ? describe : describe.skip)('log in with DVCQG across two nodes (PostgreSQL only)', () => {
  beforeAll(async () => {
    await outgoingRequestsAsInProduction();
    sim = await startDvcqgSimulator({ port: 0, hostname: 'localhost' });
    proxy = await roundRobinProxy();
    database = await createTestDatabase();
    const file = writeUpstreamsFile(sim.url);
    for (let i = 0; i < 2; i++) nodes.push(await startTestService({ database, publicUrl: proxy.url, env: { FEDERATION_UPSTREAMS_FILE: file } }));
    proxy.setTargets(nodes.map((n) => n.url));
    registerDevClient(sim, proxy.url);
    portal = await addPortal(nodes[0], 'cong-cum-may', { issuerBase: proxy.url });
  });

  afterAll(async () => {
    for (const node of nodes) await node.close();
    await proxy?.close();
    await database?.destroy();
    await sim?.close();
  });

  it('the start on one node, the callback on the other', async () => {
    const person = newCitizen(sim);
    const browser = new Browser();
    const start = await portalAuthorizationUrl(portal, { acr_values: 'urn:tinnhiem:acr:substantial' });
    const simPage = await toSimulator(browser, start);
    const callback = await pickAtSimulator(browser, simPage, person.TechID, 'LoA2');
    const startNode = proxy.served.filter((s) => /\/interaction\/[^/]+\/federation\/dvcqg$/.test(s.path.split('?')[0])).at(-1)!.node;
    if (proxy.nextNode() === startNode) await fetch(`${proxy.url}/healthz`);
    const done = await finish(browser, callback, portal);
    const callbackNode = proxy.served.filter((s) => s.path.startsWith('/federation/dvcqg/callback')).at(-1)!.node;
    expect(callbackNode).not.toBe(startNode);
    const tokens = await redeem(portal, start, done.redirect!);
    expect(tokens.claims()).toMatchObject({ acr: 'urn:tinnhiem:acr:substantial', amr: ['fed'] });
  });
});
