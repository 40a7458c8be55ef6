/**
 * A lean, strict DER reader for the issuance hot path (the linter's TBSCertificate, names, CSRs):
 * positions into the given bytes, no objects per node, no copies. It reads only what is plainly
 * DER (X.690 §10: one-byte tags, definite minimal lengths) and answers `undefined` for anything
 * else, so every caller falls back to the general ASN.1 library (asn1js/pkijs) and its precise
 * errors; it never throws on input. The same pattern as src/validation/cert-der.ts.
 */

/** One TLV: its tag byte and where its header and content lie in the bytes. */
export interface DerNode {
  tag: number;
  /** First byte of the TLV. */
  start: number;
  /** First content byte. */
  content: number;
  /** One past the last content byte. */
  end: number;
}

/** The TLV at `at`, ending at or before `limit`; undefined unless one-byte tag, definite minimal length. */
export function readNode(bytes: Uint8Array, at: number, limit: number = bytes.byteLength): DerNode | undefined {
  if (at + 2 > limit) return undefined;
  const tag = bytes[at];
  if ((tag & 0x1f) === 0x1f) return undefined; // multi-byte tag numbers
  const first = bytes[at + 1];
  let length: number;
  let content: number;
  if (first < 0x80) {
    length = first;
    content = at + 2;
  } else {
    const count = first & 0x7f;
    // 0x80 is the indefinite form (BER only); more than 3 length octets is far beyond anything read here.
    if (count === 0 || count > 3 || at + 2 + count > limit) return undefined;
    if (bytes[at + 2] === 0) return undefined; // not minimal
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[at + 2 + i];
    if (length < 0x80) return undefined; // not minimal
    content = at + 2 + count;
  }
  const end = content + length;
  if (end > limit) return undefined;
  return { tag, start: at, content, end };
}

/** The single TLV spanning all of `bytes`, with the given tag. */
export function readWhole(bytes: Uint8Array, tag: number): DerNode | undefined {
  const node = readNode(bytes, 0);
  return node && node.tag === tag && node.end === bytes.byteLength ? node : undefined;
}

/** The children of a constructed node, which must exactly fill its content. */
export function childrenOf(bytes: Uint8Array, node: DerNode): DerNode[] | undefined {
  if ((node.tag & 0x20) === 0) return undefined;
  const children: DerNode[] = [];
  for (let at = node.content; at < node.end; ) {
    const child = readNode(bytes, at, node.end);
    if (!child) return undefined;
    children.push(child);
    at = child.end;
  }
  return children;
}

/** A view of the node's whole TLV. */
export const tlvBytes = (bytes: Uint8Array, node: DerNode): Uint8Array => bytes.subarray(node.start, node.end);
/** A view of the node's content octets. */
export const contentBytes = (bytes: Uint8Array, node: DerNode): Uint8Array => bytes.subarray(node.content, node.end);

/**
 * Dotted form of an OBJECT IDENTIFIER's content, as asn1js's getValue() gives it; undefined for
 * non-minimal sub-identifiers, a truncated last one, or arcs that need more than 32 bits (asn1js
 * and our own oidToString differ there: the general path decides).
 */
export function readOid(bytes: Uint8Array, node: DerNode): string | undefined {
  if (node.tag !== 0x06 || node.end === node.content) return undefined;
  const arcs: number[] = [];
  let value = 0;
  let fresh = true;
  for (let i = node.content; i < node.end; i++) {
    const byte = bytes[i];
    if (fresh && byte === 0x80) return undefined; // leading 0x80: not minimal
    value = value * 128 + (byte & 0x7f);
    if (value > 0xffffffff) return undefined;
    fresh = (byte & 0x80) === 0;
    if (fresh) {
      arcs.push(value);
      value = 0;
    }
  }
  if (!fresh) return undefined;
  const first = arcs[0];
  const head = first < 40 ? `0.${first}` : first < 80 ? `1.${first - 40}` : `2.${first - 80}`;
  return arcs.length === 1 ? head : `${head}.${arcs.slice(1).join('.')}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Well-formed UTF-8 content as a string; undefined otherwise. */
export function readUtf8(bytes: Uint8Array, node: DerNode): string | undefined {
  try {
    return utf8.decode(contentBytes(bytes, node));
  } catch {
    return undefined;
  }
}

/** Content of 7-bit bytes only (PrintableString, IA5String as issued) as a string; undefined otherwise. */
export function readAscii(bytes: Uint8Array, node: DerNode): string | undefined {
  for (let i = node.content; i < node.end; i++) if (bytes[i] > 0x7f) return undefined;
  return Buffer.from(bytes.buffer, bytes.byteOffset + node.content, node.end - node.content).toString('latin1');
}

/** SEQUENCE { SEQUENCE { OID, parameters? }, BIT STRING }, as pkijs's PublicKeyInfo schema wants it. */
export function plainKeyInfo(bytes: Uint8Array, node: DerNode): boolean {
  const parts = node.tag === 0x30 ? childrenOf(bytes, node) : undefined;
  // A key's BIT STRING has no unused bits.
  if (parts?.length !== 2 || parts[0].tag !== 0x30 || parts[1].tag !== 0x03 || parts[1].end === parts[1].content || bytes[parts[1].content] !== 0) return false;
  const algorithm = childrenOf(bytes, parts[0]);
  if (!algorithm || algorithm.length < 1 || algorithm.length > 2 || readOid(bytes, algorithm[0]) === undefined) return false;
  // Parameters as keys carry them: a named curve's OID, or NULL (RSA).
  const parameters = algorithm[1];
  return !parameters || (parameters.tag === 0x06 && readOid(bytes, parameters) !== undefined) || (parameters.tag === 0x05 && parameters.end === parameters.content);
}

/** Every constructed node inside, to any depth, is strict DER too (the ASN.1 library decodes them all). */
export function wellFormedDer(bytes: Uint8Array, node: DerNode, depth = 0): boolean {
  if ((node.tag & 0x20) === 0) return true;
  const children = depth < 16 ? childrenOf(bytes, node) : undefined;
  return !!children && children.every((child) => wellFormedDer(bytes, child, depth + 1));
}
