import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { discover } from '../../support/oidc-rp.js';
import { startTestService } from '../../support/test-app.js';
import { addPortal, apiStatus, expectAcceptedEverywhere, expectRefusedEverywhereWithin2s, loginForApi, startCluster, type Cluster } from './token-support.js';

/**
 * Issue 17, acceptance 1: an API access token (a JWT, checked without a database read) dies with
 * what it stands for. After `client remove`, `user disable`, a revocation request for the access
 * token and a revocation of its refresh token, every node answers 401 within 2 s and
 * introspection says inactive. Two nodes on PostgreSQL (one on the embedded database).
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL, two nodes' : 'embedded, one node';
let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
});

afterAll(async () => {
  await cluster?.close();
});

const introspect = async (config: client.Configuration, token: string) => (await client.tokenIntrospection(config, token)).active;

describe(`API token revocation (${db})`, () => {
  it('a revocation request for the API access token: 401 on every node, introspection inactive', async () => {
    const portal = await addPortal(cluster);
    const { tokens } = await loginForApi(cluster, portal);
    const jwt = tokens.access_token;
    expect(decodeJwt(jwt).aud).toBe(`${cluster.url}/api`);
    await expectAcceptedEverywhere(cluster, jwt);
    // Introspection of our JWT, which oidc-provider refuses (400 "Structured JWT Tokens cannot be introspected").
    const before = await client.tokenIntrospection(portal.config, jwt);
    expect(before).toMatchObject({ active: true, client_id: portal.id, sub: decodeJwt(jwt).sub, token_type: 'Bearer' });

    await client.tokenRevocation(portal.config, jwt);
    await expectRefusedEverywhereWithin2s(cluster, jwt);
    expect(await introspect(portal.config, jwt)).toBe(false);
    // Revoking an access token ends its grant, as oidc-provider does for its own tokens.
    await expect(client.refreshTokenGrant(portal.config, tokens.refresh_token!, { resource: `${cluster.url}/api` })).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('another client cannot revoke or introspect a token that is not its own (RFC 7009 §2.1, RFC 7662 §4)', async () => {
    const portal = await addPortal(cluster);
    const other = await addPortal(cluster);
    const { tokens } = await loginForApi(cluster, portal);
    await client.tokenRevocation(other.config, tokens.access_token);
    expect(await introspect(other.config, tokens.access_token)).toBe(false);
    await expectAcceptedEverywhere(cluster, tokens.access_token);
    expect(await introspect(portal.config, tokens.access_token)).toBe(true);
    // A client that fails to authenticate is refused by oidc-provider before we look at the token.
    const res = await fetch(`${cluster.url}/oidc/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${portal.id}:not-the-secret`).toString('base64')}` },
      body: new URLSearchParams({ token: tokens.access_token }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_client' });
    await expectAcceptedEverywhere(cluster, tokens.access_token);
  });

  it('a revocation of its refresh token: the API token of that grant is refused everywhere', async () => {
    const portal = await addPortal(cluster);
    const { tokens } = await loginForApi(cluster, portal);
    await expectAcceptedEverywhere(cluster, tokens.access_token);
    await client.tokenRevocation(portal.config, tokens.refresh_token!);
    await expectRefusedEverywhereWithin2s(cluster, tokens.access_token);
    expect(await introspect(portal.config, tokens.access_token)).toBe(false);
    expect(await introspect(portal.config, tokens.refresh_token!)).toBe(false);
  });

  it('a replayed refresh token (rotation): the grant ends, and its API tokens with it', async () => {
    const portal = await addPortal(cluster);
    const { tokens } = await loginForApi(cluster, portal);
    const refreshed = await client.refreshTokenGrant(portal.config, tokens.refresh_token!, { resource: `${cluster.url}/api` });
    await expectAcceptedEverywhere(cluster, refreshed.access_token);
    await expect(client.refreshTokenGrant(portal.config, tokens.refresh_token!, { resource: `${cluster.url}/api` })).rejects.toMatchObject({ error: 'invalid_grant' });
    await expectRefusedEverywhereWithin2s(cluster, refreshed.access_token);
    await expectRefusedEverywhereWithin2s(cluster, tokens.access_token);
  });

  it('user disable: every API token of the account is refused everywhere, introspection inactive', async () => {
    const portal = await addPortal(cluster);
    const { tokens, person } = await loginForApi(cluster, portal);
    await expectAcceptedEverywhere(cluster, tokens.access_token);
    await cluster.nodes[0].service.accounts.setStatus('test', person.login, 'disabled');
    await expectRefusedEverywhereWithin2s(cluster, tokens.access_token);
    expect(await introspect(portal.config, tokens.access_token)).toBe(false);
    expect(await introspect(portal.config, tokens.refresh_token!)).toBe(false);
  });

  it('client remove: its client-credentials tokens are refused everywhere; introspection inactive', async () => {
    const [a] = cluster.nodes;
    const machine = await a.service.clients.add('test', { clientId: 'dong-bo', name: 'Đồng bộ', grantTypes: ['client_credentials'], scopes: ['certs:read'] });
    const config = await discover(cluster.url, 'dong-bo', machine.secret!);
    const { access_token: token } = await client.clientCredentialsGrant(config, { scope: 'certs:read' });
    await expectAcceptedEverywhere(cluster, token);
    expect(await introspect(config, token)).toBe(true);
    // A second client of the same kind, which stays: only the removed client's tokens die.
    const keeper = await a.service.clients.add('test', { clientId: 'dong-bo-2', name: 'Đồng bộ 2', grantTypes: ['client_credentials'], scopes: ['certs:read'] });
    const keeperToken = (await client.clientCredentialsGrant(await discover(cluster.url, 'dong-bo-2', keeper.secret!), { scope: 'certs:read' })).access_token;

    await cluster.nodes[cluster.nodes.length - 1].service.clients.remove('test', 'dong-bo');
    await expectRefusedEverywhereWithin2s(cluster, token);
    await expectAcceptedEverywhere(cluster, keeperToken);
    // The removed client can no longer ask; another client learns nothing of a token not its own.
    expect(await introspect(await discover(cluster.url, 'dong-bo-2', keeper.secret!), token)).toBe(false);
  });

  (process.env.DATABASE_URL ? it : it.skip)('a node started after a revocation knows it (the list is loaded from the database; PostgreSQL)', async () => {
    const portal = await addPortal(cluster);
    const { tokens } = await loginForApi(cluster, portal);
    await client.tokenRevocation(portal.config, tokens.access_token);
    await expectRefusedEverywhereWithin2s(cluster, tokens.access_token);
    const late = await startTestService({ database: cluster.database!, publicUrl: cluster.url });
    try {
      expect(await apiStatus(late, tokens.access_token)).toBe(401);
      // …while a token nobody revoked is accepted there.
      const other = await loginForApi(cluster, portal);
      expect(await apiStatus(late, other.tokens.access_token)).toBe(200);
    } finally {
      await late.close();
    }
  });
});
