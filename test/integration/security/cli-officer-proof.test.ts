import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { runCli } from '../../support/run-cli.js';
import { officialHolder, opensslCsr, tmp } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';

/**
 * Issue 16 from the host's shell. Acceptance 2 (CLI): `user add --roles ra-officer` waits for a
 * second administrator, never the initiator; `tinnhiem init --admins` bootstraps the first two.
 * Acceptance 3: `cert approve --officer ra1` without ra1's credentials exits 2 and writes nothing;
 * a disabled officer is refused; the approval records the OS user.
 */
let t: TestDatabase;
let env: Record<string, string>;
let dir: string;
const out = <T>(r: { stdout: string; stderr: string; code: number | null }): T => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
};
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
};

beforeAll(async () => {
  t = await createTestDatabase();
  await t.close();
  dir = tmp('tinnhiem-officer-proof-');
  env = { ...t.env, DATA_DIR: t.env.DATA_DIR ?? dir, MASTER_PASSPHRASE: 'officer-proof-passphrase', PUBLIC_URL: 'https://pki.soctrang.gov.vn' };
});
afterAll(async () => {
  await t?.destroy();
});

const audit = async (action: string) => out<Array<{ actor: string; target: string; details: Record<string, unknown> }>>(await runCli(['audit', 'list', '--action', action, '--json'], env));

