/**
 * Keys by URI behind a KeyStore (docs/architecture.md, "CA keys"). Only ca/keys holds private
 * keys; everything else gets a SigningKey, whose private half is a WebCrypto CryptoKey of some
 * `Crypto` provider: Node's own for `file:` keys, node-webcrypto-p11's for `pkcs11:` keys
 * (RFC 7512), so the same key object signs through pkijs (`new CryptoEngine({ crypto })`),
 * @peculiar/x509 (`create(params, crypto)`) or `signWith` below, and an HSM key never has to
 * leave the token.
 */
import { KeyObject, sign as signSync } from 'node:crypto';
import { CaError } from '../errors.js';
import type { SignatureAlgorithm } from '../asn1/algorithms.js';
import { arrayBuffer, derTag, tlv } from '../asn1/der.js';

/** Key types the CA generates for itself (ECDSA P-256 by default). */
export type KeySpec = { type: 'ec'; curve: 'P-256' | 'P-384' } | { type: 'rsa'; bits: 2048 | 3072 | 4096; pss?: boolean };

export const defaultKeySpec: KeySpec = { type: 'ec', curve: 'P-256' };

const keySpecs: Record<string, KeySpec> = {
  'ecdsa-p256': { type: 'ec', curve: 'P-256' },
  'ecdsa-p384': { type: 'ec', curve: 'P-384' },
  'rsa-2048': { type: 'rsa', bits: 2048 },
  'rsa-3072': { type: 'rsa', bits: 3072 },
  'rsa-4096': { type: 'rsa', bits: 4096 },
  'rsa-pss-2048': { type: 'rsa', bits: 2048, pss: true },
  'rsa-pss-3072': { type: 'rsa', bits: 3072, pss: true },
  'rsa-pss-4096': { type: 'rsa', bits: 4096, pss: true },
};
export const keySpecNames = Object.keys(keySpecs);

/** Reads a key spec as written on a command line or in configuration (`ecdsa-p256`, `rsa-pss-3072`…). */
export function parseKeySpec(name: string): KeySpec {
  const spec = keySpecs[name.toLowerCase()];
  if (!spec) throw new CaError('badInput', `unknown key type "${name}"; use one of ${keySpecNames.join(', ')}`);
  return spec;
}

/** The token is missing, the PIN is wrong, or the module does not load: the service must not start. */
export class KeyStoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyStoreUnavailableError';
  }
}

export interface SigningKey {
  /** Where the key lives, e.g. `file:issuing-2025` or `pkcs11:token=CA;object=issuing-2025`. */
  readonly uri: string;
  /** Non-extractable; usable only through `crypto`. */
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** The WebCrypto provider that owns both keys. */
  readonly crypto: Crypto;
  /** How this key signs: WebCrypto parameters including the hash, never a library default. */
  readonly algorithm: SignatureAlgorithm;
  /** SubjectPublicKeyInfo DER (rsaEncryption form for RSA-PSS keys, as certificates carry them). */
  readonly spki: Uint8Array;
}

export interface KeyStore {
  /** URI scheme this store serves (`file`, `pkcs11`). */
  readonly scheme: string;
  /** Creates a new key called `name`; refuses (409 conflict) if one exists. */
  generate(spec: KeySpec, name: string): Promise<SigningKey>;
  /** Loads the key at `uri`; a missing key or wrong passphrase is a `misconfigured` CaError. */
  load(uri: string): Promise<SigningKey>;
}

/** `root:` keys are files like `file:` ones, sealed with the root passphrase, in a store the service never opens (docs/ca.md, "The root key"). */
export type KeyUri = { scheme: 'file' | 'root'; name: string } | { scheme: 'pkcs11'; attributes: Record<string, string> };

