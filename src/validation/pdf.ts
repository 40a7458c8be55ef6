/**
 * A bounded reader of PDF signature dictionaries (ISO 32000-1 §12.8, ETSI EN 319 142-1): finds
 * every /ByteRange, parses the dictionary around it with a small tokenizer (no content streams,
 * no object streams: signature dictionaries must stay uncompressed so /Contents can be patched
 * in), checks that the ByteRange excludes exactly the /Contents hex string, and tells which
 * revision (incremental update, §7.5.6) each signature covers. Every scan is bounded; malformed
 * input raises PdfFormatError or yields a signature with a `problem`, never a crash.
 */
import type { PdfSignatureInfo } from './report.js';

export class PdfFormatError extends Error {}

export interface PdfSignature {
  byteRange: [number, number, number, number];
  contents: Uint8Array;
  info: PdfSignatureInfo;
  claimedTime: Date | null;
  /** Why the signature cannot be checked (FORMAT_FAILURE), or null. */
  problem: string | null;
  warnings: string[];
  /** A document time-stamp (/Type /DocTimeStamp, ETSI.RFC3161), not a signature. */
  documentTimestamp: boolean;
  dict: Map<string, PdfValue>; // the signature dictionary (DocMDP/FieldMDP references)
}

const MAX_DICT_BYTES = 4 * 1024 * 1024;
const MAX_BYTERANGES = 500;

export type PdfValue = string | number | boolean | null | { name: string } | { ref: [number, number] } | { bytes: Uint8Array } | PdfValue[] | { dict: Map<string, PdfValue> };

const isWhite = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0c || c === 0x00;
const isDelim = (c: number) => c === 0x28 || c === 0x29 || c === 0x3c || c === 0x3e || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d || c === 0x2f || c === 0x25;

/** A recursive-descent reader of PDF objects (§7.3) over a byte window. */
export class Reader {
  pos: number;
  private depth = 0;
  constructor(
    private readonly buf: Uint8Array,
    start: number,
    private readonly limit: number,
  ) {
    this.pos = start;
  }

  private fail(message: string): never {
    throw new PdfFormatError(`${message} at offset ${this.pos}`);
  }

  skip(): void {
    while (this.pos < this.limit) {
      const c = this.buf[this.pos];
      if (isWhite(c)) this.pos++;
      else if (c === 0x25) {
        while (this.pos < this.limit && this.buf[this.pos] !== 0x0a && this.buf[this.pos] !== 0x0d) this.pos++;
      } else break;
    }
  }

