/** What a SubjectPublicKeyInfo holds (RFC 5280 §4.1.2.7), and the identifiers derived from it. */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { publicKeyObject } from './key-objects.js';
import { decodeDer, decodePkijs, toHex } from './der.js';
import { BytesMemo } from './memo.js';
import { childrenOf, plainKeyInfo, readOid, readWhole, wellFormedDer } from './der-view.js';
import { curveOids, oid, otherCurveNames, type NamedCurve } from './oids.js';

export type PublicKeyDescription =
  /** `curve` is null for curves outside RFC 5480's named set; `explicit` for specifiedCurve parameters. */
  | { type: 'ec'; curve: NamedCurve | null; curveName: string; explicit: boolean }
  /** `pss`: the key is restricted to RSASSA-PSS by an id-RSASSA-PSS algorithm (RFC 4055 §1.2). */
  | { type: 'rsa'; bits: number; modulus: bigint; exponent: bigint; pss: boolean }
  | { type: 'other'; algorithm: string };

const otherAlgorithmNames: Record<string, string> = {
  [oid.ed25519]: 'Ed25519',
  [oid.ed448]: 'Ed448',
  '1.2.840.10040.4.1': 'DSA',
};

export function parseSpki(spki: Uint8Array): pkijs.PublicKeyInfo {
  return decodePkijs((schema) => new pkijs.PublicKeyInfo({ schema }), spki, 'public key', 'policyViolation');
}

/**
 * The same keys are described at submission, approval, template and lint (five times per
 * certificate of a batch): each distinct SubjectPublicKeyInfo is decoded once (ca/asn1/memo.ts).
 */
const descriptions = new BytesMemo<PublicKeyDescription>(4_096, 'public key descriptions');
const keyIdentifiers = new BytesMemo<Uint8Array>(4_096, 'key identifiers');

export function describePublicKey(spki: Uint8Array): PublicKeyDescription {
  return descriptions.get(spki, () => Object.freeze(describeAfresh(spki)));
}

/**
 * A plain key's algorithm, parameters and key bits read directly from strict DER (der-view.ts):
 * an EC key's named curve or an RSA key's NULL; undefined for anything else, which pkijs reads.
 */
function leanKeyInfo(spki: Uint8Array): { algorithm: string; curveOid?: string; bits: Uint8Array } | undefined {
  const outer = readWhole(spki, 0x30);
  if (!outer || !plainKeyInfo(spki, outer) || !wellFormedDer(spki, outer)) return undefined;
  const [algorithmNode, bitString] = childrenOf(spki, outer)!;
  const [id, parameters] = childrenOf(spki, algorithmNode)!;
  const algorithm = readOid(spki, id)!;
  return { algorithm, curveOid: parameters?.tag === 0x06 ? readOid(spki, parameters) : undefined, bits: spki.subarray(bitString.content + 1, bitString.end) };
}

function describeAfresh(spki: Uint8Array): PublicKeyDescription {
  const lean = leanKeyInfo(spki);
  if (lean?.algorithm === oid.ecPublicKey && lean.curveOid) {
    const curveOid = lean.curveOid;
    const curve = (Object.keys(curveOids) as NamedCurve[]).find((name) => curveOids[name] === curveOid) ?? null;
    return { type: 'ec', curve, curveName: curve ?? `${otherCurveNames[curveOid] ?? 'unknown curve'} (${curveOid})`, explicit: false };
  }
  return describeGeneral(spki);
}

/** The same through pkijs (exported for the comparison tests). */
export function describeGeneral(spki: Uint8Array): PublicKeyDescription {
  const info = parseSpki(spki);
  const algorithm = info.algorithm.algorithmId;
  if (algorithm === oid.ecPublicKey) {
    const params = info.algorithm.algorithmParams as asn1js.AsnType | undefined;
    if (!(params instanceof asn1js.ObjectIdentifier)) {
      return { type: 'ec', curve: null, curveName: 'explicit parameters', explicit: true };
    }
    const curveOid = params.getValue();
    const curve = (Object.keys(curveOids) as NamedCurve[]).find((name) => curveOids[name] === curveOid) ?? null;
    return { type: 'ec', curve, curveName: curve ?? `${otherCurveNames[curveOid] ?? 'unknown curve'} (${curveOid})`, explicit: false };
  }
  if (algorithm === oid.rsaEncryption || algorithm === oid.rsassaPss) {
    // RFC 8017 §A.1.1: RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
    const key = decodeDer(info.subjectPublicKey.valueBlock.valueHexView, 'RSA public key', 'policyViolation');
    const [n, e] = key instanceof asn1js.Sequence ? key.valueBlock.value : [];
    if (!(n instanceof asn1js.Integer) || !(e instanceof asn1js.Integer)) {
      return { type: 'other', algorithm: 'malformed RSA public key' };
    }
    const modulus = n.toBigInt();
    return { type: 'rsa', bits: modulus > 0n ? modulus.toString(2).length : 0, modulus, exponent: e.toBigInt(), pss: algorithm === oid.rsassaPss };
  }
  return { type: 'other', algorithm: otherAlgorithmNames[algorithm] ?? algorithm };
}

/** The subjectPublicKey BIT STRING's contents (what key identifiers hash). */
export function subjectPublicKeyBits(spki: Uint8Array): Uint8Array {
  return leanKeyInfo(spki)?.bits ?? parseSpki(spki).subjectPublicKey.valueBlock.valueHexView;
}

/**
 * RFC 7093 §2 method 1: the leftmost 160 bits of the SHA-256 of the subjectPublicKey bits, used
 * for the subject key identifier (RFC 5280 §4.2.1.2) and so for the AKI of what the key signs.
 */
export function keyIdentifier(spki: Uint8Array): Uint8Array {
  // A copy each time: the memo's bytes must never be changed by a caller.
  return keyIdentifiers.get(spki, () => new Uint8Array(createHash('sha256').update(subjectPublicKeyBits(spki)).digest().subarray(0, 20))).slice();
}

/** SHA-256 of the whole SubjectPublicKeyInfo, hex: the key's identity for "no key reuse" checks. */
export function publicKeyFingerprint(spki: Uint8Array): string {
  return toHex(createHash('sha256').update(spki).digest());
}

/**
 * Same key material, whatever the encoding (e.g. a compressed EC point in another CA's copy). The
 * key objects come from the bounded cache of key-objects.ts: the signer checks its key this way
 * before every signature, and importing the two keys cost more than the signature.
 */
export function samePublicKey(a: Uint8Array, b: Uint8Array): boolean {
  try {
    return publicKeyObject(a).equals(publicKeyObject(b));
  } catch {
    return false;
  }
}
