/**
 * One pass over another CA's CRL (RFC 5280 §5.1) for what the revocation check reads: the signed
 * bytes, the issuer, the times, the entries by serial, and the extensions that limit what the CRL
 * covers. asn1js and pkijs cannot read a large CRL: asn1js 4 stops at 10,000 nodes (about 1,300
 * entries: a province's CA revokes more than that), and pkijs's objects took about 11 MB per
 * 1,000 entries. Here the TLV headers are walked once and only the entries' facts are kept.
 *
 * Strict DER in the usual profile (cert-der.ts's walker): anything else raises
 * `UnusualCertificate`, and `readCrl` reads it with pkijs, applying the same rules.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { hexFromInteger } from '../../ca/asn1/der.js';
import { children, expect, oidOf, timeOf, tlv, unusual, UnusualCertificate, type Tlv } from './cert-der.js';

export interface CrlEntry {
  revokedAt: Date;
  /** The reasonCode's value (RFC 5280 §5.3.1), or null without one. */
  reason: number | null;
}

export interface DerCrl {
  /** The DER of TBSCertList: what the signature covers. */
  tbs: Uint8Array;
  /** The outer signatureAlgorithm's DER (RFC 5280 §5.1.1.2), the same bytes as the TBS's `signature` field. */
  signatureAlgorithm: Uint8Array;
  /** The signature's bits (no unused bits). */
  signature: Uint8Array;
  /** The issuer Name's DER. */
  issuer: Uint8Array;
  thisUpdate: Date;
  nextUpdate: Date | null;
  /** By serial (lower-case hex, as certificate facts give it); a serial listed twice keeps its first entry. */
  revoked: Map<string, CrlEntry>;
  /** Why this CRL cannot say whether a certificate of its issuer is revoked (RFC 5280 §5.2, §5.3, §6.3.3), or null. */
  unusable: string | null;
  /** The issuingDistributionPoint's scope (RFC 5280 §5.2.5). */
  scope: { onlyUserCerts: boolean; onlyCaCerts: boolean; uris: string[] | null };
}

const ext = {
  authorityKeyIdentifier: '2.5.29.35',
  issuerAltName: '2.5.29.18',
  crlNumber: '2.5.29.20',
  deltaCrlIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  freshestCrl: '2.5.29.46',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  expiredCertsOnCrl: '2.5.29.60',
  reasonCode: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  certificateIssuer: '2.5.29.29',
} as const;

/** CRL extensions that change nothing of what the CRL says about a certificate. */
const informative = new Set<string>([ext.authorityKeyIdentifier, ext.issuerAltName, ext.crlNumber, ext.freshestCrl, ext.authorityInfoAccess, ext.expiredCertsOnCrl]);

/** An extension as the rules read it, from either reader: its extnValue's contents. */
export interface CrlExtension {
  id: string;
  critical: boolean;
  value: Uint8Array;
}

function extensions(bytes: Uint8Array, list: Tlv): CrlExtension[] {
  return children(bytes, expect(list, 0x30, 'extensions')).map((e) => {
    const [id, second, third] = children(bytes, expect(e, 0x30, 'extension'));
    let critical = false;
    let value = second;
    if (second?.tag === 0x01) {
      // DER omits FALSE; some CAs write it, which changes nothing.
      if (second.end - second.at !== 1) unusual('critical');
      critical = bytes[second.at] !== 0;
      value = third;
    } else if (third) unusual('extension');
    const octets = expect(value, 0x04, 'extnValue');
    return { id: oidOf(bytes, id), critical, value: bytes.subarray(octets.at, octets.end) };
  });
}

/** The one TLV an extension's value holds. */
const inner = (value: Uint8Array): Tlv => {
  const node = tlv(value, 0, value.length);
  if (node.end !== value.length) unusual('extension value');
  return node;
};

/** An implicitly tagged BOOLEAN of the IDP: DER writes only TRUE. */
const flag = (bytes: Uint8Array, node: Tlv): boolean => {
  if (node.end - node.at !== 1 || bytes[node.at] !== 0xff) unusual('boolean');
  return true;
};

