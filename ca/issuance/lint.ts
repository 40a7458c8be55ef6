/**
 * Lint: checks a to-be-signed (or signed) certificate against its profile, its issuer and
 * RFC 5280 before the CA signs it (Boulder's pre-issuance lint). It reads the DER afresh rather
 * than trusting the builder, so a builder bug becomes a refused issuance, not a bad certificate.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { CaError } from '../errors.js';
import { readSignatureAlgorithm, signatureAlgorithmDer } from '../asn1/algorithms.js';
import { bytesEqual, decodeDer, oidToString, toHex } from '../asn1/der.js';
import { altNamesOf, readTbsLean, skiBytes, type AltNameEntry, type CertificateView, type LintExtension, type RawFields } from './lint-view.js';
import { readDistributionPointUris, readKeyUsage } from '../asn1/extensions.js';
import { fieldsFromAttributes, parseName, subjectAttributes, type DnAttribute, type SubjectAttribute } from '../asn1/names.js';
import { extendedKeyUsageOids, oid } from '../asn1/oids.js';
import { keyIdentifier, type PublicKeyDescription } from '../asn1/public-key.js';
import type { Profile } from '../profiles/profile.js';
import type { Issuer } from './issuer.js';
import { keyPolicyProblems } from './key-policy.js';
import { namePolicyProblems } from './name-policy.js';
import { serialEncodingProblem } from './serial.js';
import { effectiveKeyUsage, validityEnd } from './template.js';

export interface LintProblem {
  /** Stable identifier, e.g. `ext.key-usage.critical`. */
  code: string;
  message: string;
}

/** RFC 5280 criticality of every extension the CA may write; SAN depends on the subject. */
const criticality: Record<string, { critical: boolean; name: string; rule: string }> = {
  [oid.basicConstraints]: { critical: true, name: 'basicConstraints', rule: '§4.2.1.9' },
  [oid.keyUsage]: { critical: true, name: 'keyUsage', rule: '§4.2.1.3' },
  [oid.extKeyUsage]: { critical: false, name: 'extKeyUsage', rule: 'the profile' },
  [oid.subjectKeyIdentifier]: { critical: false, name: 'subjectKeyIdentifier', rule: '§4.2.1.2' },
  [oid.authorityKeyIdentifier]: { critical: false, name: 'authorityKeyIdentifier', rule: '§4.2.1.1' },
  [oid.certificatePolicies]: { critical: false, name: 'certificatePolicies', rule: 'the profile' },
  [oid.crlDistributionPoints]: { critical: false, name: 'cRLDistributionPoints', rule: '§4.2.1.13' },
  [oid.freshestCrl]: { critical: false, name: 'freshestCRL', rule: '§4.2.1.15' },
  [oid.authorityInfoAccess]: { critical: false, name: 'authorityInfoAccess', rule: '§4.2.2.1' },
  [oid.ocspNoCheck]: { critical: false, name: 'ocsp-nocheck', rule: 'RFC 6960 §4.2.2.2.1' },
  [oid.subjectAltName]: { critical: false, name: 'subjectAltName', rule: '§4.2.1.6' },
  [oid.nameConstraints]: { critical: true, name: 'nameConstraints', rule: '§4.2.1.10' },
};

/** Reads a Certificate, or a bare TBSCertificate wrapped with an empty signature so pkijs can parse it (exported for its tests). */
export function readCertificate(input: Uint8Array): { certificate: pkijs.Certificate; signed: boolean; raw: RawFields } {
  const outer = decodeDer(input, 'certificate to lint', 'lintFailed');
  const children = outer instanceof asn1js.Sequence ? outer.valueBlock.value : [];
  const signed = children[0] instanceof asn1js.Sequence;
  let schema = outer;
  if (!signed) {
    const algorithm = children.find((c, i) => i <= 2 && c instanceof asn1js.Sequence);
    if (!algorithm) throw new CaError('lintFailed', 'certificate to lint: no signature algorithm in the TBSCertificate');
    // The decoded TBS itself, wrapped: parsing it a second time would cost as much as the first.
    schema = new asn1js.Sequence({ value: [outer, algorithm, new asn1js.BitString({ valueHex: new ArrayBuffer(0) })] });
  }
  let certificate: pkijs.Certificate;
  try {
    certificate = new pkijs.Certificate({ schema });
  } catch (error) {
    throw new CaError('lintFailed', `certificate to lint: not a certificate structure (${(error as Error).message})`);
  }
  return { certificate, signed, raw: rawFields(signed ? (children[0] as asn1js.Sequence) : (outer as asn1js.Sequence), signed ? children[1] : undefined) };
}