  value(): PdfValue {
    this.skip();
    if (this.pos >= this.limit) this.fail('unexpected end of data');
    if (++this.depth > 64) this.fail('nesting too deep');
    try {
      const c = this.buf[this.pos];
      if (c === 0x3c && this.buf[this.pos + 1] === 0x3c) return this.dict();
      if (c === 0x3c) return { bytes: this.hexString() };
      if (c === 0x28) return { bytes: this.literalString() };
      if (c === 0x2f) return { name: this.name() };
      if (c === 0x5b) {
        this.pos++;
        const items: PdfValue[] = [];
        for (;;) {
          this.skip();
          if (this.pos >= this.limit) this.fail('unterminated array');
          if (this.buf[this.pos] === 0x5d) {
            this.pos++;
            return items;
          }
          if (items.length > 100_000) this.fail('array too long');
          items.push(this.value());
        }
      }
      const word = this.word();
      if (word === 'true' || word === 'false') return word === 'true';
      if (word === 'null') return null;
      if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(word)) {
        // An indirect reference: "12 0 R".
        if (/^\d+$/.test(word)) {
          const save = this.pos;
          this.skip();
          const isDigit = (at: number) => this.buf[at] >= 0x30 && this.buf[at] <= 0x39;
          const gen = this.pos < this.limit && isDigit(this.pos) ? this.word() : '';
          this.skip();
          if (/^\d+$/.test(gen) && this.buf[this.pos] === 0x52 && (this.pos + 1 >= this.limit || isWhite(this.buf[this.pos + 1]) || isDelim(this.buf[this.pos + 1]))) {
            this.pos++;
            return { ref: [Number(word), Number(gen)] };
          }
          this.pos = save;
        }
        return Number(word);
      }
      return this.fail(`unexpected token "${word.slice(0, 20)}"`);
    } finally {
      this.depth--;
    }
  }

  private word(): string {
    const start = this.pos;
    while (this.pos < this.limit && !isWhite(this.buf[this.pos]) && !isDelim(this.buf[this.pos])) this.pos++;
    if (this.pos === start) this.fail('expected a token');
    return Buffer.from(this.buf.subarray(start, this.pos)).toString('latin1');
  }

  private name(): string {
    this.pos++;
    const start = this.pos;
    while (this.pos < this.limit && !isWhite(this.buf[this.pos]) && !isDelim(this.buf[this.pos])) this.pos++;
    // §7.3.5: #xx escapes.
    return Buffer.from(this.buf.subarray(start, this.pos)).toString('latin1').replace(/#([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }

  dict(): PdfValue {
    this.pos += 2;
    const map = new Map<string, PdfValue>();
    for (;;) {
      this.skip();
      if (this.pos >= this.limit) this.fail('unterminated dictionary');
      if (this.buf[this.pos] === 0x3e && this.buf[this.pos + 1] === 0x3e) {
        this.pos += 2;
        return { dict: map };
      }
      if (this.buf[this.pos] !== 0x2f) this.fail('dictionary key is not a name');
      const key = this.name();
      map.set(key, this.value());
      if (map.size > 10_000) this.fail('dictionary too large');
    }
  }

  hexString(): Uint8Array {
    this.pos++;
    const start = this.pos;
    while (this.pos < this.limit && this.buf[this.pos] !== 0x3e) this.pos++;
    if (this.pos >= this.limit) this.fail('unterminated hex string');
    let hex = Buffer.from(this.buf.subarray(start, this.pos)).toString('latin1').replace(/\s+/g, '');
    this.pos++;
    if (!/^[0-9a-fA-F]*$/.test(hex)) this.fail('invalid hex string');
    if (hex.length % 2) hex += '0'; // §7.3.4.3: a missing final digit is 0
    return new Uint8Array(Buffer.from(hex, 'hex'));
  }

  literalString(): Uint8Array {
    this.pos++;
    const out: number[] = [];
    let depth = 1;
    while (this.pos < this.limit) {
      const c = this.buf[this.pos++];
      if (c === 0x5c) {
        const n = this.buf[this.pos++];
        const escapes: Record<number, number> = { 0x6e: 10, 0x72: 13, 0x74: 9, 0x62: 8, 0x66: 12, 0x28: 0x28, 0x29: 0x29, 0x5c: 0x5c };
        if (n in escapes) out.push(escapes[n]);
        else if (n >= 0x30 && n <= 0x37) {
          let octal = n - 0x30;
          for (let k = 0; k < 2 && this.buf[this.pos] >= 0x30 && this.buf[this.pos] <= 0x37; k++) octal = octal * 8 + (this.buf[this.pos++] - 0x30);
          out.push(octal & 0xff);
        } else if (n === 0x0d) {
          if (this.buf[this.pos] === 0x0a) this.pos++;
        } else if (n !== 0x0a) out.push(n);
      } else if (c === 0x28) {
        depth++;
        out.push(c);
      } else if (c === 0x29) {
        if (--depth === 0) return Uint8Array.from(out);
        out.push(c);
      } else out.push(c);
      if (out.length > MAX_DICT_BYTES) this.fail('string too long');
    }
    return this.fail('unterminated literal string');
  }
}

/** §7.9.2.2: text strings are UTF-16BE with a BOM, or PDFDocEncoding (≈ Latin-1 here). */
export function textOf(value: PdfValue | undefined): string | null {
  if (!value || typeof value !== 'object' || !('bytes' in value)) return null;
  const b = value.bytes;
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) {
    const even = Buffer.from(b.subarray(2, 2 + ((b.length - 2) & ~1)));
    return even.swap16().toString('utf16le');
  }
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return Buffer.from(b.subarray(3)).toString('utf8');
  // Some signers (poppler among them) write UTF-8 without the PDF 2.0 BOM: take it when it decodes.
  if (b.some((x) => x >= 0x80)) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      // PDFDocEncoding
    }
  }
  return Buffer.from(b).toString('latin1');
}