/** Key names become file names: no separators, no dot-files, no traversal. */
export const keyNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** `file:<name>`, or an RFC 7512 `pkcs11:` URI (path attributes, `;`-separated, %-encoded). */
export function parseKeyUri(uri: string): KeyUri {
  const colon = uri.indexOf(':');
  const scheme = uri.slice(0, colon);
  const rest = uri.slice(colon + 1);
  if ((scheme === 'file' || scheme === 'root') && keyNamePattern.test(rest)) return { scheme, name: rest };
  if (scheme === 'pkcs11') {
    const attributes: Record<string, string> = {};
    for (const part of rest.split('?')[0].split(';').filter(Boolean)) {
      const [key, ...value] = part.split('=');
      try {
        attributes[key] = decodeURIComponent(value.join('='));
      } catch {
        throw new CaError('misconfigured', `key URI ${uri}: bad %-encoding in "${part}"`);
      }
    }
    if (attributes.object || attributes.id) return { scheme, attributes };
  }
  throw new CaError(
    'misconfigured',
    `key URI "${uri}" is not file:<name> or root:<name> (letters, digits, ".", "_", "-") or pkcs11:token=…;object=… (RFC 7512)`,
  );
}

/**
 * Signs `data` with `key` and returns the signature as X.509 and CMS carry it: WebCrypto's ECDSA
 * output (r‖s, IEEE P1363) becomes the DER Ecdsa-Sig-Value of RFC 5480 §2.2 / RFC 3279 §2.2.3.
 * An ECDSA key Node holds (nodeKeyObject) signs in this thread with the same hash.
 */
export async function signWith(key: SigningKey, data: Uint8Array): Promise<Uint8Array> {
  // ECDSA only: an RSA signature (1–10 ms by key size) would hold the event loop, so it stays a
  // thread-pool job.
  const inProcess = key.algorithm.name === 'ECDSA' ? nodeKeyObject(key.privateKey) : null;
  if (inProcess) {
    // OpenSSL writes the DER Ecdsa-Sig-Value itself (minimal INTEGERs, as ecdsaSigValue).
    return new Uint8Array(signSync(key.algorithm.hash, data, { key: inProcess, dsaEncoding: 'der' }));
  }
  const signature = new Uint8Array(await key.crypto.subtle.sign(key.algorithm, key.privateKey, arrayBuffer(data)));
  if (key.algorithm.name !== 'ECDSA') return signature;
  return ecdsaSigValue(signature);
}

/**
 * The same key as a KeyObject, when Node's own WebCrypto holds it (file: and root: keys), so
 * signWith signs with an ECDSA key in this thread: a P-256 signature takes about 0.05 ms, less than WebCrypto's job
 * and the round trip through libuv's thread pool that `subtle.sign` costs for each one (the
 * batch's signing step: docs/ca.md, "Batch issuance"). A PKCS#11 key is another library's
 * CryptoKey (KeyObject.from refuses it) and keeps signing through its provider. Kept per key.
 */
const keyObjects = new WeakMap<CryptoKey, KeyObject | null>();
function nodeKeyObject(privateKey: CryptoKey): KeyObject | null {
  let found = keyObjects.get(privateKey);
  if (found === undefined) {
    try {
      found = KeyObject.from(privateKey);
    } catch {
      found = null;
    }
    keyObjects.set(privateKey, found);
  }
  return found;
}

/**
 * IEEE P1363 r‖s as the DER `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279
 * §2.2.3): each half a minimal positive INTEGER (leading zero octets dropped, one 0x00 put back
 * before a high bit, X.690 §8.3.2), written directly (a signature per certificate, OCSP answer
 * and CRL: no ASN.1 library objects).
 */
export function ecdsaSigValue(signature: Uint8Array): Uint8Array {
  if (signature.length === 0 || signature.length % 2 !== 0) throw new CaError('internal', `ECDSA signature of ${signature.length} octets is not r‖s`);
  const half = signature.length / 2;
  const integer = (bytes: Uint8Array) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const minimal = bytes.subarray(start);
    return tlv(0x02, minimal[0] & 0x80 ? Uint8Array.of(0) : new Uint8Array(0), minimal);
  };
  return tlv(derTag.sequence, integer(signature.subarray(0, half)), integer(signature.subarray(half)));
}
