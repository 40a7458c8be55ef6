import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, codeLogin, createOfficial, discover } from '../../support/oidc-rp.js';

/**
 * Issue 17, acceptance 4: whoever reads the database finds no bearer value it could present.
 * After a full login (code, PKCE, refresh token), a refresh, a client-credentials grant and a
 * revocation, every row of every table is searched for every value a client or browser holds.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;

beforeAll(async () => {
  t = await startTestService();
});

afterAll(async () => {
  await t?.close();
});

/** Every row of every table of the schema, as text (bytea shows as hex, so values are looked for in hex too). */
async function everyRow(): Promise<Array<{ table: string; text: string }>> {
  const knex = t.service.db.knex;
  const tables = (await knex.raw(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)) as { rows: Array<{ table_name: string }> };
  const out: Array<{ table: string; text: string }> = [];
  for (const { table_name: table } of tables.rows) {
    const rows = (await knex.raw(`SELECT t::text AS row FROM ?? t`, [table])) as { rows: Array<{ row: string }> };
    for (const r of rows.rows) out.push({ table, text: r.row });
  }
  return out;
}

function findings(rows: Array<{ table: string; text: string }>, values: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const forms = [value, Buffer.from(value).toString('hex')];
    for (const row of rows) if (forms.some((f) => row.text.includes(f))) found.push(`${name} in ${row.table}`);
  }
  return found;
}

describe(`bearer values at rest (${db})`, () => {
  it('no authorization code, refresh token, access token, ID token or client secret in any table', async () => {
    const api = `${t.url}/api`;
    const redirect = 'http://127.0.0.1:9/kho/cb';
    const portal = await t.service.clients.add('test', { clientId: 'kho', name: 'Kho', redirectUris: [redirect], scopes: ['openid', 'profile', 'offline_access', 'certs:read'], firstParty: true });
    const machine = await t.service.clients.add('test', { clientId: 'may', name: 'Máy', grantTypes: ['client_credentials'], scopes: ['certs:read'] });
    const config = await discover(t.url, 'kho', portal.secret!);
    const person = await createOfficial(t);
    const browser = new Browser();
    const login = await codeLogin(config, browser, redirect, person, { scope: 'openid offline_access certs:read', resource: api, prompt: 'consent' }, { resource: api });
    const code = login.callback.searchParams.get('code')!;
    const refreshed = await client.refreshTokenGrant(config, login.tokens.refresh_token!, { resource: api });
    const opaque = await codeLogin(config, browser, redirect, undefined, { scope: 'openid offline_access', prompt: 'consent' });
    const machineConfig = await discover(t.url, 'may', machine.secret!);
    const cc = await client.clientCredentialsGrant(machineConfig, { scope: 'certs:read' });
    // A revocation, of a refresh token and of an API token.
    // Another browser: one session's logins at one portal share a grant, which a revocation ends.
    const third = await codeLogin(config, new Browser(), redirect, person, { scope: 'openid offline_access', prompt: 'consent' });
    await client.tokenRevocation(config, third.tokens.refresh_token!);
    const revokedCc = await client.clientCredentialsGrant(machineConfig, { scope: 'certs:read' });
    await client.tokenRevocation(machineConfig, revokedCc.access_token);

    const values: Record<string, string> = {
      'authorization code': code,
      'second authorization code': opaque.callback.searchParams.get('code')!,
      'refresh token (rotated)': login.tokens.refresh_token!,
      'refresh token (current)': refreshed.refresh_token!,
      'refresh token (revoked)': third.tokens.refresh_token!,
      'refresh token (opaque login)': opaque.tokens.refresh_token!,
      'opaque access token': opaque.tokens.access_token,
      'API access token': login.tokens.access_token,
      'API access token (refreshed)': refreshed.access_token,
      'client-credentials token': cc.access_token,
      'client-credentials token (revoked)': revokedCc.access_token,
      'ID token': login.tokens.id_token!,
      'portal secret': portal.secret!,
      'machine secret': machine.secret!,
    };
    const sessionCookie = /(?:^|; )_session=([^;]+)/.exec(browser.jar.header(new URL(`${t.url}/oidc/auth`)))?.[1];
    expect(sessionCookie).toBeDefined();
    values['session cookie'] = sessionCookie!;
    // The values must be real and alive before the scan, or the test could pass for nothing.
    expect((await client.tokenIntrospection(config, refreshed.refresh_token!)).active).toBe(true);
    expect((await client.tokenIntrospection(config, opaque.tokens.access_token)).active).toBe(true);
    const rows = await everyRow();
    expect(rows.some((r) => r.table === 'oidc_payloads')).toBe(true);
    expect(findings(rows, values)).toEqual([]);
    // The rows are there, under their hashes: the tokens still work after the scan.
    expect((await client.tokenIntrospection(config, refreshed.refresh_token!)).active).toBe(true);
    await expect(client.fetchUserInfo(config, opaque.tokens.access_token, person.account.id)).resolves.toMatchObject({ sub: person.account.id });
  });
});
