import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GENESIS_HASH, eventHash, type AuditEvent } from '../../../src/audit/audit-chain.js';
import { auditPublicKey, checkpointProblem, parseCheckpoint, signCheckpoint, signedBytes, type Checkpoint } from '../../../src/audit/checkpoint.js';
import { parseSyslogUrl, syslogRecord } from '../../../src/audit/checkpoint-sinks.js';
import { verifyWithCheckpoints } from '../../../src/audit/checkpoint-verification.js';
import { FileKeyStore } from '../../../ca/keys/file-key-store.js';
import { parseKeySpec, type SigningKey } from '../../../ca/keys/key-store.js';
import { encodePem } from '../../../ca/asn1/der.js';
import { describeWithProgram } from '../../support/system-tools.js';

/** A chain of `n` events (recomputed from `events` when given: what someone with DDL rights does). */
function chain(n: number, from?: Array<Pick<AuditEvent, 'actor' | 'action' | 'target' | 'details'>>): AuditEvent[] {
  const out: AuditEvent[] = [];
  let prev = GENESIS_HASH;
  const bodies = from ?? Array.from({ length: n }, (_, i) => ({ actor: 'user:ra1', action: 'certificate.issue', target: `certificate:${i + 1}`, details: { approver: 'user:ra2' } }));
  bodies.forEach((b, i) => {
    const base = { ...b, seq: i + 1, occurredAt: new Date(Date.UTC(2026, 11, 3, 9, 0, i)) };
    const hash = eventHash(prev, base);
    out.push({ ...base, prevHash: prev, hash });
    prev = hash;
  });
  return out;
}

async function* iterate(events: AuditEvent[]) {
  yield* events;
}

let dir: string;
let ec: SigningKey;
let rsaPss: SigningKey;
let other: SigningKey;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tinnhiem-audit-key-'));
  const store = new FileKeyStore({ directory: dir, passphrase: 'audit-test-passphrase', kdfIterations: 1_000 });
  ec = await store.generate(parseKeySpec('ecdsa-p256'), 'audit');
  rsaPss = await store.generate(parseKeySpec('rsa-pss-2048'), 'audit-pss');
  other = await store.generate(parseKeySpec('ecdsa-p256'), 'not-audit');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const publicOf = (key: SigningKey) => auditPublicKey(encodePem(key.spki, 'PUBLIC KEY'));
const at = new Date(Date.UTC(2026, 11, 3, 10, 0, 0));