function rawFields(tbs: asn1js.Sequence, signatureAlgorithm: asn1js.AsnType | undefined): RawFields {
  const fields = tbs.valueBlock.value;
  // version [0] EXPLICIT is optional (DEFAULT v1): the serial comes first without it.
  const at = fields[0]?.idBlock.tagClass === 3 && fields[0].idBlock.tagNumber === 0 ? 1 : 0;
  const bytes = (block: asn1js.AsnType | undefined) => {
    if (!block || !block.valueBeforeDecodeView?.byteLength) throw new CaError('lintFailed', 'certificate to lint: a TBSCertificate field is missing');
    return block.valueBeforeDecodeView;
  };
  return {
    signature: bytes(fields[at + 1]),
    issuer: bytes(fields[at + 2]),
    subject: bytes(fields[at + 4]),
    spki: bytes(fields[at + 5]),
    signatureAlgorithm: signatureAlgorithm && bytes(signatureAlgorithm),
  };
}

/** The policy OIDs of a certificatePolicies value, decoded once per distinct value (the profile's, shared by a batch). */
const policyMemo = new Map<string, readonly string[]>();
function policyIds(extnValue: Uint8Array): readonly string[] {
  const key = Buffer.from(extnValue.buffer, extnValue.byteOffset, extnValue.byteLength).toString('latin1');
  const known = policyMemo.get(key);
  if (known) return known;
  const value = decodeDer(extnValue, 'certificatePolicies', 'lintFailed');
  const got = Object.freeze(
    (value instanceof asn1js.Sequence ? value.valueBlock.value : []).map((info) => {
      const id = info instanceof asn1js.Sequence ? info.valueBlock.value[0] : undefined;
      return id instanceof asn1js.ObjectIdentifier ? oidToString(id) : '?';
    }),
  );
  if (policyMemo.size >= 64) policyMemo.clear();
  policyMemo.set(key, got);
  return got;
}

function viewOf(certificate: pkijs.Certificate): CertificateView {
  const time = (t: pkijs.Time) => ({ utc: t.type === pkijs.TimeType.UTCTime, value: t.value });
  return {
    version: certificate.version,
    serial: certificate.serialNumber.valueBlock.valueHexView,
    signature: () => certificate.signature,
    notBefore: time(certificate.notBefore),
    notAfter: time(certificate.notAfter),
    extensions: certificate.extensions?.map((e) => ({ extnID: e.extnID, critical: e.critical, extnValue: e.extnValue.valueBlock.valueHexView, parsedValue: () => e.parsedValue as unknown })),
  };
}

/** What every check sees: the parsed certificate, what it is checked against, and where problems go. */
interface LintContext {
  certificate: CertificateView;
  /** A signed Certificate rather than a bare TBSCertificate. */
  signed: boolean;
  raw: RawFields;
  spki: Uint8Array;
  isCa: boolean;
  profile: Profile;
  issuer: Issuer;
  add(code: string, message: string): void;
  ext(id: string): LintExtension | undefined;
  parsedValue(id: string): unknown;
  /** Adds a presence problem unless the extension is there exactly when wanted; true when wanted and there. */
  expectPresent(id: string, wanted: boolean): boolean;
}

