import { X509Certificate, randomBytes, createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { checkTimestamp } from '../validation/timestamp.js';
import { signedBytes, type Checkpoint } from './checkpoint.js';

/**
 * RFC 3161 time-stamps of checkpoints: the TSA the operator names signs the SHA-256 of the
 * checkpoint's signed bytes (its sequence number, head hash, time and key id), so even someone
 * holding the audit key cannot later sign a checkpoint for a rewritten chain and date it back.
 */
const SHA256 = '2.16.840.1.101.3.4.2.1';

export class TimeStampError extends Error {}

function request(imprint: Buffer, nonce: Buffer): Uint8Array {
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: SHA256 }),
      hashedMessage: new asn1js.OctetString({ valueHex: imprint }),
    }),
    // RFC 3161 §2.4.1: a nonce ties the reply to this request; certReq puts the TSA's certificate in the token.
    nonce: new asn1js.Integer({ valueHex: Uint8Array.of(0x01, ...nonce) }),
    certReq: true,
  });
  return new Uint8Array(req.toSchema().toBER());
}

/** Asks the TSA at `url` for a time-stamp of `checkpoint`; returns the token (DER) and its genTime. */
export async function timeStampCheckpoint(url: string, checkpoint: Checkpoint, timeoutMs: number): Promise<{ token: Buffer; genTime: Date }> {
  const data = signedBytes(checkpoint);
  const nonce = randomBytes(8);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
      body: Buffer.from(request(createHash('sha256').update(data).digest(), nonce)),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new TimeStampError(`the TSA ${url} did not answer: ${(err as Error).message}`);
  }
  if (!response.ok) throw new TimeStampError(`the TSA ${url} answered HTTP ${response.status}`);
  const body = new Uint8Array(await response.arrayBuffer());
  let resp: pkijs.TimeStampResp;
  try {
    resp = pkijs.TimeStampResp.fromBER(body);
  } catch (err) {
    throw new TimeStampError(`the TSA ${url} answered something that is not a TimeStampResp (${(err as Error).message})`);
  }
  // RFC 3161 §2.4.2: granted (0) or grantedWithMods (1) carry a token; anything else refuses.
  if (resp.status.status > 1 || !resp.timeStampToken) throw new TimeStampError(`the TSA ${url} refused the request (PKIStatus ${resp.status.status})`);
  const token = Buffer.from(resp.timeStampToken.toSchema().toBER());
  const tst = pkijs.TSTInfo.fromBER(new pkijs.SignedData({ schema: resp.timeStampToken.content }).encapContentInfo.eContent!.getValue());
  const answered = Buffer.from(tst.nonce?.valueBlock.valueHexView ?? new Uint8Array());
  if (!answered.equals(Buffer.from([0x01, ...nonce]))) throw new TimeStampError(`the TSA ${url} answered with another nonce (a replayed or misrouted reply)`);
  const check = checkTimeStamp(token, checkpoint, []);
  if (check.problem) throw new TimeStampError(`the TSA ${url} answered a token that does not check: ${check.problem}`);
  return { token, genTime: check.genTime! };
}

/**
 * Checks a checkpoint's time-stamp token: its imprint is the checkpoint's, its CMS signature
 * verifies, and (when the auditor gives TSA certificates) its signer is one of them or issued by one.
 */
export function checkTimeStamp(token: Uint8Array, checkpoint: Checkpoint, trustedTsaCerts: readonly string[]): { genTime: Date | null; problem: string | null } {
  const result = checkTimestamp(token, signedBytes(checkpoint), []);
  const problem = result.errors[0] ?? (result.signer?.verdict ? `its signature does not verify (${result.signer.errors.join('; ') || result.signer.verdict})` : null);
  if (problem) return { genTime: result.genTime, problem: problem.replace('this signature value', 'this checkpoint') };
  if (trustedTsaCerts.length) {
    const signer = result.signer?.cert ? new X509Certificate(Buffer.from(result.signer.cert.der)) : null;
    const trusted = trustedTsaCerts.map((pem) => new X509Certificate(pem));
    const known = signer && trusted.some((t) => t.raw.equals(signer.raw) || (signer.checkIssued(t) && signer.verify(t.publicKey)));
    if (!known) return { genTime: result.genTime, problem: `its signer (${signer?.subject.replace(/\n/g, ', ') ?? 'no certificate'}) is not the TSA given` };
  }
  return { genTime: result.genTime, problem: null };
}
