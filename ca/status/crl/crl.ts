/**
 * Certificate revocation lists (RFC 5280 §5): a full CRL per issuer and delta CRLs against it
 * (§5.2.4), signed by the issuer's key (no indirect CRLs). Pure given the entries and numbers; the
 * caller keeps the CRL-number sequence, which full and delta CRLs share (§5.2.3).
 */
import * as asn1js from 'asn1js';
import { CaError } from '../../errors.js';
import { signatureAlgorithmDer } from '../../asn1/algorithms.js';
import { der, derTag, encodeTime, tlv, wholeSeconds } from '../../asn1/der.js';
import { authorityKeyIdentifier, crlNumber, distributionPoints, encodeExtensions, extension, invalidityDate, type ExtensionSpec } from '../../asn1/extensions.js';
import { oid } from '../../asn1/oids.js';
import type { Issuer } from '../../issuance/issuer.js';
import { serialProblem } from '../../issuance/serial.js';
import { assertKeyFits, signStructure } from '../../issuance/sign.js';
import type { SigningKey } from '../../keys/key-store.js';

import { revocationReasons, type RevocationReason } from './revocation-reasons.js';

/** RFC 5280 §5.3.1 CRLReason (value 7 is unused). */
export { revocationReasons, type RevocationReason };

export interface CrlEntry {
  /** Hex of the serial's content octets, as the registry stores it. */
  serial: string;
  revokedAt: Date;
  reason: RevocationReason;
  /** RFC 5280 §5.3.2: when the key is known or suspected to have been compromised. */
  invalidityDate?: Date | null;
  /**
   * The entry's DER as `crlEntryDer` made it when the status changed (stored with the revocation):
   * a full CRL of 100,000 entries is then a concatenation, not 100,000 encodings (bench/crl.ts).
   */
  der?: Uint8Array | null;
}

/** revokedCertificates' content as the database concatenated it from the stored entries (in CRL order), and how many. */
export interface EncodedEntries {
  der: Uint8Array;
  count: number;
}

export interface CrlParams {
  issuer: Issuer;
  /** CRL number (§5.2.3): increasing per issuer, shared by full and delta CRLs. */
  number: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  /** The entries, or (a full CRL) their stored DER already concatenated: then nothing is encoded per entry. */
  entries: readonly CrlEntry[] | EncodedEntries;
  /** A delta CRL (§5.2.4) against the full CRL numbered `baseNumber`. */
  delta?: { baseNumber: bigint };
  /** On a full CRL: point at the delta CRL (freshestCRL, §5.2.6). */
  freshestCrl?: boolean;
}

const maxCrlNumber = (1n << 159n) - 1n; // §5.2.3: at most 20 octets

/**
 * One revokedCertificates entry (RFC 5280 §5.1.2.6): userCertificate, revocationDate and the entry
 * extensions. Written by hand: encoding it through asn1js took 45 µs, 100,000 of them most of a
 * full CRL's time. Stored with the revocation, so a CRL only concatenates them.
 */
export function crlEntryDer(e: CrlEntry): Uint8Array {
  const problem = serialProblem(e.serial);
  if (problem) throw new CaError('internal', `CRL entry ${e.serial}: ${problem}`);
  const extensions: Uint8Array[] = [];
  // §5.3.1: the reason code SHOULD be absent rather than unspecified.
  if (e.reason !== 'unspecified') extensions.push(extensionDer(crlReasonOid, Uint8Array.of(0x0a, 0x01, revocationReasons[e.reason])));
  if (e.invalidityDate && e.reason !== 'removeFromCRL') extensions.push(extensionDer(invalidityDateOid, der(invalidityDate(e.invalidityDate))));
  return tlv(derTag.sequence, integerDer(e.serial), timeDer(e.revokedAt), ...(extensions.length ? [tlv(derTag.sequence, ...extensions)] : []));
}

// Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE (omitted in DER), extnValue OCTET STRING }
const crlReasonOid = der(new asn1js.ObjectIdentifier({ value: oid.crlReason }));
const invalidityDateOid = der(new asn1js.ObjectIdentifier({ value: oid.invalidityDate }));
const extensionDer = (id: Uint8Array, value: Uint8Array) => tlv(derTag.sequence, id, tlv(0x04, value));

/** INTEGER from the canonical hex (positive: a leading zero octet when the top bit is set). */
function integerDer(hex: string): Uint8Array {
  const bytes = Buffer.from(hex, 'hex');
  return tlv(0x02, ...(bytes[0] & 0x80 ? [Uint8Array.of(0)] : []), bytes);
}

/** Time (§5.1.2.4): UTCTime YYMMDDHHMMSSZ through 2049, GeneralizedTime after; whole seconds. */
function timeDer(date: Date): Uint8Array {
  const iso = wholeSeconds(date).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  const utc = date.getUTCFullYear() < 2050;
  return tlv(utc ? 0x17 : 0x18, Buffer.from(`${utc ? digits.slice(2) : digits}Z`, 'latin1'));
}

function entry(e: CrlEntry, delta: boolean): Uint8Array {
  if (e.reason === 'removeFromCRL' && !delta) throw new CaError('internal', `CRL entry ${e.serial}: removeFromCRL belongs in delta CRLs only (§5.3.1)`);
  if (e.der && storedEntryFits(e.der, e.serial)) return e.der;
  return crlEntryDer(e);
}