/** §4.1.2.1-§4.1.2.4: version, serial, signature algorithm, issuer name. */
function checkHeader({ certificate, signed, raw, issuer, add }: LintContext): void {
  if (certificate.version !== 2) add('version', `version is v${certificate.version + 1}; extensions need v3`);
  const serial = serialEncodingProblem(certificate.serial);
  if (serial) add('serial', serial);
  if (!bytesEqual(raw.signature, signatureAlgorithmDer(issuer.signatureAlgorithm))) {
    add('signature.algorithm', `signature algorithm ${readSignatureAlgorithm(certificate.signature()).name} is not the issuer's`);
  }
  if (readSignatureAlgorithm(certificate.signature()).hash === 'SHA-1') add('signature.weak', 'SHA-1 signatures are not issued');
  if (signed && !bytesEqual(raw.signature, raw.signatureAlgorithm!)) {
    add('signature.mismatch', 'signatureAlgorithm differs from the TBSCertificate signature field (§4.1.1.2)');
  }
  if (!bytesEqual(raw.issuer, issuer.subject)) add('issuer.name', `issuer name is not the subject of issuer ${issuer.id}`);
}

/** §4.1.2.5: order, issuer's period, profile's period, encodings. */
function checkValidity({ certificate, profile, issuer, add }: LintContext): void {
  const notBefore = certificate.notBefore.value;
  const notAfter = certificate.notAfter.value;
  if (notAfter <= notBefore) add('validity.order', 'notAfter is not after notBefore');
  if (notBefore < issuer.notBefore || notAfter > issuer.notAfter) add('validity.issuer', `validity lies outside issuer ${issuer.id}'s`);
  if (notAfter > validityEnd(notBefore, profile.validity)) add('validity.profile', `validity is longer than profile ${profile.id} allows`);
  for (const [name, time] of [['notBefore', certificate.notBefore], ['notAfter', certificate.notAfter]] as const) {
    if (time.utc !== time.value.getUTCFullYear() < 2050) {
      add('validity.encoding', `${name} must be ${time.value.getUTCFullYear() < 2050 ? 'UTCTime' : 'GeneralizedTime'} (§4.1.2.5)`);
    }
    if (time.value.getUTCMilliseconds() !== 0) add('validity.encoding', `${name} has fractional seconds (§4.1.2.5.2)`);
  }
}

/**
 * §4.1.2.6 and Appendix A: the subject's encodings; the profile's name policy on what the names
 * (subject and subjectAltName) say. Returns the subject's attributes and the alternative names.
 */
function checkNames({ certificate, raw, spki, profile, add, ext }: LintContext): { attributes: DnAttribute[]; altNames: AltNameEntry[] } {
  const attributes = certificate.subjectAttributes ?? parseName(raw.subject, 'lintFailed');
  for (const attribute of attributes) {
    const spec = subjectAttributes[attribute.type as SubjectAttribute];
    if (spec && attribute.encoding !== spec.encoding) add('subject.encoding', `${attribute.type} is ${attribute.encoding}, not ${spec.encoding}`);
    if (attribute.value !== attribute.value.normalize('NFC')) add('subject.encoding', `${attribute.type} is not in Unicode NFC`);
  }
  if (new Set(attributes.map((a) => a.rdn)).size !== attributes.length) add('subject.rdn', 'multi-valued RDNs are not issued');
  const san = ext(oid.subjectAltName);
  const altNames = san ? altNamesOf(san) : [];
  const emails = altNames.filter((n) => n.type === 1).map((n) => String(n.value));
  const dnsNames = altNames.filter((n) => n.type === 2).map((n) => String(n.value));
  if (altNames.length !== emails.length + dnsNames.length) add('ext.san.type', 'subjectAltName holds entries other than rfc822Name and dNSName');
  const { fields, problems: fieldProblems } = fieldsFromAttributes(attributes);
  for (const message of fieldProblems) add('subject.attribute', message);
  for (const message of namePolicyProblems({ spki, subject: fields, emails, dnsNames }, profile).problems) add('subject.policy', message);
  if (fields.E && !emails.includes(fields.E)) add('ext.san.email', 'the E attribute is not repeated as an rfc822Name (§4.1.2.6)');
  return { attributes, altNames };
}