export const nameOf = (value: PdfValue | undefined): string | null => (value && typeof value === 'object' && 'name' in value ? value.name : null);

/** §7.9.4: D:YYYYMMDDHHmmSSOHH'mm. */
export function parsePdfDate(text: string | null): Date | null {
  if (!text) return null;
  const m = /^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+-])?(\d{2})?'?(\d{2})?'?/.exec(text.trim());
  if (!m) return null;
  const [, y, mo = '01', d = '01', h = '00', mi = '00', s = '00', sign, oh = '00', om = '00'] = m;
  const offset = sign === '+' || sign === '-' ? (sign === '+' ? 1 : -1) * (Number(oh) * 60 + Number(om)) : 0;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offset * 60_000;
  return Number.isFinite(ms) ? new Date(ms) : null;
}

/** Start of the dictionary that encloses `pos`: scan back for an unmatched "<<". */
export function enclosingDictStart(buf: Uint8Array, pos: number): number {
  let depth = 0;
  const floor = Math.max(0, pos - 64 * 1024);
  for (let i = pos - 1; i > floor; i--) {
    if (buf[i] === 0x3e && buf[i - 1] === 0x3e) {
      depth++;
      i--;
    } else if (buf[i] === 0x3c && buf[i - 1] === 0x3c) {
      if (depth === 0) return i - 1;
      depth--;
      i--;
    }
  }
  return -1;
}

export interface ExtractOptions {
  maxSignatures: number;
}

type FoundSignature = Omit<PdfSignature, 'info'> & { info: Omit<PdfSignatureInfo, 'changesAfterSigning'> };

/** The whole file after `from` is white space (a trailing end-of-line is not a change). */
function onlyWhitespaceAfter(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (!isWhite(buf[i])) return false;
  return true;
}

/** Revisions: every %%EOF marker ends one (§7.5.5, §7.5.6), with its end-of-line. */
function revisionEndsOf(buf: Buffer): number[] {
  const ends: number[] = [];
  for (let at = buf.indexOf('%%EOF'); at >= 0; at = buf.indexOf('%%EOF', at + 5)) {
    let end = at + 5;
    while (end < buf.length && (buf[end] === 0x0d || buf[end] === 0x0a) && end - at < 7) end++;
    ends.push(end);
    if (ends.length > 10_000) throw new PdfFormatError('more than 10,000 revisions');
  }
  return ends;
}

export interface ExtractedPdf {
  signatures: PdfSignature[];
  warnings: string[];
  revisions: number;
  /** Offsets just past each %%EOF (with its end-of-line): where each revision ends. */
  revisionEnds: number[];
}

