import { createHash, verify as verifySignature, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { hexFromInteger } from '../../asn1/der.js';
import { certificateNameAndKey } from './issuers.js';
import { NULL_ELEMENT, octetString, oid, sequence, unsignedInteger } from './der.js';

/**
 * The client side of OCSP (RFC 6960), for certificates of other CAs: a request for one
 * certificate (CertID with SHA-1, which RFC 5019 §2.1.1 requires every responder to accept), and
 * a check of the response: signed by the issuer or by a responder it delegated to
 * (id-kp-OCSPSigning, §4.2.2.2), for this CertID, and current. Pure: the caller does the HTTP.
 */
const SHA1 = '1.3.14.3.2.26';
const OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
const BASIC = '1.3.6.1.5.5.7.48.1.1';
const SIGNATURE_HASHES: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.113549.1.1.5': 'sha1',
};
/** Clock skew tolerated on thisUpdate / nextUpdate. */
const SKEW_MS = 5 * 60_000;

export type OcspOutcome = { status: 'good' } | { status: 'revoked'; revokedAt: Date } | { status: 'unknown' } | { status: 'invalid'; problem: string };

function serialOf(certificateDer: Uint8Array): Uint8Array {
  const cert = pkijs.Certificate.fromBER(new Uint8Array(certificateDer));
  return cert.serialNumber.valueBlock.valueHexView;
}

/** DER OCSPRequest for one certificate, without a nonce (cacheable, RFC 5019 §2.1.3). */
export function ocspRequest(certificateDer: Uint8Array, issuerDer: Uint8Array): Buffer {
  const { subject, publicKey } = certificateNameAndKey(issuerDer);
  const certId = sequence(
    sequence(oid(SHA1), NULL_ELEMENT),
    octetString(createHash('sha1').update(subject).digest()),
    octetString(createHash('sha1').update(publicKey).digest()),
    unsignedInteger(serialOf(certificateDer)),
  );
  return sequence(sequence(sequence(sequence(certId))));
}

/** Checks an OCSP response for `certificateDer` issued by `issuerDer`, at `now`. */
export function checkOcspResponse(responseDer: Uint8Array, certificateDer: Uint8Array, issuerDer: Uint8Array, now: Date): OcspOutcome {
  let basic: pkijs.BasicOCSPResponse;
  try {
    const response = pkijs.OCSPResponse.fromBER(new Uint8Array(responseDer));
    const status = response.responseStatus.valueBlock.valueDec;
    if (status !== 0) return { status: 'invalid', problem: `the responder answered status ${status} (not successful)` };
    if (response.responseBytes?.responseType !== BASIC) return { status: 'invalid', problem: 'not a basic OCSP response' };
    basic = new pkijs.BasicOCSPResponse({ schema: asn1js.fromBER(response.responseBytes.response.valueBlock.valueHexView).result });
  } catch (err) {
    return { status: 'invalid', problem: `malformed OCSP response: ${(err as Error).message}` };
  }
  const issuer = new X509Certificate(Buffer.from(issuerDer));
  const { subject, publicKey } = certificateNameAndKey(issuerDer);
  const issuerNameHash = createHash('sha1').update(subject).digest();
  const issuerKeyHash = createHash('sha1').update(publicKey).digest();

  // The signer: the issuer itself, or a certificate in `certs` that the issuer certified for OCSP signing.
  const rid = basic.tbsResponseData.responderID as pkijs.RelativeDistinguishedNames | asn1js.OctetString;
  const names = (c: X509Certificate) => (rid instanceof asn1js.OctetString ? createHash('sha1').update(certificateNameAndKey(c.raw).publicKey).digest().equals(Buffer.from(rid.valueBlock.valueHexView)) : Buffer.from(rid.toSchema().toBER()).equals(Buffer.from(certificateNameAndKey(c.raw).subject)));
  let signer: X509Certificate | undefined = names(issuer) ? issuer : undefined;
  if (!signer) {
    const delegated = (basic.certs ?? []).map((c) => new X509Certificate(Buffer.from(c.toSchema().toBER())));
    signer = delegated.find((c) => names(c) && c.checkIssued(issuer) && c.verify(issuer.publicKey) && (c.keyUsage ?? []).includes(OCSP_SIGNING));
    if (!signer) return { status: 'invalid', problem: 'the response is signed neither by the issuer nor by a responder it authorised' };
  }
  const hash = SIGNATURE_HASHES[basic.signatureAlgorithm.algorithmId];
  if (!hash) return { status: 'invalid', problem: `unsupported signature algorithm ${basic.signatureAlgorithm.algorithmId}` };
  const ok = verifySignature(hash, basic.tbsResponseData.tbsView, signer.publicKey, basic.signature.valueBlock.valueHexView);
  if (!ok) return { status: 'invalid', problem: 'the response signature does not verify' };

  const serial = hexFromInteger(serialOf(certificateDer));
  const single = basic.tbsResponseData.responses.find(
    (r) =>
      r.certID.hashAlgorithm.algorithmId === SHA1 &&
      Buffer.from(r.certID.issuerNameHash.valueBlock.valueHexView).equals(issuerNameHash) &&
      Buffer.from(r.certID.issuerKeyHash.valueBlock.valueHexView).equals(issuerKeyHash) &&
      hexFromInteger(r.certID.serialNumber.valueBlock.valueHexView) === serial,
  );
  if (!single) return { status: 'invalid', problem: 'the response does not answer for this certificate' };
  if (single.thisUpdate.getTime() > now.getTime() + SKEW_MS) return { status: 'invalid', problem: 'the response is from the future (thisUpdate)' };
  if (single.nextUpdate && single.nextUpdate.getTime() < now.getTime() - SKEW_MS) return { status: 'invalid', problem: 'the response is stale (nextUpdate passed)' };
  // CertStatus (RFC 6960 §4.2.1): [0] good, [1] revoked (revocationTime first), [2] unknown.
  const tag = (single.certStatus as asn1js.BaseBlock).idBlock.tagNumber;
  if (tag === 0) return { status: 'good' };
  if (tag === 1) {
    const inner = (single.certStatus as asn1js.Constructed).valueBlock.value[0] as asn1js.GeneralizedTime | undefined;
    return { status: 'revoked', revokedAt: inner && typeof inner.toDate === 'function' ? inner.toDate() : now };
  }
  return { status: 'unknown' };
}