/** §4.2: each extension at most once, only known ones, with the right criticality (SAN's depends on the subject). */
function checkExtensionSet({ certificate, add }: LintContext, subjectEmpty: boolean): void {
  const extensions = certificate.extensions ?? [];
  const ids = extensions.map((e) => e.extnID);
  for (const id of new Set(ids)) if (ids.indexOf(id) !== ids.lastIndexOf(id)) add('ext.duplicate', `extension ${id} appears more than once (§4.2)`);
  for (const e of extensions) {
    const rule = criticality[e.extnID];
    if (!rule) {
      add('ext.unexpected', `extension ${e.extnID} is not issued by the CA`);
      continue;
    }
    const critical = e.extnID === oid.subjectAltName ? subjectEmpty : rule.critical;
    if (e.critical !== critical) add(`ext.${rule.name}.critical`, `${rule.name} must ${critical ? '' : 'not '}be critical (${rule.rule})`);
  }
}

/** §4.2.1.9: cA as the profile says, its pathLenConstraint, and an issuer allowed to certify a CA. */
function checkBasicConstraints({ raw, parsedValue, isCa, profile, issuer, add }: LintContext): void {
  const bc = parsedValue(oid.basicConstraints);
  if (!(bc instanceof pkijs.BasicConstraints)) {
    add('ext.basicConstraints.presence', 'basicConstraints is missing or malformed');
    return;
  }
  if (bc.cA !== isCa) add('ext.basicConstraints.ca', `cA must be ${isCa ? 'TRUE' : 'FALSE'} for profile ${profile.id}`);
  const pathLen = bc.pathLenConstraint === undefined ? undefined : Number(bc.pathLenConstraint);
  if (pathLen !== profile.pathLenConstraint) add('ext.basicConstraints.pathLen', `pathLenConstraint must be ${profile.pathLenConstraint ?? 'absent'}`);
  const selfIssued = bytesEqual(raw.subject, issuer.subject);
  if (isCa && !selfIssued && issuer.pathLenConstraint === 0) add('ext.basicConstraints.issuer', `issuer ${issuer.id} has pathLen 0 and cannot certify a CA (§4.2.1.9)`);
}

/** §4.2.1.3: the profile's usages that suit the key, in DER form, keyCertSign exactly for a CA. */
function checkKeyUsage({ parsedValue, isCa, profile, add }: LintContext, key: PublicKeyDescription): void {
  const ku = parsedValue(oid.keyUsage);
  if (!(ku instanceof asn1js.BitString)) {
    add('ext.keyUsage.presence', 'keyUsage is missing or malformed');
    return;
  }
  const { usages, minimal } = readKeyUsage(ku);
  if (!minimal) add('ext.keyUsage.encoding', 'keyUsage BIT STRING is not in DER form (X.690 §11.2.2)');
  const expected = effectiveKeyUsage(profile, key);
  if (usages.join() !== expected.join()) add('ext.keyUsage.value', `keyUsage is ${usages.join(', ')}; profile ${profile.id} gives ${expected.join(', ')}`);
  const type = key.type === 'rsa' && !key.pss ? 'rsa' : 'signature-only';
  const wrong = usages.filter((u) => (type === 'rsa' ? ['keyAgreement', 'encipherOnly', 'decipherOnly'] : ['keyEncipherment', 'dataEncipherment']).includes(u));
  if (wrong.length) add('ext.keyUsage.key-type', `${wrong.join(', ')} cannot be used with this key type`);
  if (isCa !== usages.includes('keyCertSign')) add('ext.keyUsage.ca', `keyCertSign must ${isCa ? '' : 'not '}be set (§4.2.1.3)`);
}

/** The profile's extended key usages, no more and no less. */
function checkExtendedKeyUsage({ parsedValue, expectPresent, profile, add }: LintContext): void {
  const eku = parsedValue(oid.extKeyUsage);
  if (!expectPresent(oid.extKeyUsage, profile.extendedKeyUsage.length > 0)) return;
  const got = eku instanceof pkijs.ExtKeyUsage ? [...eku.keyPurposes].sort() : [];
  const want = profile.extendedKeyUsage.map((k) => extendedKeyUsageOids[k]).sort();
  if (got.join() !== want.join()) add('ext.extKeyUsage.value', `extKeyUsage is ${got.join(', ')}; profile ${profile.id} gives ${want.join(', ')}`);
}