describeWithProgram('openssl', 'openssl')('dual control over people and officers proving who they are, from the CLI', () => {
  let admins: Array<{ username: string; id: string; enrolmentCode: string }>;
  let a1: string;
  let a2: string;
  let ra1: string;

  it('init --admins creates the first two administrators (audited) with enrolment codes, once', async () => {
    a1 = file('a1', 'Mật-khẩu-quản-trị-một-2026');
    a2 = file('a2', 'Mật-khẩu-quản-trị-hai-2026');
    const list = file('admins.json', JSON.stringify([
      { username: 'qt1', nationalId: '094190000901', name: 'Quản Trị Một', password: 'Mật-khẩu-quản-trị-một-2026' },
      { username: 'qt2', nationalId: '094190000902', name: 'Quản Trị Hai', password: 'Mật-khẩu-quản-trị-hai-2026' },
    ]));
    admins = out<{ admins: typeof admins }>(await runCli(['init', '--admins', list, '--json'], env, 120_000)).admins;
    expect(admins.map((a) => a.username)).toEqual(['qt1', 'qt2']);
    for (const a of admins) expect(a.enrolmentCode).toMatch(/^[A-Z2-9]{5}(-[A-Z2-9]{5}){3}$/);
    const [bootstrap] = await audit('account.bootstrap_admins');
    expect(bootstrap.actor).toMatch(/^cli:/);
    // Once administrators exist, the bootstrap is refused: the rule applies from then on.
    const again = await runCli(['init', '--admins', list], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('administrators exist already');
  }, 400_000);

  it('user add --roles ra-officer: refused without --as, pending with it, never approved by its initiator, done by the second administrator', async () => {
    ra1 = file('ra1', 'Mật-khẩu-cán-bộ-RA-2026');
    const add = ['user', 'add', '--username', 'ra1', '--national-id', '094190000301', '--name', 'Lâm Thị Sóc', '--roles', 'ra-officer', '--password-file', ra1];
    const bare = await runCli(add, env);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('--as');
    // The initiator must prove it is them too.
    expect((await runCli([...add, '--as', 'qt1', '--admin-password-file', a2], env)).code).toBe(2);
    const pending = out<{ status: string; change: string; account: unknown }>(await runCli([...add, '--as', 'qt1', '--admin-password-file', a1, '--json'], env));
    expect(pending).toMatchObject({ status: 'pending', account: null });
    expect(out<unknown[]>(await runCli(['user', 'list', '--search', 'ra1', '--json'], env))).toEqual([]);
    const own = await runCli(['user', 'approve-change', pending.change, '--as', 'qt1', '--password-file', a1], env);
    expect(own.code).toBe(1);
    expect(own.stderr).toContain('nobody approves their own account change');
    const done = out<{ status: string; account: { id: string; roles: string[] } }>(await runCli(['user', 'approve-change', pending.change, '--as', 'qt2', '--password-file', a2, '--json'], env));
    expect(done).toMatchObject({ status: 'done', account: { roles: ['ra-officer'] } });
    // Both actors audited: the creation by the initiator, approved by the second; the approval with the OS user.
    const [created] = (await audit('account.create')).filter((e) => e.target === `account:${done.account.id}`);
    expect(created).toMatchObject({ actor: `user:${admins[0].id}`, details: { approvedBy: `user:${admins[1].id}` } });
    const [approval] = await audit('account.change_approve');
    expect(approval).toMatchObject({ actor: `user:${admins[1].id}`, details: { requestedBy: `user:${admins[0].id}`, via: 'cli', osUser: expect.stringMatching(/^cli:/) } });
  }, 400_000);

  it('cert approve --officer ra1 without ra1\'s credentials exits 2 and writes nothing; with them it issues, recording the OS user', async () => {
    // The root is sealed with its own passphrase (docs/ca.md, "The root key"); a development policy arc.
    out(await runCli(['ca', 'init', '--dev', '--root-passphrase-file', file('root.pw', 'officer-proof-root-passphrase'), '--json'], env, 120_000));
    const csr = file('csr.pem', opensslCsr());
    const holder = file('holder.json', JSON.stringify(officialHolder('094190000777', 'Thạch Thị Mỹ')));
    const { request } = out<{ request: { id: string } }>(await runCli(['cert', 'request', '--profile', 'official-signing', '--csr', csr, '--holder', holder, '--json'], env));
    const approvalsBefore = (await audit('certificate.approve')).length;
    // No password (no terminal to ask on), another person's password, no officer named: exit 2, nothing approved.
    for (const args of [[], ['--password-file', a1]]) {
      const r = await runCli(['cert', 'approve', request.id, '--officer', 'ra1', ...args], env);
      expect([args, r.code]).toEqual([args, 2]);
    }
    expect((await runCli(['cert', 'approve', request.id], env)).code).toBe(2);
    const listed = out<Array<{ id: string; status: string; approvals: unknown[] }>>(await runCli(['cert', 'requests', '--json'], env)).find((r) => r.id === request.id)!;
    expect(listed).toMatchObject({ status: 'pending', approvals: [] });
    expect((await audit('certificate.approve')).length).toBe(approvalsBefore);
    const refused = await audit('cli.officer_refused');
    expect(refused.some((e) => e.details.login === 'ra1' && e.details.reason === 'invalid')).toBe(true);

    const approved = out<{ request: { status: string } }>(await runCli(['cert', 'approve', request.id, '--officer', 'ra1', '--password-file', ra1, '--json'], env));
    expect(approved.request.status).toBe('issued');
    const [event] = await audit('certificate.approve');
    expect(event).toMatchObject({ actor: expect.stringMatching(/^user:/), details: { via: 'cli', osUser: expect.stringMatching(/^cli:/) } });
  }, 600_000);

  it('a disabled officer is refused (disabling an RA officer is itself dual control)', async () => {
    const csr = file('csr2.pem', opensslCsr());
    const holder = file('holder2.json', JSON.stringify(officialHolder('094190000778', 'Thạch Văn Hai')));
    const { request } = out<{ request: { id: string } }>(await runCli(['cert', 'request', '--profile', 'official-signing', '--csr', csr, '--holder', holder, '--json'], env));
    expect((await runCli(['user', 'disable', 'ra1'], env)).code).toBe(2);
    const pending = out<{ change: string }>(await runCli(['user', 'disable', 'ra1', '--as', 'qt2', '--admin-password-file', a2, '--json'], env));
    out(await runCli(['user', 'approve-change', pending.change, '--as', 'qt1', '--password-file', a1, '--json'], env));
    const r = await runCli(['cert', 'approve', request.id, '--officer', 'ra1', '--password-file', ra1], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('disabled');
    const listed = out<Array<{ id: string; status: string }>>(await runCli(['cert', 'requests', '--json'], env)).find((x) => x.id === request.id)!;
    expect(listed.status).toBe('pending');

    // Nor does one operator bring the officer back, or give them a login certificate, alone.
    expect((await runCli(['user', 'enable', 'ra1'], env)).code).toBe(2);
    const cert = file('login.pem', readFileSync(new URL('../../fixtures/vgca/vgca-g1-chinh-phu-subca.pem', import.meta.url), 'utf8'));
    const bare = await runCli(['user', 'add-certificate', 'ra1', '--cert', cert], env);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('--as');
    expect(await audit('account.certificate_register')).toEqual([]);
    const enabling = out<{ status: string; change: string }>(await runCli(['user', 'enable', 'ra1', '--as', 'qt1', '--admin-password-file', a1, '--json'], env));
    expect(enabling.status).toBe('pending');
    expect((await runCli(['user', 'approve-change', enabling.change, '--as', 'qt1', '--password-file', a1], env)).code).not.toBe(0);
    out(await runCli(['user', 'approve-change', enabling.change, '--as', 'qt2', '--password-file', a2, '--json'], env));
    expect((await audit('account.enable')).at(-1)).toMatchObject({ details: { approvedBy: expect.stringMatching(/^user:/) } });
  }, 400_000);
});
