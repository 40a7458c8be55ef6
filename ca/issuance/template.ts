/**
 * Prepare: builds the to-be-signed certificate (RFC 5280 §4.1.2) for a request under a profile and
 * an issuer. Pure: the time and the serial come in, nothing is read or written, and the result is
 * the exact DER that the linter checks and the signer signs.
 */
import * as asn1js from 'asn1js';
import { CaError } from '../errors.js';
import { signatureAlgorithmDer } from '../asn1/algorithms.js';
import { der, derTag, encodeTime, tlv, wholeSeconds } from '../asn1/der.js';
import {
  authorityInfoAccess,
  authorityKeyIdentifier,
  basicConstraints,
  certificatePolicies,
  distributionPoints,
  encodeExtensionsDer,
  extendedKeyUsage,
  extension,
  keyUsageBitString,
  nameConstraints,
  subjectAltNameDer,
  type ExtensionSpec,
  type KeyUsage,
} from '../asn1/extensions.js';
import { encodeName } from '../asn1/names.js';
import { extendedKeyUsageOids, oid } from '../asn1/oids.js';
import { describePublicKey, keyIdentifier, type PublicKeyDescription } from '../asn1/public-key.js';
import type { Profile } from '../profiles/profile.js';
import type { Issuer } from './issuer.js';
import type { IssuanceRequest } from './request.js';
import { serialProblem } from './serial.js';

export interface PreparedCertificate {
  /** DER TBSCertificate: exactly what is linted and signed. */
  tbs: Uint8Array;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** The profile's period was cut short to end with the issuer's certificate. */
  validityTruncated: boolean;
  profileId: string;
  issuerId: string;
  request: IssuanceRequest;
}

/** notBefore plus the profile's calendar period, less one second (RFC 5280 §4.1.2.5 counts both ends). */
export function validityEnd(notBefore: Date, validity: Profile['validity']): Date {
  const start = wholeSeconds(notBefore);
  const months = (validity.years ?? 0) * 12 + (validity.months ?? 0);
  const target = new Date(start);
  target.setUTCDate(1);
  target.setUTCMonth(target.getUTCMonth() + months);
  // 29 Feb + 1 year, 31 Jan + 1 month: stay on the month's last day rather than spill over.
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(start.getUTCDate(), lastDay));
  return new Date(target.getTime() + ((validity.days ?? 0) * 24 + (validity.hours ?? 0)) * 3_600_000 - 1000);
}

/**
 * The profile's key usages that make sense for the key (RFC 5280 §4.2.1.3): no key or data
 * encipherment with EC or PSS-only keys, no key agreement with RSA.
 */
export function effectiveKeyUsage(profile: Profile, key: PublicKeyDescription): KeyUsage[] {
  const forbidden: KeyUsage[] =
    key.type === 'rsa' && !key.pss ? ['keyAgreement', 'encipherOnly', 'decipherOnly'] : key.type === 'ec' ? ['keyEncipherment', 'dataEncipherment'] : ['keyEncipherment', 'dataEncipherment', 'keyAgreement'];
  return profile.keyUsage.filter((usage) => !forbidden.includes(usage));
}

/** Extensions as the profile prescribes them, with RFC 5280's criticality. */
export function profileExtensions(request: IssuanceRequest, profile: Profile, issuer: Issuer): ExtensionSpec[] {
  const subjectEmpty = Object.keys(request.subject).length === 0;
  const shared = sharedExtensions(profile, issuer, effectiveKeyUsage(profile, describePublicKey(request.spki)));
  return [
    ...shared.head,
    // §4.2.1.2: MUST be non-critical.
    { oid: oid.subjectKeyIdentifier, critical: false, value: tlv(0x04, keyIdentifier(request.spki)) },
    ...shared.middle,
    // §4.2.1.6: critical exactly when the subject is empty.
    ...(request.emails.length || request.dnsNames.length ? [{ oid: oid.subjectAltName, critical: subjectEmpty, value: subjectAltNameDer(request) }] : []),
    ...shared.tail,
  ];
}

interface SharedExtensions {
  head: readonly ExtensionSpec[];
  middle: readonly ExtensionSpec[];
  tail: readonly ExtensionSpec[];
}

/**
 * The extensions that depend only on the profile, the issuer and the key usages (every one but the
 * subject key identifier and the alternative names), encoded once per profile, issuer and usages
 * rather than once per certificate. Keyed by the profile and issuer objects themselves (never
 * changed once made; a changed profile is a new object), so nothing stale can be reused.
 */
const sharedByProfile = new WeakMap<Profile, WeakMap<Issuer, Map<string, SharedExtensions>>>();

