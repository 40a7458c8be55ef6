/**
 * Reading signed XML safely. Before any parser sees the bytes, one linear scan refuses what XML
 * attacks need: a document type declaration (internal subsets, entity declarations, so no entity
 * expansion and no external entity), nesting deeper than the limit (a 200,000-deep document
 * would overflow recursive code and hold the event loop), too many elements, a size over the
 * limit. Only then @xmldom/xmldom parses, with every error fatal. The Id index is built here
 * too: Id values that occur more than once make every reference ambiguous (signature wrapping).
 */
import { DOMParser, type Document, type Element, type Node } from '@xmldom/xmldom';

export class XmlFormatError extends Error {}

export interface XmlLimits {
  maxBytes: number;
  maxDepth: number;
  maxElements: number;
  /** Attributes (namespace declarations included) per element and in the whole document. */
  maxAttributesPerElement: number;
  maxAttributes: number;
}

/**
 * The parser and the canonicalizer are synchronous (50-120 µs per element on a loaded machine):
 * these bounds keep each step to a few tenths of a second of event-loop time. An e-invoice has a
 * few hundred elements.
 */
export const XML_LIMITS: XmlLimits = { maxBytes: 4 * 1024 * 1024, maxDepth: 100, maxElements: 5_000, maxAttributesPerElement: 64, maxAttributes: 10_000 };

const LT = 0x3c;
const GT = 0x3e;


/** Does `text` (ASCII) start at `at`? A comparison in place: searching forward would make the scan quadratic. */
function startsAt(bytes: Uint8Array, at: number, text: string): boolean {
  if (at + text.length > bytes.length) return false;
  for (let k = 0; k < text.length; k++) if (bytes[at + k] !== text.charCodeAt(k)) return false;
  return true;
}

/** The end of a start or end tag at `from` (the `<`), quotes respected, and its attribute count; end -1 when unterminated. */
function tagEnd(bytes: Uint8Array, from: number): { end: number; attributes: number } {
  let quote = 0;
  let attributes = 0;
  for (let i = from + 1; i < bytes.length; i++) {
    const c = bytes[i];
    if (quote) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) quote = c;
    else if (c === 0x3d) attributes++;
    else if (c === GT) return { end: i, attributes };
  }
  return { end: -1, attributes };
}

/**
 * The pre-parse scan: linear in the input, no recursion, no allocation per element. It is not a
 * parser (the parser decides well-formedness); it only counts nesting and finds declarations.
 */
export function screenXml(bytes: Uint8Array, limits: XmlLimits = XML_LIMITS): void {
  if (bytes.byteLength > limits.maxBytes) throw new XmlFormatError(`the XML document is ${bytes.byteLength} bytes; at most ${limits.maxBytes} are accepted`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const indexOf = (needle: string, from: number): number => buf.indexOf(needle, from, 'latin1');
  let depth = 0;
  let nodes = 0;
  const count = () => {
    if (++nodes > limits.maxElements) throw new XmlFormatError(`the document has more than ${limits.maxElements} elements, comments, CDATA sections and processing instructions`);
  };
  let attributes = 0;
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] !== LT) {
      i++;
      continue;
    }
    const next = bytes[i + 1];
    if (next === 0x3f) {
      // <? ... ?>: the XML declaration or a processing instruction.
      const end = indexOf('?>', i + 2);
      if (end < 0) throw new XmlFormatError('an unterminated processing instruction');
      count();
      i = end + 2;
    } else if (next === 0x21) {
      if (startsAt(bytes, i, '<!--')) {
        const end = indexOf('-->', i + 4);
        if (end < 0) throw new XmlFormatError('an unterminated comment');
        count();
        i = end + 3;
      } else if (startsAt(bytes, i, '<![CDATA[')) {
        const end = indexOf(']]>', i + 9);
        if (end < 0) throw new XmlFormatError('an unterminated CDATA section');
        count();
        i = end + 3;
      } else {
        const word = Buffer.from(bytes.subarray(i, Math.min(bytes.length, i + 10))).toString('latin1');
        if (/^<!DOCTYPE/i.test(word)) throw new XmlFormatError('a document type declaration (DTD) is refused: no DTDs, no entity declarations, no external entities');
        if (/^<!ENTITY/i.test(word)) throw new XmlFormatError('an entity declaration is refused: no entity expansion');
        throw new XmlFormatError(`a markup declaration (${word.replace(/[^\x20-\x7e]/g, '?')}...) is refused`);
      }
    } else {
      const { end, attributes: tagAttributes } = tagEnd(bytes, i);
      if (end < 0) throw new XmlFormatError('an unterminated tag');
      if (tagAttributes > limits.maxAttributesPerElement) throw new XmlFormatError(`an element has more than ${limits.maxAttributesPerElement} attributes`);
      if ((attributes += tagAttributes) > limits.maxAttributes) throw new XmlFormatError(`the document has more than ${limits.maxAttributes} attributes`);
      if (next === 0x2f) depth--;
      else {
        if (bytes[end - 1] !== 0x2f && ++depth > limits.maxDepth) throw new XmlFormatError(`elements are nested more than ${limits.maxDepth} deep`);
        count();
      }
      i = end + 1;
    }
  }
}