export function extractPdfSignatures(doc: Uint8Array, options: ExtractOptions): ExtractedPdf {
  const buf = Buffer.from(doc.buffer, doc.byteOffset, doc.byteLength);
  const headerAt = buf.subarray(0, 1024).indexOf('%PDF-');
  if (headerAt < 0) throw new PdfFormatError('no %PDF- header in the first 1024 bytes: not a PDF');
  const warnings: string[] = [];
  const revisionEnds = revisionEndsOf(buf);
  if (!revisionEnds.length) warnings.push('no %%EOF marker: the file may be truncated');
  const found: FoundSignature[] = [];
  const seen = new Set<number>();
  const text = { value: null as string | null };
  let scanned = 0;
  for (let at = buf.indexOf('/ByteRange', headerAt); at >= 0; at = buf.indexOf('/ByteRange', at + 10)) {
    if (++scanned > MAX_BYTERANGES) throw new PdfFormatError(`more than ${MAX_BYTERANGES} /ByteRange entries`);
    const start = enclosingDictStart(buf, at);
    if (start < 0) continue;
    const read = readDictAt(buf, start, warnings);
    if (!read || !read.dict.has('ByteRange') || !read.dict.has('Contents')) continue;
    const type = nameOf(read.dict.get('Type'));
    if (type && type !== 'Sig' && type !== 'DocTimeStamp') continue;
    if (seen.has(start)) continue;
    seen.add(start);
    if (found.length >= options.maxSignatures) throw new PdfFormatError(`more than ${options.maxSignatures} signatures`);
    at = Math.max(at, read.end - 10);
    found.push({ ...signatureOf(buf, read.dict, start, read.end, revisionEnds, text), documentTimestamp: type === 'DocTimeStamp' || nameOf(read.dict.get('SubFilter')) === 'ETSI.RFC3161', dict: read.dict });
  }
  return { signatures: withChangesAfterSigning(buf, found), warnings, revisions: revisionEnds.length, revisionEnds };
}

function readDictAt(buf: Buffer, start: number, warnings: string[]): { dict: Map<string, PdfValue>; end: number } | null {
  try {
    const reader = new Reader(buf, start, Math.min(buf.length, start + MAX_DICT_BYTES));
    const value = reader.dict();
    return { dict: (value as { dict: Map<string, PdfValue> }).dict, end: reader.pos };
  } catch (err) {
    warnings.push(`a signature dictionary at offset ${start} cannot be read (${(err as Error).message})`);
    return null;
  }
}

/** One signature dictionary: its byte range checked against the file, its field and its entries. */
function signatureOf(buf: Buffer, dict: Map<string, PdfValue>, start: number, dictEnd: number, revisionEnds: number[], text: { value: string | null }): FoundSignature {
  const claimedTime = parsePdfDate(textOf(dict.get('M')));
  const sigWarnings: string[] = [];
  const { byteRange, contents, problems } = checkByteRange(buf, dict, start, dictEnd);
  const coveredEnd = byteRange[2] + byteRange[3];
  let revision = revisionEnds.findIndex((end) => end >= coveredEnd - 2) + 1;
  if (revision === 0) revision = revisionEnds.length || 1;
  const coversWholeDocument = !problems.length && (coveredEnd === buf.length || onlyWhitespaceAfter(buf, coveredEnd));
  if (!problems.length && !revisionEnds.some((end) => Math.abs(end - coveredEnd) <= 2)) sigWarnings.push('the signed range does not end at a revision\'s %%EOF');
  return {
    byteRange,
    contents,
    claimedTime,
    problem: problems[0] ?? null,
    warnings: sigWarnings,
    documentTimestamp: false,
    dict,
    info: {
      field: fieldNameOf(buf, start, text),
      subFilter: nameOf(dict.get('SubFilter')),
      byteRange: [...byteRange],
      revision,
      revisions: Math.max(revisionEnds.length, 1),
      coversWholeDocument,
      name: textOf(dict.get('Name')),
      reason: textOf(dict.get('Reason')),
      location: textOf(dict.get('Location')),
      contactInfo: textOf(dict.get('ContactInfo')),
      signingTime: claimedTime?.toISOString() ?? null,
    },
  };
}

