/**
 * Canonicalisation and the reference transforms, by xml-crypto's canonicalizers (C14N 1.0 and
 * exclusive C14N, with and without comments, and its enveloped-signature transform). Nothing is
 * canonicalised by hand; what stays under our control is which node goes in (resolved by the
 * caller, never by the library's Id lookup), on a clone, so no transform changes the document.
 *
 * C14N 1.1 (W3C 2008) differs from 1.0 only in how xml:* attributes of ancestors outside the
 * node-set are inherited (xml:id not at all, xml:base fixed up). The library's 1.0 canonicalizer
 * imports no ancestor xml:* attribute, so it is used for 1.0 and 1.1 only where no ancestor of
 * the canonicalised element carries one (where both versions give the same octets); otherwise
 * the transform is refused as unsupported.
 */
import type { Element, Node } from '@xmldom/xmldom';
import { C14nCanonicalization, C14nCanonicalizationWithComments, ExclusiveCanonicalization, ExclusiveCanonicalizationWithComments } from 'xml-crypto';
import { EnvelopedSignature } from 'xml-crypto/lib/enveloped-signature.js';
import { findAncestorNsForElement } from 'xml-crypto/lib/utils.js';
import { isElement } from './xml-document.js';

export const C14N = {
  c14n10: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  c14n10Comments: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments',
  c14n11: 'http://www.w3.org/2006/12/xml-c14n11',
  c14n11Comments: 'http://www.w3.org/2006/12/xml-c14n11#WithComments',
  exc: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  excComments: 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments',
} as const;
export const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

const NAMES: Record<string, string> = {
  [C14N.c14n10]: 'C14N 1.0',
  [C14N.c14n10Comments]: 'C14N 1.0 with comments',
  [C14N.c14n11]: 'C14N 1.1',
  [C14N.c14n11Comments]: 'C14N 1.1 with comments',
  [C14N.exc]: 'exclusive C14N',
  [C14N.excComments]: 'exclusive C14N with comments',
  [ENVELOPED]: 'enveloped signature',
};

export const isCanonicalization = (uri: string): boolean => uri in NAMES && uri !== ENVELOPED;
export const transformName = (uri: string): string => NAMES[uri] ?? uri;

export class UnsupportedTransform extends Error {}

/** xml-crypto is typed against the DOM lib's nodes; @xmldom/xmldom's are the same objects at run time. */
type LibNode = Parameters<C14nCanonicalization['process']>[0];
type LibElement = Parameters<typeof findAncestorNsForElement>[0];
const asLibNode = (n: Node): LibNode => n as unknown as LibNode;

/** A prefix that is never an NCName: stops xml-crypto looking for an InclusiveNamespaces list in the input itself. */
const NO_PREFIXES = ['#none'];

export interface CanonOptions {
  /** exclusive C14N's InclusiveNamespaces PrefixList. */
  prefixes?: string[];
  /** The ds:Signature to leave out (the enveloped-signature transform). */
  enveloped?: Element | null;
  /** Same-document references other than XPointer drop comments (XMLDSig §4.4.3.3). */
  discardComments: boolean;
  /** Elements carrying xml:* attributes (from the parse). */
  xmlAttributeCarriers: Set<Element>;
}

function inheritsXmlAttributes(el: Node, carriers: Set<Element>): boolean {
  for (let n = el.parentNode; isElement(n); n = n.parentNode) if (carriers.has(n)) return true;
  return false;
}

/** The canonical octets (as a string) of `node` under `algorithm`, after the optional enveloped-signature removal. */
export function canonicalize(node: Element, algorithm: string, options: CanonOptions): string {
  const exclusive = algorithm === C14N.exc || algorithm === C14N.excComments;
  const inclusive = algorithm === C14N.c14n10 || algorithm === C14N.c14n10Comments || algorithm === C14N.c14n11 || algorithm === C14N.c14n11Comments;
  if (!exclusive && !inclusive) throw new UnsupportedTransform(`canonicalisation ${algorithm} is not supported`);
  if (inclusive && inheritsXmlAttributes(node, options.xmlAttributeCarriers)) {
    throw new UnsupportedTransform(`inclusive ${transformName(algorithm)} of an element whose ancestors carry xml:* attributes is not supported`);
  }
  const withComments = algorithm.endsWith('#WithComments') && !options.discardComments;
  const ancestorNamespaces = findAncestorNsForElement(node as unknown as LibElement);
  const clone = node.cloneNode(true) as Element;
  if (options.enveloped && options.enveloped !== node) {
    // The same signature in the clone, by its position under `node`.
    const path: number[] = [];
    let n: Node | null = options.enveloped;
    while (n && n !== node && n.parentNode) {
      path.unshift(Array.prototype.indexOf.call(n.parentNode.childNodes, n));
      n = n.parentNode;
    }
    if (n === node) {
      const target = path.reduce<Node>((at, index) => at.childNodes[index], clone);
      new EnvelopedSignature().process(asLibNode(clone), { signatureNode: asLibNode(target) });
    }
  }
  if (!withComments) {
    const comments: Node[] = [];
    const stack: Node[] = [clone];
    while (stack.length) {
      const at = stack.pop()!;
      for (let c = at.firstChild; c; c = c.nextSibling) {
        if (c.nodeType === 8) comments.push(c);
        else if (isElement(c)) stack.push(c);
      }
    }
    for (const c of comments) c.parentNode?.removeChild(c);
  }
  const canonicalizer = exclusive
    ? withComments
      ? new ExclusiveCanonicalizationWithComments()
      : new ExclusiveCanonicalization()
    : withComments
      ? new C14nCanonicalizationWithComments()
      : new C14nCanonicalization();
  const prefixes = exclusive ? (options.prefixes?.length ? options.prefixes : NO_PREFIXES) : undefined;
  return canonicalizer.process(clone as unknown as LibElement, { ancestorNamespaces, inclusiveNamespacesPrefixList: prefixes });
}
