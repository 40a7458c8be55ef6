/**
 * Signature algorithms: what the CA signs with (always explicit, never a library default: pkijs
 * would pick SHA-1), their AlgorithmIdentifiers, and verification of what others signed.
 */
import { constants, verify, type VerifyKeyObjectInput } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { der } from './der.js';
import { publicKeyObject } from './key-objects.js';
import { oid } from './oids.js';
import type { PublicKeyDescription } from './public-key.js';

export type HashName = 'SHA-256' | 'SHA-384' | 'SHA-512';

/** WebCrypto parameters, so a SigningKey's algorithm goes straight to `subtle.sign`. */
export type SignatureAlgorithm =
  | { name: 'ECDSA'; hash: HashName }
  | { name: 'RSASSA-PKCS1-v1_5'; hash: HashName }
  | { name: 'RSA-PSS'; hash: HashName; saltLength: number };

const hashOids: Record<string, { hash: HashName | 'SHA-1'; node: string }> = {
  '1.3.14.3.2.26': { hash: 'SHA-1', node: 'sha1' },
  '2.16.840.1.101.3.4.2.1': { hash: 'SHA-256', node: 'sha256' },
  '2.16.840.1.101.3.4.2.2': { hash: 'SHA-384', node: 'sha384' },
  '2.16.840.1.101.3.4.2.3': { hash: 'SHA-512', node: 'sha512' },
};
const hashOid = (hash: HashName): string => Object.keys(hashOids).find((k) => hashOids[k].hash === hash)!;

/** RFC 5758 §3.2 (ECDSA) and RFC 4055 §5 (PKCS#1 v1.5) signature OIDs. */
const signatureOids: Record<string, { name: 'ECDSA' | 'RSASSA-PKCS1-v1_5'; hash: HashName | 'SHA-1' }> = {
  '1.2.840.10045.4.1': { name: 'ECDSA', hash: 'SHA-1' },
  '1.2.840.10045.4.3.2': { name: 'ECDSA', hash: 'SHA-256' },
  '1.2.840.10045.4.3.3': { name: 'ECDSA', hash: 'SHA-384' },
  '1.2.840.10045.4.3.4': { name: 'ECDSA', hash: 'SHA-512' },
  '1.2.840.113549.1.1.5': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-1' },
  '1.2.840.113549.1.1.11': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  '1.2.840.113549.1.1.12': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' },
  '1.2.840.113549.1.1.13': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' },
};

const hashIdentifier = (hash: HashName): pkijs.AlgorithmIdentifier =>
  // RFC 4055 §2.1: inside RSASSA-PSS-params the hash identifiers carry NULL parameters.
  new pkijs.AlgorithmIdentifier({ algorithmId: hashOid(hash), algorithmParams: new asn1js.Null() });

export function signatureAlgorithmIdentifier(algorithm: SignatureAlgorithm): pkijs.AlgorithmIdentifier {
  if (algorithm.name === 'RSA-PSS') {
    // RFC 4055 §3.1: RSASSA-PSS-params with MGF1 over the same hash; trailerField left at DEFAULT.
    const params = new asn1js.Sequence({
      value: [
        new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [hashIdentifier(algorithm.hash).toSchema()] }),
        new asn1js.Constructed({
          idBlock: { tagClass: 3, tagNumber: 1 },
          value: [new pkijs.AlgorithmIdentifier({ algorithmId: oid.mgf1, algorithmParams: hashIdentifier(algorithm.hash).toSchema() }).toSchema()],
        }),
        new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 2 }, value: [new asn1js.Integer({ value: algorithm.saltLength })] }),
      ],
    });
    return new pkijs.AlgorithmIdentifier({ algorithmId: oid.rsassaPss, algorithmParams: params });
  }
  const algorithmId = Object.keys(signatureOids).find(
    (k) => signatureOids[k].name === algorithm.name && signatureOids[k].hash === algorithm.hash,
  )!;
  // RFC 5758 §3.2: ECDSA identifiers have no parameters; RFC 4055 §5: PKCS#1 v1.5 ones have NULL.
  return new pkijs.AlgorithmIdentifier(
    algorithm.name === 'ECDSA' ? { algorithmId } : { algorithmId, algorithmParams: new asn1js.Null() },
  );
}

/** The DER of each algorithm, encoded once (a handful of distinct values); callers get a copy. */
const algorithmDers = new Map<string, Uint8Array>();
export function signatureAlgorithmDer(algorithm: SignatureAlgorithm): Uint8Array {
  const id = algorithm.name === 'RSA-PSS' ? `${algorithm.name}:${algorithm.hash}:${algorithm.saltLength}` : `${algorithm.name}:${algorithm.hash}`;
  let known = algorithmDers.get(id);
  if (!known) {
    known = der(signatureAlgorithmIdentifier(algorithm));
    if (algorithmDers.size >= 64) algorithmDers.clear();
    algorithmDers.set(id, known);
  }
  return known.slice();
}

export function describeSignatureAlgorithm(algorithm: SignatureAlgorithm): string {
  if (algorithm.name === 'ECDSA') return `ecdsa-with-${algorithm.hash.replace('-', '')}`;
  if (algorithm.name === 'RSA-PSS') return `RSASSA-PSS (${algorithm.hash}, salt ${algorithm.saltLength})`;
  return `${algorithm.hash.replace('-', '').toLowerCase()}WithRSAEncryption`;
}

