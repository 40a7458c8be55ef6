import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { GENESIS_HASH, eventHash, verifyChain, type AuditEvent } from '../../../src/audit/audit-chain.js';
import { auditPublicKey, checkpointProblem, parseCheckpoint, signCheckpoint, signedBytes, type Checkpoint } from '../../../src/audit/checkpoint.js';
import type { AuditCheckpointer } from '../../../src/audit/audit-checkpointer.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { createCheckpointer } from '../../../src/service/audit-checkpoints.js';
import { AuditRepository } from '../../../src/storage/audit-repository.js';
import { FileKeyStore } from '../../../ca/keys/file-key-store.js';
import { parseKeySpec, type SigningKey } from '../../../ca/keys/key-store.js';
import { encodePem } from '../../../ca/asn1/der.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { memoryLogger } from '../../support/test-app.js';
import { runCli } from '../../support/run-cli.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { startTestTsa, type TestTsa } from '../../support/tsa-server.js';

let t: TestDatabase;
let dir: string;
let keys: FileKeyStore;
let auditKey: SigningKey;
let tsa: TestTsa;
let udp: Socket;
const udpRecords: string[] = [];
let tcp: Server;
let tcpData = '';
let now = Date.UTC(2026, 11, 3, 9, 0, 0);
const clock = { now: () => new Date(now) };
let env: Record<string, string>;