/** §4.2.1.2 and §4.2.1.1: the subject's key identifier from its key, the issuer's as the authority's. */
function checkKeyIdentifiers({ ext, parsedValue, spki, issuer, add }: LintContext): void {
  const ski = skiBytes(ext(oid.subjectKeyIdentifier));
  if (!ski || !bytesEqual(ski, keyIdentifier(spki))) {
    add('ext.subjectKeyIdentifier.value', 'subjectKeyIdentifier is missing or not derived from the public key (RFC 7093 §2)');
  }
  const aki = parsedValue(oid.authorityKeyIdentifier);
  if (!(aki instanceof pkijs.AuthorityKeyIdentifier) || !aki.keyIdentifier || !bytesEqual(aki.keyIdentifier.valueBlock.valueHexView, issuer.keyIdentifier)) {
    add('ext.authorityKeyIdentifier.value', `authorityKeyIdentifier is missing or not issuer ${issuer.id}'s key identifier (§4.2.1.1)`);
  } else if (aki.authorityCertIssuer || aki.authorityCertSerialNumber) {
    add('ext.authorityKeyIdentifier.value', 'authorityKeyIdentifier must hold the key identifier only');
  }
}

/** The profile's certificate policies (by OID, in any order). */
function checkPolicies({ ext, expectPresent, profile, add }: LintContext): void {
  if (!expectPresent(oid.certificatePolicies, profile.policies.length > 0)) return;
  const got = policyIds(ext(oid.certificatePolicies)!.extnValue);
  if ([...got].sort().join() !== [...profile.policies].sort().join()) add('ext.certificatePolicies.value', `policies are ${got.join(', ')}; profile ${profile.id} gives ${profile.policies.join(', ')}`);
}

/** Where relying parties look: CRL and delta CRL (§4.2.1.13, §4.2.1.15), OCSP and caIssuers (§4.2.2.1), ocsp-nocheck. */
function checkStatusPointers({ ext, parsedValue, expectPresent, profile, issuer, add }: LintContext): void {
  for (const [id, wanted, url] of [
    [oid.crlDistributionPoints, profile.crlDistributionPoints, issuer.urls.crl],
    [oid.freshestCrl, profile.freshestCrl, issuer.urls.deltaCrl],
  ] as const) {
    if (expectPresent(id, wanted) && readDistributionPointUris(parsedValue(id)).join() !== url) {
      add(`ext.${criticality[id].name}.value`, `${criticality[id].name} must point at ${url}`);
    }
  }
  const aia = profile.authorityInfoAccess;
  if (expectPresent(oid.authorityInfoAccess, aia.ocsp || aia.caIssuers)) {
    const value = parsedValue(oid.authorityInfoAccess);
    const descriptions = value instanceof pkijs.InfoAccess ? value.accessDescriptions : [];
    const urls = (method: string) => descriptions.filter((d) => d.accessMethod === method).map((d) => String(d.accessLocation.value));
    if (urls(oid.adOcsp).join() !== (aia.ocsp ? issuer.urls.ocsp : '')) add('ext.authorityInfoAccess.ocsp', `OCSP URL must be ${aia.ocsp ? issuer.urls.ocsp : 'absent'}`);
    if (urls(oid.adCaIssuers).join() !== (aia.caIssuers ? issuer.urls.caIssuers : '')) add('ext.authorityInfoAccess.caIssuers', `caIssuers URL must be ${aia.caIssuers ? issuer.urls.caIssuers : 'absent'}`);
  }
  if (expectPresent(oid.ocspNoCheck, profile.ocspNoCheck) && toHex(ext(oid.ocspNoCheck)!.extnValue) !== '0500') {
    add('ext.ocsp-nocheck.value', 'ocsp-nocheck must hold NULL (RFC 6960 §4.2.2.2.1)');
  }
}

