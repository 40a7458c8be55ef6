import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Command } from 'commander';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { runCli } from '../../support/run-cli.js';
import { assertScriptJson } from '../../support/cli-json.js';
import { officialHolder, opensslCsr, run, tmp } from '../../support/ca-helpers.js';
import { buildProgram } from '../../../src/cli/program.js';

/**
 * Issue 21: `--json` answers that scripts can use (docs/cli.md, "JSON output"). Every command
 * with `--json` is run here, or in the test file named in ELSEWHERE (whose runs go through the
 * same runCli, which holds every successful `--json` answer to the documented shape:
 * test/support/cli-json.ts); the first test fails when a command gains `--json` untested.
 */
const ELSEWHERE: Record<string, string> = {
  'audit key create': 'test/integration/foundation/audit-checkpoint-service.test.ts',
  'audit checkpoint': 'test/integration/foundation/audit-checkpoint-service.test.ts',
  'audit key show': 'needs an audit key: test/integration/foundation/audit-checkpoint-service.test.ts makes one',
  'ca import-cert': 'test/integration/cli/ca-cli.test.ts',
  'cert request-batch': 'test/integration/cli/ca-cli.test.ts',
  'cert approve-batch': 'test/integration/cli/ca-cli.test.ts',
  'ca rotate': 'test/integration/cli/root-key.test.ts',
  'ca ceremony root-crl': 'test/integration/cli/root-key.test.ts',
  'ca ceremony migrate-root': 'test/integration/cli/root-key.test.ts',
  seed: 'test/integration/cli/ca-cli.test.ts',
  'document register': 'test/integration/verify/documents.test.ts',
  // Its answer is the constant {"deleted": id}; a passkey to delete needs the WebAuthn ceremony.
  'user delete-passkey': 'a passkey is made only through the browser ceremony (test/integration/identity passkey tests)',
};

let t: TestDatabase;
let env: Record<string, string>;
let dir: string;
const ran = new Set<string>();
let commandPaths: string[] = [];