/** A stored entry is used only if it is of this serial (a cheap guard against a row copied by hand). */
function storedEntryFits(der: Uint8Array, serial: string): boolean {
  const header = der[1] & 0x80 ? 2 + (der[1] & 0x7f) : 2;
  const integer = integerDer(serial);
  return der[0] === derTag.sequence && Buffer.compare(der.subarray(header, header + integer.length), integer) === 0;
}

/** The TBSCertList DER (§5.1.2). Entries are ordered by revocation time, then serial, so equal inputs give equal bytes. */
export function buildCrl(params: CrlParams): Uint8Array {
  const { issuer, number, delta } = params;
  const thisUpdate = wholeSeconds(params.thisUpdate);
  const nextUpdate = wholeSeconds(params.nextUpdate);
  if (number < 0n || number > maxCrlNumber) throw new CaError('internal', `CRL number ${number} is outside 0..2^159-1 (§5.2.3)`);
  if (delta && (delta.baseNumber < 0n || delta.baseNumber >= number)) throw new CaError('internal', `delta CRL ${number} cannot refer to base CRL ${delta.baseNumber}`);
  if (nextUpdate <= thisUpdate) throw new CaError('internal', 'CRL nextUpdate must be after thisUpdate (§5.1.2.5)');
  const list = 'der' in params.entries ? (params.entries.count ? params.entries.der : null) : entryList(params.entries, number, Boolean(delta));
  const extensions: ExtensionSpec[] = [
    extension(oid.authorityKeyIdentifier, false, authorityKeyIdentifier(issuer.keyIdentifier)), // §5.2.1 MUST
    extension(oid.crlNumber, false, crlNumber(number)), // §5.2.3 MUST, non-critical
    ...(delta ? [extension(oid.deltaCrlIndicator, true, crlNumber(delta.baseNumber))] : []), // §5.2.4: critical
    ...(!delta && params.freshestCrl ? [extension(oid.freshestCrl, false, distributionPoints(issuer.urls.deltaCrl))] : []), // §5.2.6
  ];
  return tlv(
    derTag.sequence,
    der(new asn1js.Integer({ value: 1 })), // v2 (§5.1.2.1): extensions present
    signatureAlgorithmDer(issuer.signatureAlgorithm),
    issuer.subject,
    der(encodeTime(thisUpdate)),
    der(encodeTime(nextUpdate)),
    // §5.1.2.6: with no revoked certificates the list is absent, not empty.
    ...(list ? [tlv(derTag.sequence, list)] : []),
    tlv(derTag.explicit0, der(encodeExtensions(extensions))),
  );
}

/** The entries' DER, ordered by revocation time, then serial (code-unit order of the canonical hex). */
function entryList(entries: readonly CrlEntry[], number: bigint, delta: boolean): Uint8Array | null {
  // A set, not indexOf per entry: that was quadratic (minutes for 100,000 entries, bench/crl.ts).
  const seen = new Set<string>();
  for (const { serial } of entries) {
    if (seen.has(serial)) throw new CaError('internal', `serial ${serial} appears twice in CRL ${number}`);
    seen.add(serial);
  }
  if (!entries.length) return null;
  const sorted = [...entries].sort((a, b) => a.revokedAt.getTime() - b.revokedAt.getTime() || (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
  return Buffer.concat(sorted.map((e) => entry(e, delta)));
}

/** Signs a TBSCertList with the issuer's key; returns the CRL DER. */
export async function signCrl(tbs: Uint8Array, issuer: Issuer, key: SigningKey): Promise<Uint8Array> {
  assertKeyFits(key, issuer.spki, issuer.signatureAlgorithm, `issuer ${issuer.id}`);
  return signStructure(tbs, key, issuer.spki, `CRL of issuer ${issuer.id}`);
}

/**
 * The entries of a delta CRL (§5.2.4): what changed since the base CRL, such that *every* full CRL
 * numbered from the base up to the delta, combined with the delta, gives the current status. New
 * or changed entries are listed as they are now. With removeFromCRL (§5.3.1): entries gone from
 * the full list (released from hold, or expired), and every hold released since the base
 * (`released`) even when it was placed after the base: a full CRL published while it was held
 * lists it, and only the delta can take it off again.
 */
export function deltaEntries(base: readonly CrlEntry[], current: readonly CrlEntry[], released: ReadonlyArray<{ serial: string; releasedAt: Date }> = []): CrlEntry[] {
  const before = new Map(base.map((e) => [e.serial, e]));
  const now = new Map(current.map((e) => [e.serial, e]));
  const changed = current.filter((e) => {
    const old = before.get(e.serial);
    return !old || old.reason !== e.reason || old.revokedAt.getTime() !== e.revokedAt.getTime();
  });
  const removed = new Map<string, CrlEntry>();
  for (const e of base) if (!now.has(e.serial)) removed.set(e.serial, { serial: e.serial, revokedAt: e.revokedAt, reason: 'removeFromCRL' });
  for (const r of released) {
    if (!now.has(r.serial) && !removed.has(r.serial)) removed.set(r.serial, { serial: r.serial, revokedAt: r.releasedAt, reason: 'removeFromCRL' });
  }
  return [...changed, ...removed.values()];
}
