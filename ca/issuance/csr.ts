/**
 * PKCS#10 certification requests (RFC 2986). Holders make keys on their USB tokens and send a
 * CSR; its signature is the proof of possession (RFC 2986 §3), so a CSR whose signature does not
 * verify is refused before anything else looks at it.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { CaError } from '../errors.js';
import { readSignatureAlgorithm, verifySignature, verifySignatureInPool } from '../asn1/algorithms.js';
import { decodeDer, decodePkijs, der, readDerOrPem } from '../asn1/der.js';
import { childrenOf, plainKeyInfo, readWhole, tlvBytes, wellFormedDer } from '../asn1/der-view.js';
import { BytesMemo } from '../asn1/memo.js';
import { findExtension } from '../asn1/certificate.js';
import { parseName, parseNameLean, type DnAttribute } from '../asn1/names.js';
import { oid } from '../asn1/oids.js';

export interface ParsedCsr {
  der: Uint8Array;
  subject: DnAttribute[];
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** e.g. "ecdsa-with-SHA256" */
  signatureAlgorithm: string;
  /** subjectAltName entries requested through the PKCS#9 extensionRequest attribute (RFC 2985 §5.4.2). */
  requestedEmails: string[];
  requestedDnsNames: string[];
  /** Other requested subjectAltName entries (IP addresses, URIs…), described, for the name policy to refuse. */
  requestedOtherNames: string[];
}

/** "CERTIFICATE REQUEST" (RFC 7468 §7) and the "NEW CERTIFICATE REQUEST" label some Windows tools write. */
const csrLabels = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'];
const generalNameTypes = ['otherName', 'rfc822Name', 'dNSName', 'x400Address', 'directoryName', 'ediPartyName', 'uniformResourceIdentifier', 'iPAddress', 'registeredID'];

function requestedAltNames(csr: pkijs.CertificationRequest): { type: number; value: unknown }[] {
  const request = csr.attributes?.find((a) => a.type === oid.extensionRequest);
  if (!request) return [];
  let extensions: pkijs.Extensions;
  try {
    extensions = new pkijs.Extensions({ schema: request.values[0] });
  } catch (error) {
    throw new CaError('badCsr', `CSR extensionRequest attribute is malformed (${(error as Error).message})`);
  }
  const san = findExtension(extensions.extensions, oid.subjectAltName)?.parsedValue as unknown;
  return san instanceof pkijs.AltName ? san.altNames : [];
}

/**
 * A request's CSR is parsed at submission, again before each approval and at issuance (the stored
 * bytes, unchanged): parsing and verifying are a pure function of the DER, so a CSR that passed is
 * kept here (bounded, two full batches) and the same result handed out again, copied. A CSR that
 * failed is not kept: it is parsed, and refused, afresh each time. The checks made on the result
 * (profile, key and name policy, blocked keys, key reuse) run every time as before.
 */
const parsed = new BytesMemo<ParsedCsr>(2_048, 'parsed CSRs');

/** Parses and verifies a CSR given as PEM (text or bytes) or DER; every failure is a `badCsr` naming its cause. */
export function parseCsr(input: string | Uint8Array): ParsedCsr {
  const bytes = readDerOrPem(input, csrLabels, 'CSR', 'badCsr');
  const result = parsed.get(bytes, () => parseCsrDer(bytes));
  return {
    ...result,
    der: bytes,
    subject: result.subject.map((a) => ({ ...a })),
    spki: result.spki.slice(),
    requestedEmails: [...result.requestedEmails],
    requestedDnsNames: [...result.requestedDnsNames],
    requestedOtherNames: [...result.requestedOtherNames],
  };
}

/**
 * For a batch (docs/ca.md, "Batch issuance"): the proofs of possession of the CSRs the lean reader
 * reads are verified in libuv's thread pool, all at once, and the CSRs that pass are kept where
 * parseCsr finds them, so the per-item checks that follow find them parsed and verified. Nothing
 * is refused here: a CSR that is not read, or does not verify, is left to parseCsr, which
 * refuses it with its precise problem.
 */
export async function preverifyCsrs(inputs: ReadonlyArray<string | Uint8Array>): Promise<void> {
  const pending: Promise<void>[] = [];
  for (const [i, input] of inputs.entries()) {
    // Reading and importing the keys takes this thread: it gives way as the batch's own loops do.
    if (i % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
    pending.push(preverifyCsr(input));
  }
  await Promise.all(pending);
}

async function preverifyCsr(input: string | Uint8Array): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = readDerOrPem(input, csrLabels, 'CSR', 'badCsr');
  } catch {
    return;
  }
  const lean = parsed.has(bytes) ? undefined : readCsrLean(bytes);
  if (!lean) return;
  let valid: boolean;
  try {
    valid = await verifySignatureInPool(lean.tbs, lean.signature, lean.signatureAlgorithm, lean.spki);
  } catch {
    return;
  }
  if (!valid) return;
  try {
    parsed.get(bytes, () => checkCsr(bytes, lean, true));
  } catch {
    // Refused by the other checks (version, algorithm): parseCsr refuses it again, and says why.
  }
}

/** The fields of a CSR the checks read, from pkijs or from the lean reader. */
interface CsrFields {
  version: number;
  signatureAlgorithm: pkijs.AlgorithmIdentifier;
  /** DER of the SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** The signed CertificationRequestInfo. */
  tbs: Uint8Array;
  signature: Uint8Array;
  subject: () => DnAttribute[];
  altNames: () => { type: number; value: unknown }[];
}

