/**
 * A certificate's Name and key as a report shows them, read from their DER without asn1js.
 * `--cpu-prof` of the cold path (a new signer per validation, bench/validate.ts) put about a
 * twelfth of a validation in asn1js decoding the subject and issuer Names and the key again
 * (after the one-pass certificate reader had found their bytes).
 *
 * Strict DER in the usual shape only: Names whose attributes are the ones our CA issues
 * (`subjectAttributes`), in UTF8String, PrintableString or IA5String; anything else goes to
 * `parseName` (ca/asn1/names.ts), which reads it as before. The key is described from the
 * KeyObject node:crypto builds for the signature check anyway (cached by SubjectPublicKeyInfo),
 * RSA and the three NIST curves; anything else goes to `describePublicKey`.
 * test/unit/validation/name-der.test.ts compares both with the old readers.
 */
import { publicKeyObject } from '../../ca/asn1/algorithms.js';
import { parseName, subjectAttributes, type DnAttribute, type StringEncoding } from '../../ca/asn1/names.js';
import { describePublicKey, type PublicKeyDescription } from '../../ca/asn1/public-key.js';
import { children, expect, oidOf, tlv, UnusualCertificate, unusual } from './cert-der.js';
import { leanKeyFacts } from './keys.js';

const known = new Map<string, string>(Object.entries(subjectAttributes).map(([type, a]) => [a.oid, type]));
// ignoreBOM: asn1js keeps a leading byte order mark in the text, so this reader does too.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function readString(bytes: Uint8Array, tag: number, at: number, end: number): { value: string; encoding: StringEncoding } {
  const content = bytes.subarray(at, end);
  if (tag === 0x0c) {
    try {
      return { value: utf8.decode(content), encoding: 'utf8' };
    } catch {
      unusual('utf8');
    }
  }
  if (tag === 0x13) return { value: Buffer.from(content).toString('latin1'), encoding: 'printable' };
  if (tag === 0x16) return { value: Buffer.from(content).toString('latin1'), encoding: 'ia5' };
  unusual(`string of tag ${tag}`);
}

/** The Name's attributes in order, or null when `parseName` must read it. */
export function readNameDer(der: Uint8Array): DnAttribute[] | null {
  try {
    const name = expect(tlv(der, 0, der.length), 0x30, 'name');
    if (name.end !== der.length) return null;
    const out: DnAttribute[] = [];
    for (const [rdn, set] of children(der, name).entries()) {
      for (const atv of children(der, expect(set, 0x31, 'rdn'))) {
        const pair = children(der, expect(atv, 0x30, 'attribute'));
        if (pair.length !== 2) unusual('attribute');
        const oid = oidOf(der, pair[0]);
        const type = known.get(oid);
        if (!type || pair[1].tag & 0x20) unusual('attribute type');
        out.push({ type, oid, ...readString(der, pair[1].tag, pair[1].at, pair[1].end), rdn });
      }
    }
    return out;
  } catch (err) {
    if (err instanceof UnusualCertificate) return null;
    throw err;
  }
}

/** `parseName`'s answer, from the one-pass reader when it can. */
export function nameAttributes(der: Uint8Array): DnAttribute[] {
  return readNameDer(der) ?? parseName(der, 'badCertificate');
}

/** The key's AlgorithmIdentifier names its curve (OpenSSL also names a curve given by explicit parameters, which describePublicKey calls weak). */
function namedCurveParameters(spki: Uint8Array): boolean {
  try {
    const outer = tlv(spki, 0, spki.length);
    const algorithm = children(spki, children(spki, outer)[0]);
    return algorithm.length === 2 && algorithm[1].tag === 0x06;
  } catch (err) {
    if (err instanceof UnusualCertificate) return false;
    throw err;
  }
}

const curves: Record<string, 'P-256' | 'P-384' | 'P-521'> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** What the report says of a key ("RSA-2048", "EC P-256") and whether it is weak: from the KeyObject when it is a usual key. */
export function keyFacts(spki: Uint8Array): { description: string; weak: boolean } {
  return leanKeyFacts(spki) ?? keyFactsGeneral(spki);
}

/** `keyFacts` without the one-pass reader (keys.ts): from the KeyObject of the DER import, else `describePublicKey`. */
export function keyFactsGeneral(spki: Uint8Array): { description: string; weak: boolean } {
  let key: ReturnType<typeof publicKeyObject> | null = null;
  try {
    key = publicKeyObject(spki);
  } catch {
    // describePublicKey says what it is.
  }
  const details = key?.asymmetricKeyDetails;
  if (key?.asymmetricKeyType === 'rsa' && details?.modulusLength) return { description: `RSA-${details.modulusLength}`, weak: details.modulusLength < 2048 };
  if (key?.asymmetricKeyType === 'ec' && details?.namedCurve && curves[details.namedCurve] && namedCurveParameters(spki)) return { description: `EC ${curves[details.namedCurve]}`, weak: false };
  let described: PublicKeyDescription;
  try {
    described = describePublicKey(spki);
  } catch {
    described = { type: 'other', algorithm: 'unreadable key' };
  }
  return {
    description: described.type === 'rsa' ? `RSA-${described.bits}` : described.type === 'ec' ? `EC ${described.curveName}` : described.algorithm,
    weak: (described.type === 'rsa' && described.bits < 2048) || (described.type === 'ec' && described.curve === null),
  };
}