/** RFC 5280 §5.2.5. Returns the scope, or why the CRL is not a complete one for its issuer. */
function issuingDistributionPoint(bytes: Uint8Array): { scope: DerCrl['scope']; unusable: string | null } {
  const scope: DerCrl['scope'] = { onlyUserCerts: false, onlyCaCerts: false, uris: null };
  let unusable: string | null = null;
  for (const field of children(bytes, expect(inner(bytes), 0x30, 'issuingDistributionPoint'))) {
    switch (field.tag) {
      case 0xa0: {
        const name = tlv(bytes, field.at, field.end);
        if (name.tag !== 0xa0) {
          unusable = 'its issuing distribution point is named relative to the issuer';
          break;
        }
        // fullName GeneralNames: the URIs ([6] IA5String); other names cannot match a URL.
        scope.uris = children(bytes, name)
          .filter((n) => n.tag === 0x86)
          .map((n) => Buffer.from(bytes.subarray(n.at, n.end)).toString('latin1'));
        break;
      }
      case 0x81:
        scope.onlyUserCerts = flag(bytes, field);
        break;
      case 0x82:
        scope.onlyCaCerts = flag(bytes, field);
        break;
      case 0x83:
        unusable = 'it covers only some revocation reasons (onlySomeReasons)';
        break;
      case 0x84:
        if (flag(bytes, field)) unusable = 'it is an indirect CRL';
        break;
      case 0x85:
        if (flag(bytes, field)) unusable = 'it covers only attribute certificates';
        break;
      default:
        unusual('issuingDistributionPoint');
    }
  }
  return { scope, unusable };
}

/**
 * An entry's extensions (RFC 5280 §5.3): its reason, and why the CRL is unusable when one it
 * cannot process is critical (certificateIssuer among them: entries of an indirect CRL).
 */
export function entryExtensions(list: readonly CrlExtension[]): { reason: number | null; unusable: string | null } {
  let reason: number | null = null;
  let unusable: string | null = null;
  for (const e of list) {
    if (e.id === ext.reasonCode) {
      const code = inner(e.value);
      if (code.tag !== 0x0a || code.end - code.at !== 1) unusual('reasonCode');
      reason = e.value[code.at];
    } else if (e.critical && e.id !== ext.invalidityDate) unusable = `an entry carries the critical extension ${e.id} (RFC 5280 §5.3)`;
  }
  return { reason, unusable };
}

/** The CRL's own extensions (RFC 5280 §5.2): its scope, and why it is unusable as the complete CRL of its issuer. */
export function crlExtensions(list: readonly CrlExtension[]): { scope: DerCrl['scope']; unusable: string | null } {
  let scope: DerCrl['scope'] = { onlyUserCerts: false, onlyCaCerts: false, uris: null };
  let unusable: string | null = null;
  for (const e of list) {
    if (e.id === ext.deltaCrlIndicator) unusable = 'it is a delta CRL, not a complete one (RFC 5280 §5.2.4)';
    else if (e.id === ext.issuingDistributionPoint) {
      const idp = issuingDistributionPoint(e.value);
      scope = idp.scope;
      unusable = idp.unusable ?? unusable;
    } else if (e.critical && !informative.has(e.id)) unusable = `it carries the critical extension ${e.id} (RFC 5280 §5.2)`;
  }
  return { scope, unusable };
}

function entry(bytes: Uint8Array, node: Tlv, revoked: Map<string, CrlEntry>): string | null {
  const [serial, date, list, extra] = children(bytes, expect(node, 0x30, 'entry'));
  if (extra) unusual('entry');
  const revokedAt = timeOf(bytes, date ?? unusual('revocationDate'));
  const { reason, unusable } = list ? entryExtensions(extensions(bytes, list)) : { reason: null, unusable: null };
  const key = hexFromInteger(bytes.subarray(expect(serial, 0x02, 'serial').at, serial.end));
  if (!revoked.has(key)) revoked.set(key, { revokedAt, reason });
  return unusable;
}

/** An AlgorithmIdentifier: a SEQUENCE starting with an OID (its parameters are the signature check's to read). */
function algorithmIdentifier(der: Uint8Array, node: Tlv | undefined): Tlv {
  oidOf(der, children(der, expect(node, 0x30, 'AlgorithmIdentifier'))[0] ?? unusual('AlgorithmIdentifier'));
  return node!;
}

/** The string types of names' attribute values (UTF8, Printable, T61, IA5, Universal, BMP); any other value goes to pkijs. */
const stringTags = new Set([0x0c, 0x13, 0x14, 0x16, 0x1c, 0x1e]);

/** A Name (RFC 5280 §4.1.2.4): RDNs, each a SET of attribute type and value. Compared as bytes with the issuer's subject. */
function name(der: Uint8Array, node: Tlv | undefined): Tlv {
  for (const rdn of children(der, expect(node, 0x30, 'Name'))) {
    for (const atv of children(der, expect(rdn, 0x31, 'RDN'))) {
      const [type, value, extra] = children(der, expect(atv, 0x30, 'AttributeTypeAndValue'));
      if (!value || extra || !stringTags.has(value.tag)) unusual('AttributeTypeAndValue');
      oidOf(der, type);
    }
  }
  return node!;
}