describe('audit checkpoints: signature', () => {
  it('signs the head (seq, hash, time) and verifies with the audit public key only', async () => {
    const events = chain(3);
    for (const key of [ec, rsaPss]) {
      const c = await signCheckpoint(key, { seq: 3, hash: events[2].hash.toString('hex') }, at);
      expect(c).toMatchObject({ type: 'tinnhiem.audit.checkpoint', v: 1, seq: 3, at: '2026-12-03T10:00:00.000Z' });
      expect(checkpointProblem(c, publicOf(key))).toBeNull();
      expect(checkpointProblem(parseCheckpoint(JSON.stringify(c)), publicOf(key))).toBeNull();
      // Moving the anchor to another head breaks the signature.
      expect(checkpointProblem({ ...c, seq: 2 }, publicOf(key))).toMatch(/does not verify/);
      expect(checkpointProblem({ ...c, hash: events[1].hash.toString('hex') }, publicOf(key))).toMatch(/does not verify/);
    }
    // A checkpoint made with any other key is not the audit key's.
    const forged = await signCheckpoint(other, { seq: 3, hash: events[2].hash.toString('hex') }, at);
    expect(checkpointProblem(forged, publicOf(ec))).toMatch(/not by the audit public key/);
    expect(checkpointProblem({ ...forged, keyId: publicOf(ec).keyId }, publicOf(ec))).toMatch(/does not verify/);
  });

  it('refuses lines that are not checkpoints', () => {
    expect(() => parseCheckpoint('nope')).toThrow('not JSON');
    expect(() => parseCheckpoint('{"type":"x"}')).toThrow(/not a tinnhiem.audit.checkpoint/);
    expect(() => parseCheckpoint('{"type":"tinnhiem.audit.checkpoint","v":1,"seq":0}')).toThrow(/seq/);
  });

  it('formats an RFC 5424 record and reads syslog URLs', async () => {
    const c = await signCheckpoint(ec, { seq: 7, hash: 'ab'.repeat(32) }, at);
    const record = syslogRecord(c, 'node-1', 4242);
    expect(record).toMatch(/^<109>1 2026-12-03T10:00:00\.000Z node-1 tinnhiem 4242 audit-checkpoint \[checkpoint@32473 seq="7" hash="(ab){32}" at="[^"]+" keyId="sha256:[0-9a-f]{64}"\] \{.*\}$/);
    expect(JSON.parse(record.slice(record.indexOf('] ') + 2))).toEqual(c);
    expect(parseSyslogUrl('udp://10.0.0.5')).toEqual({ protocol: 'udp', host: '10.0.0.5', port: 514 });
    expect(parseSyslogUrl('tcp://[fd00::1]:6514')).toEqual({ protocol: 'tcp', host: 'fd00::1', port: 6514 });
    expect(() => parseSyslogUrl('http://x')).toThrow();
  });
});

describeWithProgram('openssl', 'openssl')('audit checkpoints: an independent verifier', () => {
  it('openssl dgst verifies a checkpoint from its line and the public key', async () => {
    const c = await signCheckpoint(ec, { seq: 9, hash: 'cd'.repeat(32) }, at);
    writeFileSync(join(dir, 'pub.pem'), encodePem(ec.spki, 'PUBLIC KEY'));
    writeFileSync(join(dir, 'payload'), signedBytes(c));
    writeFileSync(join(dir, 'sig'), Buffer.from(c.sig, 'base64'));
    const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig'), join(dir, 'payload')]).toString();
    expect(out).toContain('Verified OK');
    writeFileSync(join(dir, 'payload'), signedBytes({ ...c, seq: 8 }));
    expect(() => execFileSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig'), join(dir, 'payload')], { stdio: 'pipe' })).toThrow();
  });
});

describeWithProgram('openssl', 'openssl')('audit checkpoints: the public key as a certificate', () => {
  it('a certificate of the audit key gives the same key id as its public key', () => {
    const p = (n: string) => join(dir, n);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('k.pem'), '-out', p('c.pem'), '-days', '2', '-subj', '/CN=Audit key'], { stdio: 'pipe' });
    const pub = execFileSync('openssl', ['pkey', '-in', p('k.pem'), '-pubout']).toString();
    const fromCert = auditPublicKey(readFileSync(p('c.pem'), 'utf8'));
    expect(fromCert.keyId).toBe(auditPublicKey(pub).keyId);
    expect(fromCert.keyId).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('audit checkpoints: the chain against its checkpoints', () => {
  async function anchored(events: AuditEvent[], checkpoints: Checkpoint[]) {
    const lines = checkpoints.map((checkpoint, i) => ({ line: i + 1, checkpoint }));
    return verifyWithCheckpoints(iterate(events), { source: 'checkpoints.jsonl', lines, publicKey: publicOf(ec), tsaCerts: [] });
  }
  const checkpointAt = (events: AuditEvent[], seq: number) => signCheckpoint(ec, { seq, hash: events[seq - 1].hash.toString('hex') }, at);

  it('an intact chain matches; events after the last checkpoint are the unanchored window', async () => {
    const events = chain(10);
    const result = await anchored(events, [await checkpointAt(events, 4), await checkpointAt(events, 8)]);
    expect(result).toMatchObject({ ok: true, checked: 10, checkpoints: { verified: 2, lastAnchored: { seq: 8 }, unanchoredEvents: 2 } });
  });

  it('an approver changed and every hash recomputed: intact as a chain, caught by the checkpoint', async () => {
    const events = chain(10);
    const checkpoints = [await checkpointAt(events, 8)];
    const forged = chain(10, events.map((e) => (e.seq === 5 ? { ...e, details: { approver: 'user:mallory' } } : e)));
    expect((await anchored(forged, [])).ok).toBe(true);
    expect((await anchored(forged, checkpoints)).firstBad).toMatchObject({ seq: 8, problem: 'rewritten' });
  });

  it('an event deleted and the rest renumbered: caught', async () => {
    const events = chain(10);
    const checkpoints = [await checkpointAt(events, 6), await checkpointAt(events, 10)];
    const renumbered = chain(9, events.filter((e) => e.seq !== 3));
    expect((await anchored(renumbered, checkpoints)).firstBad).toMatchObject({ seq: 6, problem: 'rewritten' });
    // With only the checkpoint at the end, the renumbered log is shorter than what was signed.
    expect((await anchored(renumbered, [checkpoints[1]])).firstBad).toMatchObject({ seq: 10, problem: 'truncated' });
  });

  it('the tail cut back past a checkpoint: caught; a cut after the last checkpoint is the window', async () => {
    const events = chain(10);
    const checkpoints = [await checkpointAt(events, 8)];
    expect((await anchored(events.slice(0, 7), checkpoints)).firstBad).toMatchObject({ seq: 8, problem: 'truncated' });
    expect(await anchored(events.slice(0, 9), checkpoints)).toMatchObject({ ok: true, checkpoints: { unanchoredEvents: 1 } });
  });

  it('a forged or altered checkpoint line is named', async () => {
    const events = chain(5);
    const good = await checkpointAt(events, 5);
    const result = await anchored(events, [good, { ...good, seq: 4, hash: events[3].hash.toString('hex') }]);
    expect(result.firstBad).toMatchObject({ problem: 'bad-checkpoint', line: 2 });
  });
});