/**
 * Parsed values of the extensions every certificate of an issuer and profile carries byte for byte
 * (status pointers, policies, usages, constraints, the authority key identifier): each distinct
 * DER is parsed once, not once per certificate of a batch. The checks read the values the same
 * way; the per-certificate extensions (subject key identifier, alternative names) are not cached.
 */
const SHARED_EXTENSIONS = new Set<string>([oid.crlDistributionPoints, oid.freshestCrl, oid.authorityInfoAccess, oid.keyUsage, oid.extKeyUsage, oid.basicConstraints, oid.authorityKeyIdentifier]);
const sharedValues = new Map<string, unknown>();
function parsedValueOf(extension: LintExtension | undefined): unknown {
  if (!extension || !SHARED_EXTENSIONS.has(extension.extnID)) return extension?.parsedValue();
  const key = `${extension.extnID}:${toHex(extension.extnValue)}`;
  if (sharedValues.has(key)) return sharedValues.get(key);
  const value = extension.parsedValue();
  if (sharedValues.size >= 512) sharedValues.clear();
  sharedValues.set(key, value);
  return value;
}

/**
 * Every problem of the certificate (or TBSCertificate) against its profile, its issuer and RFC
 * 5280; empty when clean. A TBS in plain DER as the CA builds it is read by the lean reader; when
 * that reader declines, or the checks find anything at all, the input is read again by pkijs and
 * checked again, so every problem reported (and every refusal to parse) is the general path's.
 */
export function lintCertificate(input: Uint8Array, profile: Profile, issuer: Issuer): LintProblem[] {
  const lean = readTbsLean(input, issuer);
  if (lean) {
    try {
      const problems = lintView(lean.view, false, lean.raw, profile, issuer);
      if (problems.length === 0) return problems;
    } catch {
      // A check that throws on what the lean reader let through: the general path gives the verdict.
    }
  }
  return lintCertificateGeneral(input, profile, issuer);
}

/** The same with pkijs reading the input (exported for the comparison tests). */
export function lintCertificateGeneral(input: Uint8Array, profile: Profile, issuer: Issuer): LintProblem[] {
  const { certificate, signed, raw } = readCertificate(input);
  return lintView(viewOf(certificate), signed, raw, profile, issuer);
}

function lintView(certificate: CertificateView, signed: boolean, raw: RawFields, profile: Profile, issuer: Issuer): LintProblem[] {
  const problems: LintProblem[] = [];
  const add = (code: string, message: string) => {
    problems.push({ code, message });
  };
  const ext = (id: string) => (certificate.extensions ?? []).find((e) => e.extnID === id);
  const context: LintContext = {
    certificate,
    signed,
    raw,
    spki: raw.spki,
    isCa: profile.type !== 'end-entity',
    profile,
    issuer,
    add,
    ext,
    parsedValue: (id) => parsedValueOf(ext(id)),
    expectPresent: (id, wanted) => {
      if (Boolean(ext(id)) !== wanted) add(`ext.${criticality[id].name}.presence`, `${criticality[id].name} must be ${wanted ? 'present' : 'absent'} (profile ${profile.id})`);
      return wanted && Boolean(ext(id));
    },
  };
  checkHeader(context);
  checkValidity(context);
  const { attributes, altNames } = checkNames(context);
  const keyPolicy = keyPolicyProblems(context.spki, profile);
  for (const message of keyPolicy.problems) add('public-key', message);
  checkExtensionSet(context, attributes.length === 0);
  checkBasicConstraints(context);
  checkKeyUsage(context, keyPolicy.key);
  checkExtendedKeyUsage(context);
  checkKeyIdentifiers(context);
  checkPolicies(context);
  checkStatusPointers(context);
  if (ext(oid.subjectAltName) && altNames.length === 0) add('ext.san.empty', 'subjectAltName is empty (§4.2.1.6)');
  return problems;
}

/** Throws `lintFailed` listing the problems, if any: a certificate that fails lint is never signed. */
export function assertLintClean(problems: LintProblem[], what: string): void {
  if (problems.length) {
    throw new CaError('lintFailed', `${what} failed lint: ${problems.map((p) => `[${p.code}] ${p.message}`).join('; ')}`, { problems });
  }
}