/** Runs a `--json` command, checks exit 0 and the generic shape, and returns the document. */
async function json<T = Record<string, unknown>>(args: string[], extraEnv: Record<string, string> = {}): Promise<T> {
  const r = await runCli([...args, '--json'], { ...env, ...extraEnv }, 120_000);
  if (r.code !== 0) throw new Error(`tinnhiem ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  for (let n = 3; n > 0; n--) {
    if (!commandPaths.includes(args.slice(0, n).join(' '))) continue;
    ran.add(args.slice(0, n).join(' '));
    break;
  }
  return assertScriptJson(r.stdout) as T;
}

const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The paths of every command that takes --json, from the program itself. */
async function jsonCommands(): Promise<string[]> {
  const out: string[] = [];
  const walk = (c: Command, path: string[]) => {
    for (const s of c.commands) {
      const here = [...path, s.name()];
      if (s.options.some((o) => o.long === '--json')) out.push(here.join(' '));
      walk(s, here);
    }
  };
  walk(await buildProgram('all'), []);
  return out.sort();
}

beforeAll(async () => {
  commandPaths = await jsonCommands();
  t = await createTestDatabase();
  await t.close();
  dir = tmp('tinnhiem-json-cli-');
  env = { ...t.env, DATA_DIR: t.env.DATA_DIR ?? dir, MASTER_PASSPHRASE: 'json-cli-test-passphrase', PUBLIC_URL: 'https://pki.soctrang.gov.vn' };
});
afterAll(async () => {
  await t?.destroy();
});

describe('--json output (docs/cli.md, "JSON output")', () => {
  const a1 = () => join(dir, 'a1');
  const a2 = () => join(dir, 'a2');
  const ra1 = () => join(dir, 'ra1');

  // Each CLI run is a process of its own (a few seconds on a loaded machine): long tests.
  it('installation, configuration, keys and clients', async () => {
    file('a1', 'Mật-khẩu-quản-trị-một-2026');
    file('a2', 'Mật-khẩu-quản-trị-hai-2026');
    file('ra1', 'Mật-khẩu-cán-bộ-RA-2026');
    const admins = file('admins.json', JSON.stringify([
      { username: 'qt1', nationalId: '094190000901', name: 'Quản Trị Một', password: 'Mật-khẩu-quản-trị-một-2026' },
      { username: 'qt2', nationalId: '094190000902', name: 'Quản Trị Hai', password: 'Mật-khẩu-quản-trị-hai-2026' },
    ]));
    const init = await json<{ initialised: boolean; signingKeys: Array<{ kid: string }>; admins: unknown[] }>(['init', '--admins', admins]);
    expect(init).toMatchObject({ initialised: true });
    expect(init.admins).toHaveLength(2);
    expect(await json(['migrate'])).toEqual({ applied: [] });
    const status = await json<{ applied: string[]; pending: string[] }>(['migrate', '--status']);
    expect(status.pending).toEqual([]);
    expect((await json<{ server: { publicUrl: string } }>(['config', 'show'])).server.publicUrl).toBe('https://pki.soctrang.gov.vn');
    const keys = await json<Array<{ kid: string; createdAt: string }>>(['oidc', 'keys']);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.createdAt).toMatch(ISO);
    await json(['oidc', 'rotate-keys']);

    const added = await json<{ client: { clientId: string; createdAt: string }; secret: string }>(['client', 'add', '--id', 'json-portal', '--name', 'Cổng JSON', '--redirect-uri', 'https://dvc.soctrang.gov.vn/cb']);
    expect(added.client.clientId).toBe('json-portal');
    expect(added.client.createdAt).toMatch(ISO);
    expect(typeof added.secret).toBe('string');
    expect((await json<Array<{ clientId: string }>>(['client', 'list'])).map((c) => c.clientId)).toContain('json-portal');
    expect((await json<{ hasSecret: boolean }>(['client', 'show', 'json-portal'])).hasSecret).toBe(true);
    expect(await json(['client', 'rotate-secret', 'json-portal'])).toEqual({ clientId: 'json-portal', secret: expect.any(String) });
    expect(await json(['client', 'remove', 'json-portal'])).toEqual({ removed: 'json-portal' });
  }, 600_000);

  it('accounts under dual control', async () => {
    const pending = await json<{ status: string; change: string }>(['user', 'add', '--username', 'ra1', '--national-id', '094190000301', '--name', 'Lâm Thị Sóc', '--roles', 'ra-officer', '--password-file', ra1(), '--as', 'qt1', '--admin-password-file', a1()]);
    expect(pending.status).toBe('pending');
    const changes = await json<Array<{ id: string; createdAt: string }>>(['user', 'changes']);
    expect(changes.map((c) => c.id)).toContain(pending.change);
    await json(['user', 'approve-change', pending.change, '--as', 'qt2', '--password-file', a2()]);
    const other = await json<{ change: string }>(['user', 'add', '--username', 'ra2', '--national-id', '094190000302', '--name', 'Lâm Văn Hai', '--roles', 'ra-officer', '--as', 'qt1', '--admin-password-file', a1()]);
    await json(['user', 'reject-change', other.change, '--as', 'qt2', '--password-file', a2(), '--reason', 'trùng người']);
    const plain = await json<{ account: { id: string; createdAt: string }; initialPassword: string }>(['user', 'add', '--username', 'nvc', '--national-id', '094190000124', '--name', 'Nguyễn Văn C']);
    expect(plain.account.createdAt).toMatch(ISO);
    expect((await json<Array<{ username: string }>>(['user', 'list'])).map((a) => a.username)).toEqual(expect.arrayContaining(['qt1', 'qt2', 'ra1', 'nvc']));
    await json(['user', 'set-password', 'nvc', '--password-file', file('nvc', 'Mật-khẩu-mới-của-nvc-2026'), '--as', 'qt1', '--admin-password-file', a1()]);
    await json(['user', 'disable', 'nvc', '--as', 'qt1', '--admin-password-file', a1()]);
    await json(['user', 'enable', 'nvc']);
    expect(await json(['user', 'passkeys', 'nvc'])).toEqual([]);
    await json(['user', 'enrolment-code', 'nvc', '--as', 'qt1', '--password-file', a1()]);
  }, 600_000);

  it('certificates and CSRs as PEM and base64 DER, dates in ISO 8601', async () => {
    await json(['ca', 'init', '--dev', '--root-passphrase-file', file('root.pw', 'json-cli-root-passphrase')]);
    const issuers = await json<Array<{ id: string; role: string; createdAt: string }>>(['ca', 'show']);
    expect(issuers.map((i) => i.role)).toEqual(expect.arrayContaining(['root', 'issuing', 'ocsp-signer']));

    const csrPem = opensslCsr();
    const requested = await json<{ request: { id: string; csrPem: string; csrDerBase64: string; createdAt: string }; issued: null }>(['cert', 'request', '--profile', 'official-signing', '--csr', file('csr.pem', csrPem), '--holder', file('holder.json', JSON.stringify(officialHolder('094190000777', 'Thạch Thị Mỹ')))]);
    expect(requested.request.csrPem.replace(/\s+/g, '')).toBe(csrPem.replace(/\s+/g, ''));
    expect(Buffer.from(requested.request.csrDerBase64, 'base64').toString('base64')).toBe(requested.request.csrDerBase64);
    expect(requested.request.createdAt).toMatch(ISO);
    expect(requested.issued).toBeNull();
    expect((await json<Array<{ id: string }>>(['cert', 'requests'])).map((r) => r.id)).toContain(requested.request.id);

    const approved = await json<{ request: { status: string }; issued: { serial: string; issuerId: string; pem: string; derBase64: string; notAfter: string } }>(['cert', 'approve', requested.request.id, '--officer', 'ra1', '--password-file', ra1()]);
    expect(approved.request.status).toBe('issued');
    // The PEM and the DER are the same certificate, one that OpenSSL and Node read.
    const x509 = new X509Certificate(approved.issued.pem);
    expect(x509.raw.toString('base64')).toBe(approved.issued.derBase64);
    expect(run('openssl', ['x509', '-noout', '-serial'], { input: approved.issued.pem }).out.toLowerCase()).toContain(approved.issued.serial.toLowerCase());
    expect(approved.issued.notAfter).toMatch(ISO);
    const serial = approved.issued.serial;
    const registered = await json<{ fingerprint: string; subjectDn: string }>(['user', 'add-certificate', 'nvc', '--cert', file('issued.pem', approved.issued.pem)]);
    expect(registered.fingerprint).toMatch(/^[0-9a-f:]+$/i);

    const shown = await json<{ serial: string; pem: string; derBase64: string; notBefore: string; tbs?: unknown; der?: unknown }>(['cert', 'show', serial]);
    expect(shown.pem).toBe(approved.issued.pem);
    expect(shown.notBefore).toMatch(ISO);
    expect(shown).not.toHaveProperty('der');
    expect(shown).not.toHaveProperty('tbs');
    const listed = await json<{ total: number; items: Array<{ serial: string; notAfter: string }> }>(['cert', 'list']);
    expect(listed.total).toBeGreaterThanOrEqual(1);
    expect(listed.items.find((c) => c.serial === serial)).toMatchObject({ serial, notAfter: expect.stringMatching(ISO) });
    expect(listed.items[0]).not.toHaveProperty('pem');

    expect((await json<{ status: string }>(['cert', 'hold', serial])).status).toBe('hold');
    expect((await json<{ status: string }>(['cert', 'release', serial])).status).toBe('good');
    const revoked = await json<{ status: string; revokedAt: string; revocationReason: string }>(['cert', 'revoke', serial, '--reason', 'keyCompromise']);
    expect(revoked).toMatchObject({ status: 'revoked', revokedAt: expect.stringMatching(ISO), revocationReason: 'keyCompromise' });
    const bulk = await json<{ revoked: unknown[]; failed: unknown[] }>(['cert', 'revoke', '--national-id', '094190000777']);
    expect(bulk).toEqual({ revoked: [], failed: [] });

    // Direct issuance, for a profile configured to need no approval.
    const direct = await json<{ serial: string; issuerId: string; pem: string; derBase64: string }>(['cert', 'issue', '--profile', 'official-signing', '--csr', file('csr3.pem', opensslCsr()), '--holder', join(dir, 'holder.json')], { CA_PROFILE_APPROVALS: '{"official-signing":0}' });
    expect(new X509Certificate(direct.pem).raw.toString('base64')).toBe(direct.derBase64);
    expect(direct.issuerId).toBe(approved.issued.issuerId);

    const second = await json<{ request: { id: string } }>(['cert', 'request', '--profile', 'official-signing', '--csr', file('csr2.pem', opensslCsr()), '--holder', join(dir, 'holder.json')]);
    expect((await json<{ status: string; rejectReason: string }>(['cert', 'reject', second.request.id, '--officer', 'ra1', '--password-file', ra1(), '--reason', 'sai CCCD'])).status).toBe('rejected');

    const crls = await json<Array<{ issuer: string; kind: string; number: string }>>(['crl', 'generate']);
    expect(crls.map((c) => c.kind).sort()).toEqual(['delta', 'full']);
    expect(crls[0].number).toMatch(/^\d+$/);

    // A key reported compromised (the revocation above, for keyCompromise, already blocked its own).
    const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const blocked = await json<{ blocked: boolean; fingerprint: string }>(['cert', 'block-key', file('key.pem', spki), '--comment', 'báo lộ khoá']);
    expect(blocked.blocked).toBe(true);

    // Another CA's certificate, imported into the registry; and the validator's trust list.
    run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'other.key'), '-out', join(dir, 'other.pem'), '-days', '30', '-subj', '/C=VN/O=Khác/CN=Khác', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    const imported = await json<{ imported: unknown[]; skipped: unknown[] }>(['cert', 'import', join(dir, 'other.pem')]);
    expect(imported.imported.length + imported.skipped.length).toBe(1);
    const trusted = await json<Array<{ sha256: string; added: boolean }>>(['trust', 'add', join(dir, 'other.pem')]);
    expect(trusted[0].added).toBe(true);
    const trustList = await json<Array<{ sha256: string; addedAt?: string }>>(['trust', 'list']);
    expect(trustList.map((x) => x.sha256)).toContain(trusted[0].sha256);

    // The root ceremony's own commands (the root is sealed with its passphrase).
    const exported = await json<{ id: string; certificateSha256: string }>(['ca', 'ceremony', 'export', '--root', issuers.find((i) => i.role === 'root')!.id, '--out', join(dir, 'root-export')]);
    expect(exported.certificateSha256).toMatch(/^[0-9a-f:]+$/i);
    const ceremonyEnv = { CA_POLICY_ARC: '2.999.42' };
    const newRoot = await json<{ id: string; keyUri: string; subjectDn: string }>(['ca', 'ceremony', 'generate-root', '--root-passphrase-file', join(dir, 'root.pw')], ceremonyEnv);
    expect(newRoot.id).toEqual(expect.any(String));
    const signed = await json<{ id: string; parentId: string }>(['ca', 'ceremony', 'sign-issuing', '--root', newRoot.id, '--root-passphrase-file', join(dir, 'root.pw')], ceremonyEnv);
    expect(signed.parentId).toBe(newRoot.id);
  }, 900_000);

  it('the audit log', async () => {
    const events = await json<Array<{ seq: string | number; occurredAt: string; action: string }>>(['audit', 'list', '--limit', '500']);
    expect(events.length).toBeGreaterThan(10);
    for (const e of events) expect(e.occurredAt).toMatch(ISO);
    expect((await json<{ ok: boolean }>(['audit', 'verify', '--chain-only'])).ok).toBe(true);
  });

  it('LOG_LEVEL=debug (and trace) leaves stdout one JSON document: every log line goes to stderr', async () => {
    for (const LOG_LEVEL of ['debug', 'trace']) {
      // Each of these logs at debug ("database opened"): the lines are there, on stderr.
      for (const args of [['cert', 'list', '--json'], ['client', 'list', '--json'], ['ca', 'show', '--json'], ['migrate', '--status', '--json']]) {
        const r = await runCli(args, { ...env, LOG_LEVEL });
        expect(r.code).toBe(0);
        assertScriptJson(r.stdout, `${args.join(' ')} at ${LOG_LEVEL}`);
        expect(r.stdout).not.toContain('"level"');
        expect(r.stderr).toContain('"level":"debug"');
      }
    }
  }, 600_000);

  it('every command with --json is run here or in the file named for it', async () => {
    const all = commandPaths;
    const missing = all.filter((c) => !ran.has(c) && !ELSEWHERE[c]);
    expect(missing).toEqual([]);
    // And nothing is claimed for a command that no longer exists.
    expect(Object.keys(ELSEWHERE).filter((c) => !all.includes(c))).toEqual([]);
  });
});