/** The CA's signature algorithm for its own key: the hash matches the key's strength. */
export function defaultSignatureAlgorithm(key: PublicKeyDescription, options: { pss?: boolean } = {}): SignatureAlgorithm {
  if (key.type === 'ec') return { name: 'ECDSA', hash: key.curve === 'P-521' ? 'SHA-512' : key.curve === 'P-384' ? 'SHA-384' : 'SHA-256' };
  if (key.type === 'rsa') return options.pss || key.pss ? { name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 } : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  throw new TypeError(`no signature algorithm for a ${key.algorithm} key`);
}

export interface ReceivedSignatureAlgorithm {
  /** e.g. "ecdsa-with-SHA256"; for unknown algorithms the OID. */
  name: string;
  hash: HashName | 'SHA-1' | null;
  /** False when the CA cannot verify it (unknown OID, unusual PSS parameters). */
  supported: boolean;
  pssSaltLength?: number;
}

function taggedChild(seq: asn1js.AsnType, tagNumber: number): asn1js.AsnType | undefined {
  if (!(seq instanceof asn1js.Sequence)) return undefined;
  const tagged = seq.valueBlock.value.find((v) => v.idBlock.tagClass === 3 && v.idBlock.tagNumber === tagNumber);
  return tagged instanceof asn1js.Constructed ? tagged.valueBlock.value[0] : undefined;
}

function pssParameters(params: asn1js.AsnType | undefined): { hash: HashName | 'SHA-1'; saltLength: number } | null {
  // RFC 4055 §3.1 defaults: SHA-1, MGF1-SHA-1, salt 20.
  const hashId = taggedChild(params ?? new asn1js.Sequence(), 0);
  const mgf = taggedChild(params ?? new asn1js.Sequence(), 1);
  const salt = taggedChild(params ?? new asn1js.Sequence(), 2);
  const hashOf = (id: asn1js.AsnType | undefined) =>
    id ? hashOids[new pkijs.AlgorithmIdentifier({ schema: id }).algorithmId]?.hash : 'SHA-1';
  const hash = hashOf(hashId);
  if (!hash) return null;
  if (mgf) {
    const mgfId = new pkijs.AlgorithmIdentifier({ schema: mgf });
    // Node verifies PSS with MGF1 over the message hash only: other combinations are unsupported.
    if (mgfId.algorithmId !== oid.mgf1 || hashOf(mgfId.algorithmParams) !== hash) return null;
  } else if (hash !== 'SHA-1') return null;
  return { hash, saltLength: salt instanceof asn1js.Integer ? salt.valueBlock.valueDec : 20 };
}

export function readSignatureAlgorithm(algorithm: pkijs.AlgorithmIdentifier): ReceivedSignatureAlgorithm {
  const known = signatureOids[algorithm.algorithmId];
  if (known) {
    return { name: known.name === 'ECDSA' ? `ecdsa-with-${known.hash.replace('-', '')}` : `${known.hash.replace('-', '').toLowerCase()}WithRSAEncryption`, hash: known.hash, supported: true };
  }
  if (algorithm.algorithmId === oid.rsassaPss) {
    const pss = pssParameters(algorithm.algorithmParams as asn1js.AsnType | undefined);
    return pss
      ? { name: `RSASSA-PSS (${pss.hash}, salt ${pss.saltLength})`, hash: pss.hash, supported: true, pssSaltLength: pss.saltLength }
      : { name: 'RSASSA-PSS with unsupported parameters', hash: null, supported: false };
  }
  if (algorithm.algorithmId === oid.ed25519) return { name: 'Ed25519', hash: null, supported: true };
  return { name: algorithm.algorithmId, hash: null, supported: false };
}

// The cache lives apart so that public-key.ts can use it without an import cycle; re-exported here.
export { publicKeyObject };

/**
 * Verifies `signature` over `data` (RFC 5280 §4.1.1.3, PKCS#10 §4.2). Returns false for a wrong
 * signature; throws TypeError when the algorithm is unsupported or the key unusable, so callers can
 * tell "forged" from "cannot check".
 */
export function verifySignature(
  data: Uint8Array,
  signature: Uint8Array,
  algorithm: pkijs.AlgorithmIdentifier,
  spki: Uint8Array,
): boolean {
  const [digest, key] = verifyArguments(algorithm, spki);
  return verify(digest, data, key, signature);
}

/**
 * verifySignature's verdict with OpenSSL's verification run in libuv's thread pool: the key is
 * imported in this thread, the signature checked on another core, so a batch's checks leave this
 * thread free. Should the pool's call fail, the synchronous check gives its answer (or its
 * TypeError) as it always does: the two never disagree on what they return.
 */
export function verifySignatureInPool(
  data: Uint8Array,
  signature: Uint8Array,
  algorithm: pkijs.AlgorithmIdentifier,
  spki: Uint8Array,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const [digest, key] = verifyArguments(algorithm, spki);
    verify(digest, data, key, signature, (error, valid) => {
      if (!error) return resolve(valid);
      try {
        resolve(verifySignature(data, signature, algorithm, spki));
      } catch (sync) {
        reject(sync);
      }
    });
  });
}

function verifyArguments(algorithm: pkijs.AlgorithmIdentifier, spki: Uint8Array): [string | null, VerifyKeyObjectInput] {
  const received = readSignatureAlgorithm(algorithm);
  if (!received.supported) throw new TypeError(`unsupported signature algorithm ${received.name}`);
  const key = publicKeyObject(spki);
  const digest = received.hash ? received.hash.replace('-', '').toLowerCase() : null;
  if (received.pssSaltLength !== undefined) return [digest, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: received.pssSaltLength }];
  return [digest, { key, dsaEncoding: 'der' }];
}