beforeAll(async () => {
  t = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'tinnhiem-audit-anchor-'));
  keys = new FileKeyStore({ directory: join(dir, 'keys'), passphrase: 'audit-anchor-passphrase', kdfIterations: 1_000 });
  auditKey = await keys.generate(parseKeySpec('ecdsa-p256'), 'audit');
  writeFileSync(join(dir, 'audit.pub.pem'), encodePem(auditKey.spki, 'PUBLIC KEY'));
  tsa = await startTestTsa();
  udp = createSocket('udp4').on('message', (m) => udpRecords.push(m.toString()));
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  tcp = createServer((socket) => socket.on('data', (d) => (tcpData += d.toString())));
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  env = {
    ...t.env,
    DATA_DIR: t.env.DATA_DIR ?? dir,
    AUDIT_KEY_URI: 'file:audit',
    AUDIT_CHECKPOINT_FILE: join(dir, 'anchor', 'checkpoints.jsonl'),
    AUDIT_PUBLIC_KEY_FILE: join(dir, 'audit.pub.pem'),
    AUDIT_SYSLOG_URL: `udp://127.0.0.1:${(udp.address() as AddressInfo).port}`,
    AUDIT_TSA_URL: tsa.url,
    AUDIT_TSA_CERT_FILE: tsa.root,
    AUDIT_CHECKPOINT_EVENTS: '5',
    AUDIT_CHECKPOINT_SECONDS: '600',
  };
});
afterAll(async () => {
  udp?.close();
  tcp?.close();
  await tsa?.close();
  await t?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function node(name: string, extra: Record<string, string> = {}): AuditCheckpointer {
  const config = loadConfig({ env: { ...env, ...extra } });
  return createCheckpointer({ config, db: t.db, audit: new AuditRepository(t.db.knex, clock), keyStore: keys, clock, log: memoryLogger().log, nodeId: name });
}

async function append(n: number): Promise<void> {
  const audit = new AuditRepository(t.db.knex, clock);
  for (let i = 0; i < n; i++) {
    await t.db.withTransaction((trx) => audit.append(trx, { actor: 'user:ra1', action: 'certificate.approve', target: `request:${i}`, details: { approver: 'user:ra2' } }));
  }
}

const fileLines = (): Checkpoint[] => readFileSync(env.AUDIT_CHECKPOINT_FILE, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Checkpoint);

/** What someone with DDL rights does: rewrite the rows (triggers off) with every hash recomputed. */
async function rewrite(mutate: (events: AuditEvent[]) => AuditEvent[]): Promise<void> {
  const events: AuditEvent[] = [];
  for await (const e of new AuditRepository(t.db.knex, clock).all()) events.push(e);
  let prev = GENESIS_HASH;
  const rows = mutate(events).map((e, i) => {
    const base = { ...e, seq: i + 1 };
    const hash = eventHash(prev, base);
    const row = { seq: base.seq, occurred_at: base.occurredAt, actor: base.actor, action: base.action, target: base.target, details: JSON.stringify(base.details), prev_hash: prev, hash };
    prev = hash;
    return row;
  });
  await t.db.knex.raw('ALTER TABLE audit_events DISABLE TRIGGER USER');
  await t.db.knex('audit_events').del();
  if (rows.length) await t.db.knex('audit_events').insert(rows);
  await t.db.knex.raw('ALTER TABLE audit_events ENABLE TRIGGER USER');
}

/** Runs `tinnhiem audit verify` with the database released (the embedded one has one holder). */
async function verify(args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string; json?: Record<string, unknown> }> {
  await t.close();
  const result = await runCli(['audit', 'verify', ...args], env);
  await t.reopen();
  return { ...result, json: args.includes('--json') && result.stdout ? (JSON.parse(result.stdout) as Record<string, unknown>) : undefined };
}

const kind = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';

describeWithProgram('openssl', 'openssl')(`audit checkpoints outside the database (${kind})`, () => {
  it('one node at a time signs the head every N events or M seconds, to the file, syslog and a TSA', async () => {
    const [a, b] = [node('node-a'), node('node-b')];
    expect(await a.runOnce()).toBeNull(); // nothing to anchor yet
    await append(3);
    expect(await a.runOnce()).toMatchObject({ seq: 3 }); // the first checkpoint is due at once
    expect(await b.runOnce({ force: true })).toBeNull(); // node-a holds the lease
    await append(2);
    expect(await a.runOnce()).toBeNull(); // 2 < N = 5 new events, 0 < M = 600 s
    now += 601_000;
    expect(await a.runOnce()).toMatchObject({ seq: 5 }); // M seconds passed with new events
    await append(5);
    expect(await a.runOnce()).toMatchObject({ seq: 10 }); // N new events
    const lines = fileLines();
    expect(lines.map((c) => c.seq)).toEqual([3, 5, 10]);
    const head = await new AuditRepository(t.db.knex, clock).event(10);
    expect(lines[2].hash).toBe(head!.hash.toString('hex'));
    expect(Number((await t.db.knex('audit_checkpoints').count({ n: '*' }).first())!.n)).toBe(3);

    // Remote syslog got the same checkpoints as RFC 5424 records.
    await new Promise((r) => setTimeout(r, 200));
    expect(udpRecords.map((r) => JSON.parse(r.slice(r.indexOf('] {') + 2)).seq)).toEqual([3, 5, 10]);
    for (const r of udpRecords) expect(checkpointProblem(parseCheckpoint(r.slice(r.indexOf('] {') + 2)), auditPublicKey(encodePem(auditKey.spki, 'PUBLIC KEY')))).toBeNull();
    expect(udpRecords[0]).toMatch(/^<109>1 \S+ \S+ tinnhiem \d+ audit-checkpoint \[checkpoint@32473 seq="3" /);

    // Each carries an RFC 3161 token that OpenSSL verifies against the TSA's root.
    expect(tsa.requests).toBe(3);
    for (const [i, c] of lines.entries()) {
      writeFileSync(join(dir, `payload${i}`), signedBytes(c));
      writeFileSync(join(dir, `token${i}.der`), Buffer.from(c.tsa!.token, 'base64'));
      const out = execFileSync('openssl', ['ts', '-verify', '-data', join(dir, `payload${i}`), '-in', join(dir, `token${i}.der`), '-token_in', '-CAfile', tsa.root, '-untrusted', tsa.cert], { stdio: 'pipe' }).toString();
      expect(out).toContain('Verification: OK');
    }

    // Over TCP, a record is octet-counted (RFC 6587 §3.4.1); once node-a lets go, node-b signs.
    await a.close();
    const c = node('node-b', { AUDIT_SYSLOG_URL: `tcp://127.0.0.1:${(tcp.address() as AddressInfo).port}`, AUDIT_TSA_URL: '' });
    await append(1);
    expect(await c.runOnce({ force: true })).toMatchObject({ seq: 11 });
    await new Promise((r) => setTimeout(r, 200));
    const frame = /^(\d+) (<109>1 .*)$/s.exec(tcpData);
    expect(frame).not.toBeNull();
    expect(Number(frame![1])).toBe(Buffer.byteLength(frame![2]));
    await c.close();
  });

  it('`audit verify` passes and states the window; the chain alone misses the attacks the checkpoints catch', async () => {
    await append(2); // #12, #13: after the last checkpoint (#11)
    expect((await verify(['--chain-only'])).stdout).toContain('not checked against checkpoints');
    const ok = await verify();
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('anchored: matches 4 signed checkpoints');
    expect(ok.stdout).toContain('2 events after #11 are not anchored yet');
    const saved = await t.db.knex('audit_events').orderBy('seq');
    const restore = async () => {
      await t.db.knex.raw('ALTER TABLE audit_events DISABLE TRIGGER USER');
      await t.db.knex('audit_events').del();
      await t.db.knex('audit_events').insert(saved);
      await t.db.knex.raw('ALTER TABLE audit_events ENABLE TRIGGER USER');
    };
    const attacks: Array<[string, (events: AuditEvent[]) => AuditEvent[], string]> = [
      ['an approver changed, hashes recomputed', (e) => e.map((x) => (x.seq === 4 ? { ...x, details: { approver: 'user:mallory' } } : x)), 'rewritten'],
      ['event #4 deleted, the rest renumbered', (e) => e.filter((x) => x.seq !== 4), 'rewritten'],
      ['the tail cut back to #9, past checkpoint #10', (e) => e.filter((x) => x.seq <= 9), 'truncated'],
    ];
    for (const [what, mutate, problem] of attacks) {
      await rewrite(mutate);
      // The defect: the chain alone (what `audit verify` checked before, now `--chain-only`) says intact.
      expect({ what, ok: (await verifyChain(new AuditRepository(t.db.knex, clock).all())).ok }).toEqual({ what, ok: true });
      const anchored = await verify(['--json']);
      expect({ what, code: anchored.code, firstBad: anchored.json!.firstBad }).toMatchObject({ what, code: 1, firstBad: { problem } });
      if (problem === 'truncated') expect((await verify()).stdout).toMatch(/AUDIT CHAIN BROKEN at event #10 \(truncated\): the log ends at #9/);
      await restore();
    }
    // A tail cut after the last checkpoint is within the stated window: not detectable, and said so.
    await rewrite((e) => e.filter((x) => x.seq <= 11));
    expect((await verify()).stdout).toContain('every event is anchored');
    await restore();
  });

  it('a running node refuses to anchor a rewritten log', async () => {
    const saved = await t.db.knex('audit_events').orderBy('seq');
    await rewrite((e) => e.filter((x) => x.seq !== 2));
    await expect(node('node-c').runOnce({ force: true })).rejects.toThrow(/audit event #11 (no longer has the hash|is gone, though) the last checkpoint signed/);
    await t.db.knex.raw('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await t.db.knex('audit_events').del();
    await t.db.knex('audit_events').insert(saved);
    await t.db.knex.raw('ALTER TABLE audit_events ENABLE TRIGGER USER');
  });

  it('names forged checkpoint lines, another TSA, and a missing key (exit codes 1 and 2)', async () => {
    const copy = join(dir, 'kept-by-auditor.jsonl');
    writeFileSync(copy, readFileSync(env.AUDIT_CHECKPOINT_FILE));
    // A checkpoint for a rewritten head signed with a key that is not the audit key.
    const [other] = [await keys.generate(parseKeySpec('ecdsa-p256'), 'mallory')];
    appendFileSync(copy, `${JSON.stringify(await signCheckpoint(other, { seq: 13, hash: 'ee'.repeat(32) }, clock.now()))}\n`);
    const forged = await verify(['--checkpoint-file', copy, '--json']);
    expect(forged.code).toBe(1);
    expect(forged.json!.firstBad).toMatchObject({ problem: 'bad-checkpoint', line: 5 });
    // Time-stamps must come from the TSA the auditor names.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'x.key'), '-out', join(dir, 'x.pem'), '-days', '2', '-subj', '/CN=Another TSA'], { stdio: 'pipe' });
    const otherTsa = await verify(['--tsa-cert', join(dir, 'x.pem'), '--json']);
    expect(otherTsa.json!.firstBad).toMatchObject({ problem: 'bad-checkpoint', message: expect.stringContaining('is not the TSA given') });
    const noKey = await runCliClosed(['audit', 'verify'], { ...env, AUDIT_PUBLIC_KEY_FILE: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('needs the audit public key');
    const noFile = await verify(['--checkpoint-file', join(dir, 'missing.jsonl')]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('cannot read the checkpoint file');
  });
});

async function runCliClosed(args: string[], e: Record<string, string>) {
  await t.close();
  try {
    return await runCli(args, e);
  } finally {
    await t.reopen();
  }
}