/** Reads a CRL; raises UnusualCertificate for anything outside strict DER in the usual profile. */
export function readCrlDer(der: Uint8Array): DerCrl {
  const outer = tlv(der, 0, der.length);
  if (outer.tag !== 0x30 || outer.end !== der.length) unusual('CertificateList');
  const [tbsNode, algorithm, signatureBits, extra] = children(der, outer);
  if (extra) unusual('CertificateList');
  const fields = children(der, expect(tbsNode, 0x30, 'tbsCertList'));
  let i = 0;
  if (fields[i]?.tag === 0x02) {
    if (fields[i].end - fields[i].at !== 1 || der[fields[i].at] !== 1) unusual('version'); // v2 (RFC 5280 §5.1.2.1)
    i++;
  }
  const innerAlgorithm = algorithmIdentifier(der, fields[i++]);
  algorithmIdentifier(der, algorithm);
  const sameAlgorithm = Buffer.compare(der.subarray(innerAlgorithm.start, innerAlgorithm.end), der.subarray(algorithm.start, algorithm.end)) === 0;
  const issuer = name(der, fields[i++]);
  const thisUpdate = timeOf(der, fields[i++] ?? unusual('thisUpdate'));
  let nextUpdate: Date | null = null;
  if (fields[i]?.tag === 0x17 || fields[i]?.tag === 0x18) nextUpdate = timeOf(der, fields[i++]);
  const revoked = new Map<string, CrlEntry>();
  let unusable: string | null = sameAlgorithm ? null : 'its signature algorithm differs from the one its TBSCertList names (RFC 5280 §5.1.1.2)';
  if (fields[i]?.tag === 0x30) {
    for (const node of children(der, fields[i++])) unusable = entry(der, node, revoked) ?? unusable;
  }
  let scope: DerCrl['scope'] = { onlyUserCerts: false, onlyCaCerts: false, uris: null };
  if (fields[i]?.tag === 0xa0) {
    const wrapper = fields[i++];
    const list = tlv(der, wrapper.at, wrapper.end);
    if (list.end !== wrapper.end) unusual('crlExtensions');
    const rules = crlExtensions(extensions(der, list));
    scope = rules.scope;
    unusable = rules.unusable ?? unusable;
  }
  if (fields[i]) unusual('tbsCertList');
  const bits = expect(signatureBits, 0x03, 'signatureValue');
  if (bits.end - bits.at < 2 || der[bits.at] !== 0) unusual('signatureValue');
  return {
    tbs: der.subarray(tbsNode.start, tbsNode.end),
    signatureAlgorithm: der.subarray(algorithm.start, algorithm.end),
    signature: der.subarray(bits.at + 1, bits.end),
    issuer: der.subarray(issuer.start, issuer.end),
    thisUpdate,
    nextUpdate,
    revoked,
    unusable,
    scope,
  };
}

/**
 * The CRL read by `readCrlDer`, or by pkijs when that declines it (BER, an unusual form): the
 * same facts and the same rules. pkijs reads at most about 1,300 entries (asn1js's node limit).
 */
export function readCrl(der: Uint8Array): DerCrl {
  try {
    return readCrlDer(der);
  } catch (err) {
    if (!(err instanceof UnusualCertificate)) throw err;
  }
  return readCrlPkijs(der);
}

/** The pkijs reading (exported for the tests' comparison). */
export function readCrlPkijs(der: Uint8Array): DerCrl {
  const asn = asn1js.fromBER(der);
  if (asn.offset === -1) throw new Error(`malformed CRL (${asn.result.error || 'cannot decode'})`);
  const crl = new pkijs.CertificateRevocationList({ schema: asn.result });
  const asExtension = (e: pkijs.Extension): CrlExtension => ({ id: e.extnID, critical: e.critical, value: e.extnValue.valueBlock.valueHexView });
  const encoded = (o: { toSchema(): asn1js.AsnType }) => new Uint8Array(o.toSchema().toBER(false));
  const signatureAlgorithm = encoded(crl.signatureAlgorithm);
  const revoked = new Map<string, CrlEntry>();
  let unusable: string | null = Buffer.compare(encoded(crl.signature), signatureAlgorithm) === 0 ? null : 'its signature algorithm differs from the one its TBSCertList names (RFC 5280 §5.1.1.2)';
  for (const r of crl.revokedCertificates ?? []) {
    const facts = entryExtensions((r.crlEntryExtensions?.extensions ?? []).map(asExtension));
    unusable = facts.unusable ?? unusable;
    const key = hexFromInteger(r.userCertificate.valueBlock.valueHexView);
    if (!revoked.has(key)) revoked.set(key, { revokedAt: r.revocationDate.value, reason: facts.reason });
  }
  const rules = crlExtensions((crl.crlExtensions?.extensions ?? []).map(asExtension));
  return {
    tbs: new Uint8Array(crl.tbsView),
    signatureAlgorithm,
    signature: new Uint8Array(crl.signatureValue.valueBlock.valueHexView),
    issuer: encoded(crl.issuer),
    thisUpdate: crl.thisUpdate.value,
    nextUpdate: crl.nextUpdate?.value ?? null,
    revoked,
    unusable: rules.unusable ?? unusable,
    scope: rules.scope,
  };
}