/** Parses and verifies: the lean reader's fields when it reads the CSR and they pass, otherwise pkijs's verdict. */
function parseCsrDer(bytes: Uint8Array): ParsedCsr {
  const lean = readCsrLean(bytes);
  if (lean) {
    try {
      return checkCsr(bytes, lean);
    } catch {
      // Refused on what the lean reader read: pkijs reads it again and its refusal is the one reported.
    }
  }
  return parseCsrGeneral(bytes);
}

/** The same with pkijs reading the CSR (exported for the comparison tests). */
export function parseCsrGeneral(bytes: Uint8Array): ParsedCsr {
  const csr = decodePkijs((schema) => new pkijs.CertificationRequest({ schema }), bytes, 'CSR', 'badCsr');
  return checkCsr(bytes, {
    version: csr.version,
    signatureAlgorithm: csr.signatureAlgorithm,
    spki: der(csr.subjectPublicKeyInfo),
    tbs: csr.tbsView,
    signature: csr.signatureValue.valueBlock.valueHexView,
    subject: () => parseName(der(csr.subject), 'badCsr'),
    altNames: () => requestedAltNames(csr),
  });
}

/** Signature algorithms as pkijs reads them, once per distinct DER (a handful in practice). */
const algorithmMemo = new BytesMemo<pkijs.AlgorithmIdentifier>(32, 'CSR algorithms');

/**
 * A CSR read directly (ca/asn1/der-view.ts) when it is plainly what token tools write: strict DER
 * throughout, version 0, a plain subject Name and key, no attributes, a signature BIT STRING
 * without unused bits. Anything else (extensionRequest attributes included) is left to pkijs.
 */
export function readCsrLean(bytes: Uint8Array): CsrFields | undefined {
  const outer = readWhole(bytes, 0x30);
  const parts = outer && childrenOf(bytes, outer);
  if (parts?.length !== 3 || !outer || !wellFormedDer(bytes, outer)) return undefined;
  const [info, algorithm, signature] = parts;
  const fields = info.tag === 0x30 ? childrenOf(bytes, info) : undefined;
  if (fields?.length !== 4 || algorithm.tag !== 0x30 || signature.tag !== 0x03 || signature.end === signature.content || bytes[signature.content] !== 0) return undefined;
  const [version, subject, spki, attributes] = fields;
  if (version.tag !== 0x02 || version.end - version.content !== 1 || bytes[version.content] !== 0) return undefined;
  if (attributes.tag !== 0xa0 || attributes.end !== attributes.content) return undefined;
  const subjectAttributes = subject.tag === 0x30 ? parseNameLean(tlvBytes(bytes, subject)) : undefined;
  if (!subjectAttributes || !plainKeyInfo(bytes, spki)) return undefined;
  const algorithmDer = tlvBytes(bytes, algorithm);
  let signatureAlgorithm: pkijs.AlgorithmIdentifier;
  try {
    signatureAlgorithm = algorithmMemo.get(algorithmDer, () => new pkijs.AlgorithmIdentifier({ schema: decodeDer(algorithmDer, 'CSR signature algorithm', 'badCsr') }));
  } catch {
    return undefined;
  }
  return {
    version: 0,
    signatureAlgorithm,
    spki: tlvBytes(bytes, spki).slice(),
    tbs: tlvBytes(bytes, info),
    signature: bytes.subarray(signature.content + 1, signature.end),
    subject: () => subjectAttributes,
    altNames: () => [],
  };
}

/** `verified`: the signature's verdict when the thread pool already gave it (preverifyCsrs), else it is verified here. */
function checkCsr(bytes: Uint8Array, csr: CsrFields, verified?: true): ParsedCsr {
  if (csr.version !== 0) throw new CaError('badCsr', `CSR version ${csr.version + 1} is unknown (RFC 2986 defines version 1 only)`);
  const algorithm = readSignatureAlgorithm(csr.signatureAlgorithm);
  if (!algorithm.supported) throw new CaError('badCsr', `CSR is signed with an unsupported algorithm (${algorithm.name})`);
  if (algorithm.hash === 'SHA-1') throw new CaError('badCsr', `CSR is signed with SHA-1 (${algorithm.name}); sign it with SHA-256 or stronger`);
  const spki = csr.spki;
  let valid: boolean;
  try {
    valid = verified ?? verifySignature(csr.tbs, csr.signature, csr.signatureAlgorithm, spki);
  } catch (error) {
    throw new CaError('badCsr', `CSR signature cannot be checked: ${(error as Error).message}`, { cause: error });
  }
  if (!valid) throw new CaError('badCsr', 'CSR signature does not verify with its public key (damaged or altered request)');
  const altNames = csr.altNames();
  return {
    der: bytes,
    subject: csr.subject(),
    spki,
    signatureAlgorithm: algorithm.name,
    requestedEmails: altNames.filter((n) => n.type === 1).map((n) => String(n.value)),
    requestedDnsNames: altNames.filter((n) => n.type === 2).map((n) => String(n.value)),
    requestedOtherNames: altNames
      .filter((n) => n.type !== 1 && n.type !== 2)
      .map((n) => `${generalNameTypes[n.type] ?? `[${n.type}]`}${n.value instanceof asn1js.OctetString ? ` ${Buffer.from(n.value.valueBlock.valueHexView).toString('hex')}` : typeof n.value === 'string' ? ` ${n.value}` : ''}`),
  };
}
