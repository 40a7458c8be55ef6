/**
 * The Vietnamese e-invoice profile (hóa đơn điện tử, Decree 123/2020/NĐ-CP, Circular
 * 78/2021/TT-BTC; XML after the General Department of Taxation's schema): root HDon, the invoice
 * data DLHDon (with the Id the seller's signature references), the tax-authority code MCCQT, and
 * the signatures under DSCKS: NBan (seller), NMua (buyer), CQT (tax authority), CCKSKhac (others).
 *
 * What an application reads is /HDon/DLHDon (and /HDon/MCCQT), so a signature is reported as
 * covering the invoice only when its reference resolves to exactly those elements: a signed
 * DLHDon moved elsewhere with a forged one in its place (signature wrapping), a second DLHDon, or
 * a reference to anything else gives FORMAT_FAILURE.
 */
import type { Element } from '@xmldom/xmldom';
import { isElement, pathOf, within, type ParsedXml } from './xml-document.js';
import type { XmlSignatureInfo } from './xml-report.js';

export type InvoiceRole = NonNullable<XmlSignatureInfo['role']>;

const ROLES: Record<string, InvoiceRole> = { NBan: 'seller', NMua: 'buyer', CQT: 'tax-authority', CCKSKhac: 'other' };

export const isInvoice = (parsed: ParsedXml): boolean => parsed.root.localName === 'HDon';

function childrenNamed(el: Element, local: string): Element[] {
  const out: Element[] = [];
  for (let c = el.firstChild; c; c = c.nextSibling) if (isElement(c) && c.localName === local) out.push(c);
  return out;
}

function countNamed(parsed: ParsedXml, local: string): number {
  let n = 0;
  const stack: Element[] = [parsed.root];
  while (stack.length) {
    const el = stack.pop()!;
    if (el.localName === local) n++;
    for (let c = el.firstChild; c; c = c.nextSibling) if (isElement(c)) stack.push(c);
  }
  return n;
}

/** The signer's role from where the signature sits: HDon/DSCKS/{NBan,NMua,CQT,CCKSKhac}/Signature. */
export function invoiceRole(parsed: ParsedXml, signature: Element): InvoiceRole | null {
  const holder = signature.parentNode;
  const dscks = holder?.parentNode;
  if (!isElement(holder) || !isElement(dscks) || dscks.localName !== 'DSCKS' || dscks.parentNode !== parsed.root) return null;
  return ROLES[holder.localName ?? ''] ?? null;
}

/**
 * Why the signature does not cover what its role requires (empty when it does). `covered` holds
 * the element each reference resolved to (null for the whole document or an unresolved one).
 */
export function invoiceProblems(parsed: ParsedXml, signature: Element, role: InvoiceRole | null, covered: Array<Element | null>, paths: string[]): string[] {
  const problems: string[] = [];
  const data = childrenNamed(parsed.root, 'DLHDon');
  if (data.length !== 1 || countNamed(parsed, 'DLHDon') !== 1) problems.push('an e-invoice holds exactly one DLHDon, a child of HDon');
  const code = childrenNamed(parsed.root, 'MCCQT');
  if (countNamed(parsed, 'MCCQT') > 1 || (countNamed(parsed, 'MCCQT') === 1 && code.length !== 1)) problems.push('an e-invoice holds at most one MCCQT, a child of HDon');
  if (!role) {
    problems.push(`a signature of an e-invoice sits under HDon/DSCKS/NBan, NMua, CQT or CCKSKhac; this one is at ${pathOf(signature)}`);
    return problems;
  }
  if (problems.length) return problems;
  const allowed = new Set<Element>([data[0], ...(role === 'tax-authority' ? code : [])]);
  covered.forEach((node, i) => {
    if (node && within(node, signature)) return; // the signature's own properties (SignedProperties, SignatureProperties)
    if (!node || !allowed.has(node)) problems.push(`the ${role}'s signature references ${paths[i] || 'an unresolved element'}; an e-invoice ${role} signs ${role === 'tax-authority' ? 'DLHDon or MCCQT' : 'DLHDon'} only`);
  });
  const required = role === 'tax-authority' && code.length ? code[0] : role === 'other' ? null : data[0];
  if (required && !covered.includes(required)) problems.push(`the ${role}'s signature does not cover ${pathOf(required)}${required.getAttribute('Id') ? ` (Id ${required.getAttribute('Id')})` : ''}`);
  return problems;
}