/** The attribute names that carry an element's identifier (what `URI="#..."` points at). */
export const ID_ATTRIBUTES = new Set(['Id', 'ID', 'id']);
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

export interface ParsedXml {
  doc: Document;
  root: Element;
  /** Every element carrying an Id, by value; more than one entry means the Id is ambiguous. */
  ids: Map<string, Element[]>;
  duplicateIds: string[];
  /** Elements that carry an xml:* attribute (inclusive C14N of their descendants is refused). */
  xmlAttributeCarriers: Set<Element>;
}

export const isElement = (n: Node | null | undefined): n is Element => !!n && n.nodeType === 1;

/** Parses screened bytes; any parser error or warning is a XmlFormatError. */
export function parseXml(bytes: Uint8Array, limits: XmlLimits = XML_LIMITS): ParsedXml {
  screenXml(bytes, limits);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new XmlFormatError('the XML document is not UTF-8 (the only encoding accepted)');
  }
  const decl = /^\uFEFF?<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']/.exec(text);
  if (decl && !/^utf-?8$/i.test(decl[1])) throw new XmlFormatError(`the XML declaration names the encoding ${decl[1]}; only UTF-8 is accepted`);
  const problems: string[] = [];
  const parser = new DOMParser({
    onError: (level, message) => {
      problems.push(`${level}: ${message}`);
      if (level !== 'warning') throw new XmlFormatError(`not well-formed XML (${message.split('\n')[0]})`);
    },
  });
  let doc: Document;
  try {
    doc = parser.parseFromString(text.replace(/^\uFEFF/, ''), 'application/xml');
  } catch (err) {
    if (err instanceof XmlFormatError) throw err;
    throw new XmlFormatError(`not well-formed XML (${(err as Error).message.split('\n')[0]})`);
  }
  if (problems.length) throw new XmlFormatError(`not well-formed XML (${problems[0].split('\n')[0]})`);
  const root = doc.documentElement;
  if (!root) throw new XmlFormatError('the XML document has no root element');
  const ids = new Map<string, Element[]>();
  const xmlAttributeCarriers = new Set<Element>();
  // Iterative walk: the depth is bounded by the scan, but no recursion is needed at all.
  const stack: Element[] = [root];
  while (stack.length) {
    const el = stack.pop()!;
    for (let a = 0; a < el.attributes.length; a++) {
      const attr = el.attributes[a];
      if (ID_ATTRIBUTES.has(attr.localName ?? attr.name)) ids.set(attr.value, [...(ids.get(attr.value) ?? []), el]);
      if (attr.namespaceURI === XML_NS) xmlAttributeCarriers.add(el);
    }
    for (let c = el.lastChild; c; c = c.previousSibling) if (isElement(c)) stack.push(c);
  }
  const duplicateIds = [...ids.entries()].filter(([, els]) => els.length > 1).map(([id]) => id);
  return { doc, root, ids, duplicateIds, xmlAttributeCarriers };
}

/** The element's path, e.g. `/HDon[1]/DSCKS[1]/NBan[1]` (qualified names, 1-based positions among same-named siblings). */
export function pathOf(el: Element): string {
  const parts: string[] = [];
  for (let n: Node | null = el; isElement(n); n = n.parentNode) {
    let index = 1;
    for (let s = n.previousSibling; s; s = s.previousSibling) if (isElement(s) && s.nodeName === n.nodeName) index++;
    parts.unshift(`${n.nodeName}[${index}]`);
  }
  return `/${parts.join('/')}`;
}

/** Child elements with this namespace and local name. */
export function children(el: Element, ns: string, local: string): Element[] {
  const out: Element[] = [];
  for (let c = el.firstChild; c; c = c.nextSibling) if (isElement(c) && c.namespaceURI === ns && c.localName === local) out.push(c);
  return out;
}

export const child = (el: Element, ns: string, local: string): Element | null => children(el, ns, local)[0] ?? null;

/** The element's text, whitespace kept. */
export const textOf = (el: Element | null): string => el?.textContent ?? '';

/** Is `el` inside (or equal to) `ancestor`? */
export function within(el: Node, ancestor: Node): boolean {
  for (let n: Node | null = el; n; n = n.parentNode) if (n === ancestor) return true;
  return false;
}
