import { constants, createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { signWith, type SigningKey } from '../../ca/keys/key-store.js';
import { canonicalJson } from './audit-chain.js';

/**
 * A signed checkpoint anchors the audit chain's head outside the database (docs/audit.md): the
 * sequence number and hash of the newest event and the time of signing, signed with the audit key
 * (a key-store key, never in the database). Someone who rewrites `audit_events` and recomputes
 * every hash cannot make the new chain agree with a checkpoint signed before, nor sign one
 * that does. Pure: no I/O, no clock (the caller gives `at`).
 */
export const CHECKPOINT_TYPE = 'tinnhiem.audit.checkpoint' as const;

export interface CheckpointHead {
  seq: number;
  /** Lower-case hex of the event's SHA-256 chain hash. */
  hash: string;
}

/** One line of the checkpoint file (JSON), as the sinks carry it. */
export interface Checkpoint extends CheckpointHead {
  type: typeof CHECKPOINT_TYPE;
  v: 1;
  /** ISO 8601 time of signing (UTC). */
  at: string;
  /** `sha256:<hex>` of the audit key's SubjectPublicKeyInfo DER. */
  keyId: string;
  /** Signature algorithm: `ecdsa-with-SHA256`, `sha256WithRSAEncryption`, `rsassa-pss-SHA256`… */
  alg: string;
  /** Base64 signature over `signedBytes(checkpoint)` (ECDSA: DER Ecdsa-Sig-Value). */
  sig: string;
  /** RFC 3161 time-stamp token (base64 DER) over the head hash, when a TSA is configured. */
  tsa?: { token: string; url: string; genTime: string };
}

/** The key id an auditor compares with the public key they keep. */
export function keyIdOf(spki: Uint8Array): string {
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/**
 * The bytes that are signed: canonical JSON (sorted keys, no spaces) of the fields that say
 * what is anchored. An independent verifier rebuilds them from the line and checks the
 * signature with `openssl dgst -sha256 -verify audit-key.pub.pem -signature sig.der`.
 */
export function signedBytes(c: Pick<Checkpoint, 'type' | 'v' | 'seq' | 'hash' | 'at' | 'keyId'>): Buffer {
  return Buffer.from(canonicalJson({ type: c.type, v: c.v, seq: c.seq, hash: c.hash, at: c.at, keyId: c.keyId }), 'utf8');
}

function algorithmName(key: SigningKey): string {
  const hash = key.algorithm.hash;
  if (key.algorithm.name === 'ECDSA') return `ecdsa-with-${hash.replace('-', '')}`;
  if (key.algorithm.name === 'RSA-PSS') return `rsassa-pss-${hash.replace('-', '')}`;
  return `${hash.replace('-', '').toLowerCase()}WithRSAEncryption`;
}

export async function signCheckpoint(key: SigningKey, head: CheckpointHead, at: Date): Promise<Checkpoint> {
  const unsigned = { type: CHECKPOINT_TYPE, v: 1 as const, seq: head.seq, hash: head.hash, at: at.toISOString(), keyId: keyIdOf(key.spki), alg: algorithmName(key) };
  const signature = await signWith(key, signedBytes(unsigned));
  return { ...unsigned, sig: Buffer.from(signature).toString('base64') };
}

/** The audit public key as an auditor keeps it: a PEM public key or certificate. */
export interface AuditPublicKey {
  key: KeyObject;
  keyId: string;
}

export function auditPublicKey(pem: string): AuditPublicKey {
  const key = createPublicKey(pem.includes('BEGIN CERTIFICATE') ? { key: pem, format: 'pem' } : pem);
  return { key, keyId: keyIdOf(new Uint8Array(key.export({ type: 'spki', format: 'der' }))) };
}

const verifyParams: Record<string, { hash: string; pss?: boolean }> = {
  'ecdsa-with-SHA256': { hash: 'sha256' },
  'ecdsa-with-SHA384': { hash: 'sha384' },
  'ecdsa-with-SHA512': { hash: 'sha512' },
  sha256WithRSAEncryption: { hash: 'sha256' },
  sha384WithRSAEncryption: { hash: 'sha384' },
  sha512WithRSAEncryption: { hash: 'sha512' },
  'rsassa-pss-SHA256': { hash: 'sha256', pss: true },
  'rsassa-pss-SHA384': { hash: 'sha384', pss: true },
  'rsassa-pss-SHA512': { hash: 'sha512', pss: true },
};

/** Why a checkpoint line is not believed, or null when its signature verifies with `publicKey`. */
export function checkpointProblem(c: Checkpoint, publicKey: AuditPublicKey): string | null {
  if (c.keyId !== publicKey.keyId) return `signed by key ${c.keyId}, not by the audit public key given (${publicKey.keyId})`;
  const params = verifyParams[c.alg];
  if (!params) return `unknown signature algorithm "${c.alg}"`;
  const ok = cryptoVerify(
    params.hash,
    signedBytes(c),
    params.pss ? { key: publicKey.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO } : { key: publicKey.key, dsaEncoding: 'der' },
    Buffer.from(c.sig, 'base64'),
  );
  return ok ? null : 'its signature does not verify (the line was altered or forged)';
}

/** Parses one line of a checkpoint file; a line that is not a checkpoint is an Error naming why. */
export function parseCheckpoint(line: string): Checkpoint {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error('not JSON');
  }
  const c = value as Partial<Checkpoint>;
  if (c?.type !== CHECKPOINT_TYPE || c.v !== 1) throw new Error(`not a ${CHECKPOINT_TYPE} v1 record`);
  if (!Number.isSafeInteger(c.seq) || (c.seq as number) < 1) throw new Error('seq is not a positive integer');
  if (typeof c.hash !== 'string' || !/^[0-9a-f]{64}$/.test(c.hash)) throw new Error('hash is not 64 hex digits');
  if (typeof c.at !== 'string' || Number.isNaN(Date.parse(c.at))) throw new Error('at is not a time');
  if (typeof c.keyId !== 'string' || typeof c.alg !== 'string' || typeof c.sig !== 'string') throw new Error('keyId, alg or sig missing');
  return c as Checkpoint;
}

/** The checkpoint as one line of the append-only file (and the message of a syslog record). */
export function checkpointLine(c: Checkpoint): string {
  return JSON.stringify(c);
}