function sharedExtensions(profile: Profile, issuer: Issuer, usages: KeyUsage[]): SharedExtensions {
  let byIssuer = sharedByProfile.get(profile);
  if (!byIssuer) sharedByProfile.set(profile, (byIssuer = new WeakMap()));
  let byUsages = byIssuer.get(issuer);
  if (!byUsages) byIssuer.set(issuer, (byUsages = new Map()));
  const id = usages.join();
  let shared = byUsages.get(id);
  if (!shared) {
    const frozen = (specs: ExtensionSpec[]) => Object.freeze(specs.map((spec) => Object.freeze(spec)));
    const isCa = profile.type !== 'end-entity';
    const aia = profile.authorityInfoAccess;
    shared = {
      head: frozen([
        // §4.2.1.9: critical in CA certificates; also marked (cA FALSE) in end-entity ones.
        extension(oid.basicConstraints, true, basicConstraints(isCa, profile.pathLenConstraint)),
        // §4.2.1.3: SHOULD be critical.
        extension(oid.keyUsage, true, keyUsageBitString(usages)),
        ...(profile.extendedKeyUsage.length
          ? [extension(oid.extKeyUsage, false, extendedKeyUsage(profile.extendedKeyUsage.map((k) => extendedKeyUsageOids[k])))]
          : []),
      ]),
      middle: frozen([
        // §4.2.1.1: MUST be non-critical.
        extension(oid.authorityKeyIdentifier, false, authorityKeyIdentifier(issuer.keyIdentifier)),
        ...(profile.policies.length ? [extension(oid.certificatePolicies, false, certificatePolicies(profile.policies))] : []),
        // §4.2.1.13 SHOULD, §4.2.1.15 MUST be non-critical.
        ...(profile.crlDistributionPoints ? [extension(oid.crlDistributionPoints, false, distributionPoints(issuer.urls.crl))] : []),
        ...(profile.freshestCrl ? [extension(oid.freshestCrl, false, distributionPoints(issuer.urls.deltaCrl))] : []),
        // §4.2.2.1: MUST be non-critical.
        ...(aia.ocsp || aia.caIssuers
          ? [extension(oid.authorityInfoAccess, false, authorityInfoAccess({ ocsp: aia.ocsp ? issuer.urls.ocsp : undefined, caIssuers: aia.caIssuers ? issuer.urls.caIssuers : undefined }))]
          : []),
      ]),
      tail: frozen([
        // §4.2.1.10: MUST be critical; only in a CA certificate (docs/ca.md, "Name policy").
        ...(profile.nameConstraints ? [extension(oid.nameConstraints, true, nameConstraints(profile.nameConstraints.permittedDns))] : []),
        // RFC 6960 §4.2.2.2.1: the value is NULL.
        ...(profile.ocspNoCheck ? [extension(oid.ocspNoCheck, false, new asn1js.Null())] : []),
      ]),
    };
    byUsages.set(id, shared);
  }
  return shared;
}

const VERSION_3 = der(new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Integer({ value: 2 })] }));

/** A serial's INTEGER (canonical hex, checked by serialProblem): a leading zero octet keeps it positive. */
export function integerDer(serial: string): Uint8Array {
  const bytes = Buffer.from(serial, 'hex');
  return bytes[0] & 0x80 ? tlv(0x02, Uint8Array.of(0), bytes) : tlv(0x02, bytes);
}

/** RFC 5280 §4.1.2.5: UTCTime `YYMMDDHHMMSSZ` through 2049, GeneralizedTime `YYYYMMDDHHMMSSZ` after, whole seconds. */
export function timeDer(date: Date): Uint8Array {
  const d = wholeSeconds(date);
  const year = d.getUTCFullYear();
  if (year < 1950 || year > 9999) return der(encodeTime(d));
  const two = (n: number) => String(n).padStart(2, '0');
  const rest = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  return year < 2050 ? tlv(0x17, Buffer.from(`${two(year % 100)}${rest}`, 'latin1')) : tlv(0x18, Buffer.from(`${year}${rest}`, 'latin1'));
}

/**
 * Builds the TBSCertificate. The request must already have passed the key and name policies
 * (prepareCertificate does both, then lints); validity ends with the issuer's at the latest, as
 * EJBCA does, and `validityTruncated` says so.
 */
export function buildTemplate(request: IssuanceRequest, profile: Profile, issuer: Issuer, now: Date, serial: string): PreparedCertificate {
  const problem = serialProblem(serial);
  if (problem) throw new CaError('internal', `cannot use serial ${serial}: ${problem}`);
  const notBefore = wholeSeconds(now);
  if (notBefore < issuer.notBefore || notBefore > issuer.notAfter) {
    throw new CaError('misconfigured', `issuer ${issuer.id} is valid from ${issuer.notBefore.toISOString()} to ${issuer.notAfter.toISOString()}, not at ${notBefore.toISOString()}`);
  }
  const wanted = validityEnd(notBefore, profile.validity);
  const notAfter = wanted > issuer.notAfter ? issuer.notAfter : wanted;
  const tbs = tlv(
    derTag.sequence,
    VERSION_3, // v3: extensions present (§4.1.2.1)
    integerDer(serial),
    signatureAlgorithmDer(issuer.signatureAlgorithm),
    issuer.subject,
    tlv(derTag.sequence, timeDer(notBefore), timeDer(notAfter)),
    encodeName(request.subject),
    request.spki,
    tlv(derTag.explicit3, encodeExtensionsDer(profileExtensions(request, profile, issuer))),
  );
  return { tbs, serial, notBefore, notAfter, validityTruncated: wanted > issuer.notAfter, profileId: profile.id, issuerId: issuer.id, request };
}