/** /ByteRange must be [0 b c d] around exactly the /Contents hex string of this dictionary. */
function checkByteRange(buf: Buffer, dict: Map<string, PdfValue>, start: number, dictEnd: number): { byteRange: [number, number, number, number]; contents: Uint8Array; problems: string[] } {
  const range = dict.get('ByteRange');
  const problems: string[] = [];
  const numbers = Array.isArray(range) && range.length === 4 && range.every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) ? (range as number[]) : null;
  let byteRange: [number, number, number, number] = [0, 0, 0, 0];
  let contents = new Uint8Array(0);
  if (!numbers) {
    problems.push('/ByteRange is not an array of four non-negative integers');
    return { byteRange, contents, problems };
  }
  byteRange = numbers as [number, number, number, number];
  const [a, b, c, d] = byteRange;
  if (a !== 0) problems.push('/ByteRange does not start at offset 0');
  else if (c < a + b || c + d > buf.length || b === 0) problems.push(`/ByteRange [${byteRange.join(' ')}] lies outside the file (${buf.length} bytes) or overlaps itself`);
  else if (buf[b] !== 0x3c || buf[c - 1] !== 0x3e) problems.push('/ByteRange does not exclude exactly the /Contents hex string');
  else {
    const hex = buf.subarray(b + 1, c - 1).toString('latin1').replace(/\s+/g, '');
    if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length % 2) problems.push('the excluded range is not a hex string');
    else contents = new Uint8Array(Buffer.from(hex, 'hex'));
    // The dictionary's own /Contents must be that very string.
    const own = dict.get('Contents');
    const ownBytes = own && typeof own === 'object' && 'bytes' in own ? own.bytes : null;
    if (!problems.length && (!ownBytes || Buffer.compare(Buffer.from(ownBytes), Buffer.from(contents)) !== 0)) problems.push('/Contents is not the range the /ByteRange excludes');
    if (!(start > b || dictEnd < c) && !(start < b && dictEnd > c)) problems.push('the signature dictionary straddles the /ByteRange gap');
  }
  return { byteRange, contents, problems };
}

/** The field: the widget/field dictionary whose /V references this signature object (§12.7.4.5). */
function fieldNameOf(buf: Buffer, start: number, text: { value: string | null }): string | null {
  const header = /(\d+)\s+(\d+)\s+obj\s*$/.exec(buf.subarray(Math.max(0, start - 40), start).toString('latin1'));
  if (!header) return null;
  const needle = new RegExp(`/V\\s*${header[1]}\\s+${header[2]}\\s+R\\b`, 'g');
  text.value ??= buf.toString('latin1');
  for (const m of text.value.matchAll(needle)) {
    const fieldStart = enclosingDictStart(buf, m.index);
    if (fieldStart < 0) continue;
    try {
      const value = new Reader(buf, fieldStart, Math.min(buf.length, fieldStart + 64 * 1024)).dict() as { dict: Map<string, PdfValue> };
      const field = textOf(value.dict.get('T'));
      if (field) return field;
    } catch {
      // not a readable field dictionary; keep looking
    }
  }
  return null;
}

/** After the last signature, is anything unsigned? Later revisions covered by a later signature are "signed". */
function withChangesAfterSigning(buf: Buffer, found: FoundSignature[]): PdfSignature[] {
  const lastCovered = Math.max(0, ...found.filter((s) => !s.problem).map((s) => s.byteRange[2] + s.byteRange[3]));
  return found
    .sort((x, y) => x.byteRange[2] + x.byteRange[3] - (y.byteRange[2] + y.byteRange[3]))
    .map((s): PdfSignature => {
      const end = s.byteRange[2] + s.byteRange[3];
      const changesAfterSigning = s.info.coversWholeDocument ? 'none' : lastCovered > end && (lastCovered === buf.length || onlyWhitespaceAfter(buf, lastCovered)) ? 'signed-revisions' : 'unsigned-changes';
      const warningsOf = [...s.warnings];
      if (changesAfterSigning === 'unsigned-changes' && !s.problem) warningsOf.push('the document was changed after this signature by an unsigned incremental update');
      if (changesAfterSigning === 'signed-revisions') warningsOf.push('later revisions were added, each covered by a later signature');
      return { ...s, warnings: warningsOf, info: { ...s.info, changesAfterSigning } };
    });
}
