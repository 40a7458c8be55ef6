import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { Cert } from './cert.js';
import { cmsOid, digestOf, parseCms, type ParsedCms } from './cms.js';
import { verifySigners } from './cms-signers.js';
import type { SignerCheck } from './cms.js';

export interface TimestampCheck {
  genTime: Date | null;
  tsaName: string | null;
  messageImprintMatches: boolean;
  signer: SignerCheck | null;
  certificates: Cert[];
  errors: string[];
}

/**
 * RFC 3161 §2.4.2 / RFC 5816: a signature time-stamp token over the signature value (ETSI EN 319
 * 122-1 §5.3). Checks its own CMS signature and the message imprint; the TSA chain is built by
 * the caller.
 */
export function checkTimestamp(token: Uint8Array, stampedData: Uint8Array, extraCerts: readonly Cert[]): TimestampCheck {
  const result: TimestampCheck = { genTime: null, tsaName: null, messageImprintMatches: false, signer: null, certificates: [], errors: [] };
  let cms: ParsedCms;
  try {
    cms = parseCms(token);
  } catch (err) {
    result.errors.push(`the time-stamp token is not a CMS SignedData: ${(err as Error).message}`);
    return result;
  }
  result.certificates = cms.certificates;
  if (cms.eContentType !== cmsOid.tstInfo || !cms.eContent) {
    result.errors.push('the time-stamp token does not hold a TSTInfo');
    return result;
  }
  let info: pkijs.TSTInfo;
  try {
    const asn = asn1js.fromBER(cms.eContent);
    if (asn.offset === -1) throw new Error('malformed DER');
    info = new pkijs.TSTInfo({ schema: asn.result });
  } catch (err) {
    result.errors.push(`malformed TSTInfo (${(err as Error).message})`);
    return result;
  }
  result.genTime = info.genTime;
  if (info.tsa?.type === 4) {
    try {
      result.tsaName = String((info.tsa.value as pkijs.RelativeDistinguishedNames).typesAndValues.map((t) => t.value.valueBlock.value).join(', '));
    } catch {
      result.tsaName = null;
    }
  }
  const imprintDigest = digestOf(info.messageImprint.hashAlgorithm.algorithmId);
  if (!imprintDigest) {
    result.errors.push(`unsupported message imprint algorithm ${info.messageImprint.hashAlgorithm.algorithmId}`);
  } else {
    const expected = createHash(imprintDigest).update(stampedData).digest();
    result.messageImprintMatches = Buffer.compare(expected, Buffer.from(info.messageImprint.hashedMessage.valueBlock.valueHexView)) === 0;
    if (!result.messageImprintMatches) result.errors.push('the time-stamp\'s message imprint is not the hash of this signature value');
  }
  const signers = verifySigners(cms, {}, extraCerts);
  if (signers.length !== 1) result.errors.push(`a time-stamp token has exactly one signer, this one has ${signers.length}`);
  result.signer = signers[0] ?? null;
  if (result.signer && !result.tsaName) result.tsaName = result.signer.cert?.subjectDn ?? null;
  return result;
}
