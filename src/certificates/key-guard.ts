import { createHash, createPublicKey } from 'node:crypto';
import { AppError } from '../errors/app-error.js';
import type { Transaction } from '../storage/db.js';
import type { BlockedKey, BlockedKeyStore, IssuerStore } from '../../ca/ports.js';
import type { RevocationReasonName } from '../../ca/records.js';
import { parseCertificate } from '../../ca/asn1/certificate.js';
import * as pkijs from 'pkijs';
import { decodePkijs, der } from '../../ca/asn1/der.js';
import { BytesMemo } from '../../ca/asn1/memo.js';
import { publicKeyObject } from '../../ca/asn1/algorithms.js';

/** Revocation reasons that block the certificate's key forever (docs/ca.md, "Blocked keys"). */
export const BLOCKING_REASONS: readonly RevocationReasonName[] = ['keyCompromise', 'cACompromise'];

/**
 * The key's identity whatever its encoding: SHA-256 of the SubjectPublicKeyInfo as OpenSSL
 * re-encodes it (an uncompressed EC point, RSA with NULL parameters), so a blocked key cannot come
 * back in another encoding of the same key (a compressed point). Unparseable keys fall back to
 * their bytes (the CSR check refuses them anyway).
 */
export function blockingFingerprint(spki: Uint8Array): string {
  // Each key is looked up at submission, approval and issuance: re-encoded once (ca/asn1/memo.ts).
  return fingerprints.get(spki, () => canonicalFingerprint(spki));
}
const fingerprints = new BytesMemo<string>(4_096, 'key fingerprints');

/**
 * SubjectPublicKeyInfo prefixes of P-256 and P-384 keys with a named curve and an uncompressed
 * point (0x04), exactly as OpenSSL exports such a key. For bytes of that form the canonical form
 * is the bytes themselves: either OpenSSL imports the key and exports these same bytes, or it
 * cannot import it (a point off the curve) and the fallback hashes the bytes anyway. Exporting
 * costs about 0.6 ms per key, more than the rest of the key checks together.
 */
const canonicalEcPrefixes = [
  Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex'),
  Buffer.from('3076301006072a8648ce3d020106052b81040022036200' + '04', 'hex'),
];
const pointBytes = [64, 96];

function alreadyCanonical(spki: Uint8Array): boolean {
  const bytes = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength);
  return canonicalEcPrefixes.some((prefix, i) => bytes.length === prefix.length + pointBytes[i] && bytes.subarray(0, prefix.length).equals(prefix));
}

