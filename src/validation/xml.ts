/**
 * Signed XML in the validation service: every ds:Signature of the document, each with its own
 * report (chain, revocation, time and policy are the CMS ones, through the validator's `finish`).
 * Document-level rules come first: a duplicate Id anywhere, or (e-invoice profile) a signature
 * not covering exactly what its role requires, is FORMAT_FAILURE whatever the cryptography says.
 */
import { createHash } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import { AppError } from '../errors/app-error.js';
import type { Cert } from './cert.js';
import type { SignerCheck } from './cms.js';
import { failed } from './indications.js';
import type { SignatureReport, SignedContent } from './report.js';
import { verifyXmlSignature, type XmlCheck } from './xml-dsig.js';
import { invoiceProblems, invoiceRole, isInvoice } from './xml-einvoice.js';
import { isElement, parseXml, pathOf, XmlFormatError, type ParsedXml } from './xml-document.js';
import type { XmlSignatureInfo } from './xml-report.js';
import { DS } from './xml-xades.js';

export type XmlFormat = 'XMLDSig' | 'XAdES-BES' | 'XAdES-EPES' | 'XAdES-T';

export type FinishXml = (check: SignerCheck, id: string, format: XmlFormat, certificates: Cert[], signedContent: SignedContent) => Promise<SignatureReport>;

/** Does this look like XML (a document sent without `kind`)? */
export function looksLikeXml(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 256)).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  return head.startsWith('<?xml') || /^<[A-Za-z_]/.test(head);
}

function signaturesOf(parsed: ParsedXml): Element[] {
  const found: Element[] = [];
  const stack: Element[] = [parsed.root];
  while (stack.length) {
    const el = stack.pop()!;
    if (el.namespaceURI === DS && el.localName === 'Signature') found.push(el);
    for (let c = el.lastChild; c; c = c.previousSibling) if (isElement(c)) stack.push(c);
  }
  // A signature inside another one (in its ds:Object) is validated too; document order.
  return found;
}

function formatOf(x: XmlCheck): XmlFormat {
  if (!x.xades) return 'XMLDSig';
  if (x.xades.timestamps.length) return 'XAdES-T';
  return x.xades.policy ? 'XAdES-EPES' : 'XAdES-BES';
}

/** A structural failure outranks what the cryptography found: the signature covers the wrong thing. */
function formatFailure(check: SignerCheck, problems: string[]): void {
  if (!problems.length) return;
  check.errors.unshift(...problems);
  check.verdict = failed('FORMAT_FAILURE');
}

function info(parsed: ParsedXml, signature: Element, x: XmlCheck, role: XmlSignatureInfo['role']): XmlSignatureInfo {
  const xades = x.xades;
  return {
    id: signature.getAttribute('Id') || null,
    path: pathOf(signature),
    profile: isInvoice(parsed) ? 'e-invoice' : 'xmldsig',
    role,
    canonicalization: x.canonicalization,
    signatureMethod: x.signatureMethod,
    references: x.references,
    xades: xades
      ? {
          signedProperties: xades.signedProperties?.getAttribute('Id') || null,
          signingTime: xades.signingTime?.toISOString() ?? null,
          signingCertificate: x.check.signedAttributes.signingCertificate,
          policy: xades.policy,
          signatureTimestamps: xades.timestamps.length,
        }
      : null,
  };
}

export interface XmlValidation {
  document: Uint8Array;
  requestCerts: Cert[];
  maxSignatures: number;
  pause: () => Promise<void>;
  finish: FinishXml;
  warnings: string[];
}

/** Validates every signature of an XML document; unreadable or unsafe XML is a 400. */
export async function validateXml(v: XmlValidation): Promise<SignatureReport[]> {
  let parsed: ParsedXml;
  try {
    parsed = parseXml(v.document);
  } catch (err) {
    if (err instanceof XmlFormatError) throw new AppError('badSignatureInput', `document: ${err.message}`);
    throw err;
  }
  const signatures = signaturesOf(parsed);
  if (signatures.length > v.maxSignatures) throw new AppError('badSignatureInput', `the document has ${signatures.length} signatures; at most ${v.maxSignatures} are validated`);
  if (!signatures.length) v.warnings.push('the XML document holds no ds:Signature');
  const duplicates = parsed.duplicateIds.length ? [`the Id${parsed.duplicateIds.length > 1 ? 's' : ''} ${parsed.duplicateIds.slice(0, 5).map((d) => `"${d.slice(0, 60)}"`).join(', ')} occur${parsed.duplicateIds.length > 1 ? '' : 's'} more than once in the document: what a reference covers is ambiguous (signature wrapping)`] : [];
  const signedContent: SignedContent = { source: 'xml-references', length: v.document.byteLength, sha256: createHash('sha256').update(v.document).digest('hex'), byteRange: null };
  const reports: SignatureReport[] = [];
  for (const [i, signature] of signatures.entries()) {
    await v.pause(); // parsing and each signature's canonicalisation are synchronous: yield between them
    const x = verifyXmlSignature(parsed, signature, i, v.requestCerts);
    const role = isInvoice(parsed) ? invoiceRole(parsed, signature) : null;
    const profile = isInvoice(parsed) ? invoiceProblems(parsed, signature, role, x.covered, x.references.map((r) => r.covers?.path ?? '')) : [];
    formatFailure(x.check, [...duplicates, ...profile]);
    const report = await v.finish(x.check, `S${i + 1}`, formatOf(x), x.certificates, signedContent);
    report.xml = info(parsed, signature, x, role);
    reports.push(report);
  }
  return reports;
}
