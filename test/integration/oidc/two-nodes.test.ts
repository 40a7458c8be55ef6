import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../../support/test-db.js';
import { authorize, Browser, createOfficial, discover } from '../../support/oidc-rp.js';
import { roundRobinProxy, type RoundRobinProxy } from '../../support/test-servers.js';

/**
 * Issue 3, acceptance 4: two nodes on one PostgreSQL database behind a round-robin proxy (whose
 * URL is the issuer), so consecutive requests of one login land on alternate nodes: sessions,
 * interactions, codes, tokens, cookie and signing keys must all live in the shared database.
 *
 * PostgreSQL only: the embedded database belongs to one process (its data directory is locked),
 * so there is no second node to run there.
 */
const onPostgres = usingPostgres();
if (!onPostgres) process.stdout.write('two-nodes.test.ts: skipped, needs DATABASE_URL (two nodes cannot share the embedded database)\n');

let proxy: RoundRobinProxy;
let database: TestDatabase;
const nodes: TestService[] = [];
const redirect = 'http://127.0.0.1:9/cum-may/callback';

// Reason: several nodes need one shared database; the embedded one serves a single process.
if (!onPostgres) process.stderr.write('skipping two instances behind a round-robin proxy: set DATABASE_URL to run it on PostgreSQL\n');
(onPostgres ? describe : describe.skip)('two instances on one database behind a round-robin proxy (PostgreSQL only)', () => {
  beforeAll(async () => {
    proxy = await roundRobinProxy();
    database = await createTestDatabase();
    // One after the other: the first initialises the installation, the second finds it.
    for (let i = 0; i < 2; i++) nodes.push(await startTestService({ database, publicUrl: proxy.url }));
    proxy.setTargets(nodes.map((n) => n.url));
  });

  afterAll(async () => {
    for (const node of nodes) await node.close();
    await proxy?.close();
    await database?.destroy();
  });

  it('authorizes on one node, logs in and redeems the code on the other', async () => {
    const [a, b] = nodes;
    const { secret } = await a.service.clients.add('test', { clientId: 'cum-may', name: 'Cổng thử nghiệm cụm máy', redirectUris: [redirect], scopes: ['openid', 'profile', 'offline_access'], firstParty: true });
    const official = await createOfficial(b);
    // Both nodes sign with the same keys.
    expect(a.service.oidc.publicJwks.map((k) => k.kid).sort()).toEqual(b.service.oidc.publicJwks.map((k) => k.kid).sort());

    const config = await discover(proxy.url, 'cum-may', secret!);
    expect(config.serverMetadata().issuer).toBe(`${proxy.url}/oidc`);
    const browser = new Browser();
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirect,
      scope: 'openid profile offline_access',
      prompt: 'consent',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'cum-may',
      nonce: 'n-0S6_WzA2Mj',
    });
    const callback = await authorize(browser, url, redirect, official);
    const served = (pattern: RegExp) => proxy.served.filter((s) => pattern.test(`${s.method} ${s.path.split('?')[0]}`)).map((s) => s.node);

    const authorizeNode = served(/^GET \/oidc\/auth$/)[0];
    // The pages and the resumes alternated between the nodes.
    expect(new Set(served(/^(GET|POST) \/(interaction|oidc\/auth)\b/))).toEqual(new Set([0, 1]));
    if (proxy.nextNode() === authorizeNode) expect((await fetch(`${proxy.url}/healthz`)).status).toBe(200);
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'cum-may', expectedNonce: 'n-0S6_WzA2Mj' });
    expect(served(/^POST \/oidc\/token$/)[0]).not.toBe(authorizeNode);
    expect(tokens.claims()).toMatchObject({ sub: official.account.id, acr: 'urn:tinnhiem:acr:low', amr: ['pwd'] });

    // Userinfo, refresh and introspection on whichever node, twice each to hit both.
    for (let i = 0; i < 2; i++) {
      await expect(client.fetchUserInfo(config, tokens.access_token, official.account.id)).resolves.toMatchObject({ name: official.account.fullName });
      expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
    }
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await client.tokenIntrospection(config, refreshed.access_token)).active).toBe(false);
    expect(new Set(served(/^POST \/oidc\/token$/))).toEqual(new Set([0, 1]));
  });
});
