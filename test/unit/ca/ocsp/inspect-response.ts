/** Reads OCSP responses with pkijs (an independent decoder) and checks signatures with node:crypto. */
import { Buffer } from 'node:buffer';
import { constants, KeyObject, X509Certificate, verify } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

export interface InspectedSingle {
  serialHex: string;
  hashOid: string;
  status: 'good' | 'revoked' | 'unknown';
  revokedAt?: Date;
  reason?: number;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export interface InspectedResponse {
  status: number;
  producedAt?: Date;
  responderKeyHash?: string;
  responses: InspectedSingle[];
  nonce?: Buffer;
  certCount: number;
  signatureOid?: string;
  /** Whether the signature verifies under the signer's key. */
  signatureValid?: boolean;
}

/** `signer`: the responder certificate (DER) or its public key. */
export function inspectResponse(der: Uint8Array, signer?: Uint8Array | KeyObject): InspectedResponse {
  const ocsp = pkijs.OCSPResponse.fromBER(der as BufferSource);
  const status = ocsp.responseStatus.valueBlock.valueDec;
  if (!ocsp.responseBytes) return { status, responses: [], certCount: 0 };
  const basic = pkijs.BasicOCSPResponse.fromBER(ocsp.responseBytes.response.valueBlock.valueHexView as BufferSource);
  const data = basic.tbsResponseData;
  const responses = data.responses.map((r): InspectedSingle => {
    const cs = r.certStatus as asn1js.Constructed | asn1js.Primitive;
    const tag = cs.idBlock.tagNumber;
    const single: InspectedSingle = {
      serialHex: Buffer.from(r.certID.serialNumber.valueBlock.valueHexView).toString('hex'),
      hashOid: r.certID.hashAlgorithm.algorithmId,
      status: tag === 0 ? 'good' : tag === 1 ? 'revoked' : 'unknown',
      thisUpdate: r.thisUpdate,
      nextUpdate: r.nextUpdate,
    };
    if (tag === 1) {
      const items = (cs as asn1js.Constructed).valueBlock.value;
      single.revokedAt = (items[0] as asn1js.GeneralizedTime).toDate();
      if (items[1]) single.reason = ((items[1] as asn1js.Constructed).valueBlock.value[0] as asn1js.Enumerated).valueBlock.valueDec;
    }
    return single;
  });
  const nonceExt = data.responseExtensions?.find((e) => e.extnID === '1.3.6.1.5.5.7.48.1.2');
  const result: InspectedResponse = {
    status,
    producedAt: data.producedAt,
    responderKeyHash: data.responderID instanceof asn1js.OctetString ? Buffer.from(data.responderID.valueBlock.valueHexView).toString('hex') : undefined,
    responses,
    nonce: nonceExt ? Buffer.from(nonceExt.extnValue.valueBlock.valueHexView) : undefined,
    certCount: basic.certs?.length ?? 0,
    signatureOid: basic.signatureAlgorithm.algorithmId,
  };
  if (signer) {
    const key = signer instanceof KeyObject ? signer : new X509Certificate(Buffer.from(signer)).publicKey;
    const sig = Buffer.from(basic.signature.valueBlock.valueHexView);
    const tbs = Buffer.from(data.tbsView);
    const oid = result.signatureOid;
    const hash = { '1.2.840.10045.4.3.2': 'sha256', '1.2.840.10045.4.3.3': 'sha384', '1.2.840.10045.4.3.4': 'sha512', '1.2.840.113549.1.1.11': 'sha256', '1.2.840.113549.1.1.12': 'sha384', '1.2.840.113549.1.1.13': 'sha512', '1.2.840.113549.1.1.10': 'sha256' }[oid ?? ''];
    if (oid === '1.3.101.112') result.signatureValid = verify(null, tbs, key, sig);
    else if (oid === '1.2.840.113549.1.1.10') result.signatureValid = verify('sha256', tbs, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
    else result.signatureValid = verify(hash ?? 'none', tbs, key, sig);
  }
  return result;
}
