import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { runCli } from '../../support/run-cli.js';

/** The identity commands as an operator runs them, on the database kind of this test run. */
let t: TestDatabase;
let env: Record<string, string>;

beforeAll(async () => {
  t = await createTestDatabase();
  await t.close();
  env = { ...t.env, MASTER_PASSPHRASE: 'cli-test-master-passphrase' };
});
afterAll(async () => {
  await t?.destroy();
});

const json = <T>(out: { stdout: string }) => JSON.parse(out.stdout) as T;

describe('identity CLI', () => {
  it('refuses to work on an installation that was never initialised', async () => {
    const r = await runCli(['client', 'list'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('run `tinnhiem init`');
  });

  it('initialises once, idempotently, with two key families and a published next key each', async () => {
    const first = await runCli(['init', '--json'], env);
    expect(first.code).toBe(0);
    const keys = json<{ signingKeys: Array<{ alg: string; state: string }> }>(first).signingKeys;
    expect(keys.map((k) => `${k.alg}:${k.state}`).sort()).toEqual(['ES256:active', 'ES256:next', 'RS256:active', 'RS256:next']);
    const again = await runCli(['init', '--json'], env);
    expect(json<{ signingKeys: unknown[] }>(again).signingKeys).toHaveLength(4);
  });

  it('refuses a wrong master passphrase with a clear message', async () => {
    // A command that opens secrets (the read-only listings open none: docs/cli.md, "Start-up time").
    const r = await runCli(['oidc', 'keys'], { ...env, MASTER_PASSPHRASE: 'not-the-right-passphrase' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('master passphrase does not open');
  });

  it('registers a client, shows its secret once, and rotates it', async () => {
    const added = await runCli(
      ['client', 'add', '--id', 'cong-dvc', '--name', 'Cổng dịch vụ công', '--redirect-uri', 'https://dichvucong.soctrang.gov.vn/oidc/callback', '--scope', 'openid profile vn_identity certs:read', '--json'],
      env,
    );
    expect(added.code).toBe(0);
    const { secret, client } = json<{ secret: string; client: { metadata: Record<string, unknown> } }>(added);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(client.metadata).toMatchObject({ scope: 'openid profile vn_identity', api_scopes: 'certs:read', token_endpoint_auth_method: 'client_secret_basic' });

    const shown = await runCli(['client', 'show', 'cong-dvc', '--json'], env);
    expect(shown.stdout).not.toContain(secret);
    const listed = await runCli(['client', 'list', '--json'], env);
    expect(listed.stdout).not.toContain(secret);

    const rotated = await runCli(['client', 'rotate-secret', 'cong-dvc', '--json'], env);
    expect(json<{ secret: string }>(rotated).secret).not.toBe(secret);

    const duplicate = await runCli(['client', 'add', '--id', 'cong-dvc', '--name', 'x', '--redirect-uri', 'https://a.gov.vn/cb'], env);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('already exists');
  });

  it('registers a client that must use PAR, treats acr_values as essential, and carries its keys inline (issue 21)', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const file = join(t.env.DATA_DIR ?? '/tmp', `jwks-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ keys: [{ ...jwk, kid: 'k1' }] }));
    const added = await runCli(
      ['client', 'add', '--id', 'cong-par', '--name', 'Cổng PAR', '--redirect-uri', 'https://par.soctrang.gov.vn/cb', '--auth-method', 'private_key_jwt', '--jwks', file, '--require-par', '--acr-values-essential', '--json'],
      env,
    );
    expect([added.code, added.stderr]).toEqual([0, expect.any(String)]);
    const { client, secret } = json<{ secret: string | null; client: { metadata: Record<string, unknown> } }>(added);
    expect(secret).toBeNull();
    expect(client.metadata).toMatchObject({ require_pushed_authorization_requests: true, acr_values_essential: true, token_endpoint_auth_method: 'private_key_jwt' });
    const shown = await runCli(['client', 'show', 'cong-par'], env);
    expect(shown.stdout).toMatch(/PAR\s+required/);
    const bad = await runCli(['client', 'add', '--id', 'cong-par-2', '--name', 'x', '--redirect-uri', 'https://a.gov.vn/cb', '--auth-method', 'private_key_jwt', '--jwks', '/nonexistent/jwks.json'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('jwks:');
  });

  it.each([
    [['--redirect-uri', 'http://portal.gov.vn/cb'], 'https URL'],
    [['--redirect-uri', 'https://portal.gov.vn/cb#frag'], 'without a fragment'],
    [['--redirect-uri', 'https://portal.gov.vn/cb', '--scope', 'openid root'], 'only these scopes exist'],
    [['--grant', 'client_credentials', '--auth-method', 'none'], 'public client cannot use client_credentials'],
  ])('refuses bad client metadata %j', async (args, message) => {
    const r = await runCli(['client', 'add', '--id', 'bad-client', '--name', 'Bad', ...args], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    const list = await runCli(['client', 'list', '--json'], env);
    expect(list.stdout).not.toContain('bad-client');
  });

  it('creates officials with a password that never travels in argv, and disables them', async () => {
    const file = join(t.env.DATA_DIR ?? '/tmp', `pw-${process.pid}`);
    writeFileSync(file, 'mat-khau-rat-dai-2026\n', { mode: 0o600 });
    const added = await runCli(
      ['user', 'add', '--username', 'ttb', '--national-id', '094190000123', '--name', 'Trần Thị Bình', '--roles', 'auditor', '--agency', 'SỞ NỘI VỤ', '--password-file', file, '--json'],
      env,
    );
    expect(added.code).toBe(0);
    expect(json<{ account: { roles: string[]; fullName: string } }>(added).account).toMatchObject({ roles: ['auditor'], fullName: 'Trần Thị Bình' });
    // admin and ra-officer accounts need a named administrator and a second one (test/integration/security/).
    expect((await runCli(['user', 'add', '--username', 'rax', '--national-id', '094190000125', '--name', 'X', '--roles', 'ra-officer'], env)).code).toBe(2);

    const generated = await runCli(['user', 'add', '--username', 'nvc', '--national-id', '094190000124', '--name', 'Nguyễn Văn C', '--json'], env);
    expect(json<{ initialPassword: string }>(generated).initialPassword).toMatch(/^[A-Za-z0-9_-]{20}$/);

    const sameId = await runCli(['user', 'add', '--username', 'other', '--national-id', '094190000123', '--name', 'X'], env);
    expect(sameId.code).toBe(1);
    expect(sameId.stderr).toContain('one national ID is one person');

    const badId = await runCli(['user', 'add', '--username', 'x2', '--national-id', '12345', '--name', 'X'], env);
    expect(badId.code).toBe(1);
    expect(badId.stderr).toContain('CCCD');

    expect((await runCli(['user', 'disable', 'ttb'], env)).code).toBe(0);
    const listed = json<Array<{ username: string; status: string }>>(await runCli(['user', 'list', '--json'], env));
    expect(listed.find((a) => a.username === 'ttb')?.status).toBe('disabled');
  });

  it('rotates the signing keys and records every change in the audit log', async () => {
    const rotated = json<{ activated: string[]; retired: string[]; created: string[] }>(await runCli(['oidc', 'rotate-keys', '--json'], env));
    expect(rotated.activated).toHaveLength(2);
    expect(rotated.retired).toHaveLength(2);
    const keys = json<Array<{ kid: string; state: string }>>(await runCli(['oidc', 'keys', '--json'], env));
    for (const kid of rotated.activated) expect(keys.find((k) => k.kid === kid)?.state).toBe('active');
    for (const kid of rotated.retired) expect(keys.find((k) => k.kid === kid)?.state).toBe('retired');

    const actions = json<Array<{ action: string }>>(await runCli(['audit', 'list', '--limit', '500', '--json'], env)).map((e) => e.action);
    for (const action of ['installation.initialise', 'oidc.key.create', 'client.create', 'client.rotate_secret', 'account.create', 'account.disable', 'oidc.key.rotate']) {
      expect(actions).toContain(action);
    }
    expect((await runCli(['audit', 'verify'], env)).code).toBe(0);
  });
});
