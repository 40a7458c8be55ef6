import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../../support/test-db.js';
import { Browser, codeLogin, createOfficial, discover } from '../../support/oidc-rp.js';
import { OidcPayloadRepository, lookupKey } from '../../../src/storage/oidc-payload-repository.js';

/**
 * Issue 20 (docs/performance.md, "Refresh, sixth pass"): what ends a refresh token's grant on
 * another node between this node's read of the token (with its grant and account, one query)
 * and its rotation (one statement) must stop the rotation: nothing is issued from it. The
 * rotation statement checks, under the row lock of its consumption, that the token is unconsumed,
 * its grant a live row and its account active. On PostgreSQL "another node" is a second service
 * on the same database; on the embedded database (one process) the change is made through the
 * same service, between the same two statements.
 */
const onPostgres = usingPostgres();
const db = onPostgres ? 'PostgreSQL' : 'embedded';
let database: TestDatabase;
let a: TestService;
let b: TestService;
let configA: client.Configuration;
let configB: client.Configuration;
const redirect = 'http://127.0.0.1:9/hai-nut/cb';

beforeAll(async () => {
  if (onPostgres) {
    database = await createTestDatabase();
    a = await startTestService({ database });
    b = await startTestService({ database });
  } else {
    // The embedded database belongs to one process (its data directory is locked): one node.
    a = await startTestService();
    b = a;
  }
  const portal = await a.service.clients.add('test', { clientId: 'hai-nut', name: 'Hai nút', redirectUris: [redirect], scopes: ['openid', 'profile', 'offline_access'], firstParty: true });
  configA = await discover(a.url, 'hai-nut', portal.secret!);
  configB = await discover(b.url, 'hai-nut', portal.secret!);
}, 120_000);

afterAll(async () => {
  await a?.close();
  if (b && b !== a) await b.close();
  await database?.destroy();
});

/**
 * Runs `between` once, right after this node's next read of a refresh token with its grant (the
 * refresh grant's first query), before the provider goes on to its rotation.
 */
function onceAfterRead(between: () => Promise<void>): () => void {
  const proto = OidcPayloadRepository.prototype;
  const original = proto.findWithGrant;
  let done = false;
  proto.findWithGrant = async function (this: OidcPayloadRepository, ...args: Parameters<typeof original>) {
    const found = await original.apply(this, args);
    if (!done && args[0] === 'RefreshToken') {
      done = true;
      await between();
    }
    return found;
  };
  return () => {
    proto.findWithGrant = original;
  };
}

const knexOf = (t: TestService) => t.service.db.knex;
async function rowsOfGrant(grantId: string): Promise<Array<{ model: string; consumed_at: unknown }>> {
  return knexOf(a)('oidc_payloads').where({ grant_id: grantId }).select('model', 'consumed_at');
}

async function loggedIn() {
  const official = await createOfficial(a);
  const tokens = (await codeLogin(configA, new Browser(), redirect, official, { scope: 'openid offline_access', prompt: 'consent' })).tokens;
  const row = await knexOf(a)('oidc_payloads').where({ model: 'RefreshToken', id: lookupKey(tokens.refresh_token!) }).first<{ grant_id: string }>('grant_id');
  return { official, tokens, grantId: row!.grant_id };
}

/** A refresh on node A with `between` run on node B between its read and its rotation: refused, nothing issued. */
async function refusedAcrossNodes(between: (s: Awaited<ReturnType<typeof loggedIn>>) => Promise<void>) {
  const s = await loggedIn();
  const restore = onceAfterRead(() => between(s));
  try {
    await expect(client.refreshTokenGrant(configA, s.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  } finally {
    restore();
  }
  // No refresh token of the grant is left that is not consumed (a rotated one written anyway would be).
  for (const row of await rowsOfGrant(s.grantId)) if (row.model === 'RefreshToken') expect(row.consumed_at).not.toBeNull();
  await expect(client.refreshTokenGrant(configA, s.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  return s;
}

describe(`a refresh racing the end of its grant or account on another node (${db})`, () => {
  it('the account disabled through the other node’s service: refused', async () => {
    await refusedAcrossNodes(async ({ official }) => {
      await b.service.accounts.setStatus('test', official.login, 'disabled');
    });
  });

  it('the account’s status set to disabled without its rows (a change the service did not make): refused', async () => {
    await refusedAcrossNodes(async ({ official }) => {
      await knexOf(b)('accounts').where({ id: official.account.id }).update({ status: 'disabled' });
    });
  });

  it('the grant revoked at the other node’s revocation endpoint (its access token): refused', async () => {
    await refusedAcrossNodes(async ({ tokens }) => {
      await client.tokenRevocation(configB, tokens.access_token);
    });
  });

  it('the grant’s row alone deleted, or expired: refused', async () => {
    await refusedAcrossNodes(async ({ grantId }) => {
      await knexOf(b)('oidc_payloads').where({ model: 'Grant', id: lookupKey(grantId) }).del();
    });
    await refusedAcrossNodes(async ({ grantId }) => {
      await knexOf(b)('oidc_payloads').where({ model: 'Grant', id: lookupKey(grantId) }).update({ expires_at: new Date(Date.now() - 1000) });
    });
  });

  it('without a change in between the same refresh is answered (the check refuses only what ended)', async () => {
    const s = await loggedIn();
    const restore = onceAfterRead(async () => undefined);
    try {
      const next = await client.refreshTokenGrant(configA, s.tokens.refresh_token!);
      expect(next.refresh_token).toBeDefined();
      expect((await client.tokenIntrospection(configB, next.refresh_token!)).active).toBe(true);
    } finally {
      restore();
    }
  });

  it('a parallel burst of one refresh token across both nodes: exactly one token set issued, then the grant ends', async () => {
    const s = await loggedIn();
    const configs = [configA, configB];
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => client.refreshTokenGrant(configs[i % 2], s.tokens.refresh_token!)));
    const issued = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<client.TokenEndpointResponse>).value);
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as { error?: string });
    expect(issued).toHaveLength(1);
    expect(refused.map((r) => r.error)).toEqual(Array(7).fill('invalid_grant'));
    // RFC 9700 §4.14.2: the reuse ends the grant, the winner's tokens with it.
    expect((await client.tokenIntrospection(configA, issued[0].refresh_token!)).active).toBe(false);
    expect((await client.tokenIntrospection(configA, issued[0].access_token)).active).toBe(false);
    expect(await rowsOfGrant(s.grantId)).toEqual([]);
  });
});