function canonicalFingerprint(spki: Uint8Array): string {
  if (alreadyCanonical(spki)) return createHash('sha256').update(spki).digest('hex');
  let canonical: Buffer;
  try {
    // The key object the CSR's signature was just verified with (a bounded cache), not a new import.
    canonical = publicKeyObject(spki).export({ type: 'spki', format: 'der' });
  } catch {
    canonical = Buffer.from(spki);
  }
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Boulder's blockedKeys: a key revoked for keyCompromise or cACompromise, a key reported
 * compromised, and the key of every CA and OCSP signer the service knows (ours and external) are
 * refused in any CSR, forever.
 */
export class KeyGuard {
  /** Issuer id → key fingerprint (issuer certificates never change their key). */
  private readonly issuerKeys = new Map<string, string>();

  constructor(
    private readonly blocked: BlockedKeyStore<Transaction>,
    private readonly issuers: IssuerStore<Transaction>,
  ) {}

  /** Throws `policyViolation` naming the rule when the key must not be certified. */
  async refuseBlocked(trx: Transaction | null, spki: Uint8Array): Promise<void> {
    const fingerprint = blockingFingerprint(spki);
    const blocked = await this.blocked.find(trx, fingerprint);
    if (blocked) {
      const why = blocked.reason === 'reported' ? 'reported compromised' : `revoked for ${blocked.reason}${blocked.source ? ` (certificate ${blocked.source})` : ''}`;
      throw new AppError('policyViolation', `blocked-key: this public key was ${why} and is never certified again`, { problems: [`blocked-key: ${fingerprint}`] });
    }
    for (const issuer of await this.issuers.list(trx)) {
      if (!issuer.certificate) continue;
      let known = this.issuerKeys.get(issuer.id);
      if (!known) {
        known = blockingFingerprint(der(parseCertificate(issuer.certificate).certificate.subjectPublicKeyInfo));
        this.issuerKeys.set(issuer.id, known);
      }
      if (known === fingerprint) {
        throw new AppError('policyViolation', `blocked-key: this is the public key of ${issuer.role === 'ocsp-signer' ? 'OCSP signer' : 'CA'} ${issuer.id}; a CA or signer key is never certified in a leaf`, { problems: [`blocked-key: ${fingerprint}`] });
      }
    }
  }

  /** `refuseBlocked` for a batch in one query: the problem of each refused key, by its index in `spkis`. */
  async blockedAmong(trx: Transaction | null, spkis: readonly Uint8Array[]): Promise<Map<number, AppError>> {
    const fingerprints = spkis.map((spki) => blockingFingerprint(spki));
    const refused = new Map<number, AppError>();
    if (!spkis.length) return refused;
    const blocked = await this.blocked.blockedAmong(trx, fingerprints);
    const own = new Map<string, string>();
    for (const issuer of await this.issuers.list(trx)) {
      if (issuer.certificate) own.set(this.issuerKey(issuer.id, issuer.certificate), `${issuer.role === 'ocsp-signer' ? 'OCSP signer' : 'CA'} ${issuer.id}`);
    }
    fingerprints.forEach((fingerprint, i) => {
      const problems = { problems: [`blocked-key: ${fingerprint}`] };
      if (blocked.has(fingerprint)) refused.set(i, new AppError('policyViolation', 'blocked-key: this public key was revoked for a key compromise or reported compromised, and is never certified again', problems));
      else if (own.has(fingerprint)) refused.set(i, new AppError('policyViolation', `blocked-key: this is the public key of ${own.get(fingerprint)}; a CA or signer key is never certified in a leaf`, problems));
    });
    return refused;
  }

  private issuerKey(id: string, certificate: Uint8Array): string {
    let known = this.issuerKeys.get(id);
    if (!known) {
      known = blockingFingerprint(der(parseCertificate(certificate).certificate.subjectPublicKeyInfo));
      this.issuerKeys.set(id, known);
    }
    return known;
  }

  /** Blocks a key in the caller's transaction; false when it already was. */
  block(trx: Transaction, spki: Uint8Array, entry: Omit<BlockedKey, 'fingerprint'>): Promise<boolean> {
    return this.blocked.block(trx, { ...entry, fingerprint: blockingFingerprint(spki) });
  }
}

/**
 * The public key of a file an operator hands in (`cert block-key`): a PEM public key,
 * certificate or CSR, or the DER of one of them. A CSR's signature is not required to verify: a
 * reported key may come in a damaged request.
 */
export function publicKeyOf(input: Uint8Array): Uint8Array {
  const text = Buffer.from(input).toString('latin1');
  const block = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
  if (block === 'CERTIFICATE' || block === 'X509 CERTIFICATE') return der(parseCertificate(text).certificate.subjectPublicKeyInfo);
  if (block === 'CERTIFICATE REQUEST' || block === 'NEW CERTIFICATE REQUEST') {
    const csr = pemBody(text, block);
    return der(decodePkijs((schema) => new pkijs.CertificationRequest({ schema }), csr, 'CSR', 'badCsr').subjectPublicKeyInfo);
  }
  const bytes = block === 'PUBLIC KEY' ? pemBody(text, block) : Buffer.from(input);
  try {
    return new Uint8Array(createPublicKey({ key: Buffer.from(bytes), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' }));
  } catch {
    if (block) throw new AppError('validationFailed', `not a usable public key (${block})`);
  }
  // DER of a certificate or a CSR.
  try {
    return der(parseCertificate(bytes).certificate.subjectPublicKeyInfo);
  } catch {
    return der(decodePkijs((schema) => new pkijs.CertificationRequest({ schema }), bytes, 'public key, certificate or CSR', 'badInput').subjectPublicKeyInfo);
  }
}

function pemBody(text: string, label: string): Uint8Array {
  const match = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`).exec(text);
  if (!match) throw new AppError('validationFailed', `malformed PEM ${label}`);
  return Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
}
