/**
 * The PDF as a whole (docs/validation.md, "PDF document verdict"): what follows each signature,
 * change by change (ISO 32000-1 §7.5.6 incremental updates), classified and judged against the
 * signatures' permissions: DocMDP (§12.8.2.2: 1 no changes, 2 form fill-in and signing, 3 also
 * annotations; ETSI EN 319 142-1 §5.4 adds DSS and document time-stamps at every level) and
 * FieldMDP (§12.8.2.4, locked fields). Unsigned content outside the allowed changes, or a
 * signed range that stops short of its revision, keeps the document from TOTAL_PASSED.
 * Also the document time-stamps (ETSI.RFC3161) and the proof of existence they give.
 */
import type { CertPool, PathSearch } from './chain.js';
import { checkTimestampToken } from './evidence.js';
import { failed, indeterminate, PASSED, type Verdict } from './indications.js';
import { nameOf, Reader, textOf, type ExtractedPdf, type PdfSignature, type PdfValue } from './pdf.js';
import type { DocumentReport, PdfChange, ProofOfExistence, SignatureReport, TimestampReport } from './report.js';
import type { RevocationChecker } from './revocation.js';

type Kind = PdfChange['kind'];
type Dict = Map<string, PdfValue>;
const SEVERITY: Kind[] = ['structure', 'dss', 'document-timestamp', 'signature', 'form-fill', 'annotation', 'other'];
const MAX_OBJECTS = 2_000; // classified per change
const MAX_OBJECT_BYTES = 16 * 1024; // read per object (a font's width array is not read)
const MAX_INDEXED = 200_000; // object definitions in the whole file
const MAX_CHANGES = 100; // changes classified object by object; the rest is one `other` change

const signedEnd = (s: PdfSignature) => s.byteRange[2] + s.byteRange[3];
const bytesOf = (doc: Uint8Array, s: PdfSignature) => Buffer.concat([doc.subarray(s.byteRange[0], s.byteRange[0] + s.byteRange[1]), doc.subarray(s.byteRange[2], signedEnd(s))]);
const dictOf = (v: PdfValue | undefined): Dict | null => (v && typeof v === 'object' && 'dict' in v ? v.dict : null);

/** Document time-stamps: each checked over its ByteRange; a valid one is a POE for every signature it covers. */
export async function documentTimestamps(revocation: RevocationChecker, signatures: PdfSignature[], doc: Uint8Array, tsaPool: CertPool, now: Date, search?: PathSearch) {
  const reports: TimestampReport[] = [];
  const proofs: Array<{ end: number; poe: ProofOfExistence }> = [];
  for (const s of signatures.filter((x) => x.documentTimestamp)) {
    if (s.problem) {
      reports.push({ origin: 'document', genTime: null, tsa: null, indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE', messageImprintMatches: false, chain: [], errors: [s.problem], warnings: [] });
      continue;
    }
    const ts = await checkTimestampToken(revocation, s.contents, bytesOf(doc, s), tsaPool, 'document', now, search);
    reports.push(ts.report);
    if (ts.report.indication === 'TOTAL_PASSED' && ts.genTime) proofs.push({ end: signedEnd(s), poe: { time: ts.genTime.toISOString(), source: 'document-timestamp', tsa: ts.report.tsa } });
  }
  const poeFor = (sig: PdfSignature): ProofOfExistence | null =>
    proofs.filter((p) => p.end > signedEnd(sig)).sort((x, y) => Date.parse(x.poe.time) - Date.parse(y.poe.time))[0]?.poe ?? null;
  return { reports, poeFor };
}

/** Canonical text of a PDF value, to tell whether a redefined object changed a key. */
function canon(v: PdfValue): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canon).join(' ')}]`;
  if ('dict' in v) return `<<${[...v.dict.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => `/${k} ${canon(x)}`).join(' ')}>>`;
  if ('bytes' in v) return `<${Buffer.from(v.bytes).toString('hex')}>`;
  if ('ref' in v) return `${v.ref[0]} ${v.ref[1]} R`;
  return `/${v.name}`;
}

/**
 * Where each object is defined (offsets just after "N G obj"), from one pass over the file;
 * null when the file defines more objects than are classified (everything is then `other`).
 */
function objectIndex(text: string): Map<string, number[]> | null {
  const index = new Map<string, number[]>();
  let count = 0;
  for (const m of text.matchAll(/(?:^|[\s>])(\d+)\s+(\d+)\s+obj\b/g)) {
    if (++count > MAX_INDEXED) return null;
    const key = `${m[1]} ${m[2]}`;
    const list = index.get(key) ?? [];
    list.push(m.index + m[0].length);
    index.set(key, list);
  }
  return index;
}

/** The object `num gen` as last defined before `before` (a classic-xref file's earlier revision). */
function previousDefinition(index: Map<string, number[]>, buf: Buffer, key: string, before: number): PdfValue | undefined {
  const at = (index.get(key) ?? []).filter((p) => p < before).pop();
  if (at === undefined) return undefined;
  try {
    return new Reader(buf, at, Math.min(before, at + 4 * 1024 * 1024)).value();
  } catch {
    return undefined;
  }
}

const changedKeys = (now: Dict, before: Dict): string[] =>
  [...new Set([...now.keys(), ...before.keys()])].filter((k) => !now.has(k) || !before.has(k) || canon(now.get(k)!) !== canon(before.get(k)!));

/** One object of an incremental update: what kind of change it is. */
function classify(value: PdfValue, prior: PdfValue | undefined, isStream: boolean): Classified {
  const dict = dictOf(value);
  if (!dict) return { kind: 'other', label: 'not a dictionary', field: null };
  const type = nameOf(dict.get('Type'));
  const subtype = nameOf(dict.get('Subtype'));
  const label = [type && `/Type /${type}`, subtype && `/Subtype /${subtype}`].filter(Boolean).join(' ') || (isStream ? 'stream' : 'dictionary');
  const field = textOf(dict.get('T'));
  const priorDict = dictOf(prior);
  if (type === 'Sig') return { kind: 'signature', label, field };
  if (type === 'DocTimeStamp') return { kind: 'document-timestamp', label, field };
  if (type === 'DSS' || dict.has('VRI')) return { kind: 'dss', label, field };
  if (type === 'XRef') return { kind: 'structure', label, field };
  if (type === 'ObjStm') return { kind: 'other', label: `${label} (compressed objects cannot be classified)`, field };
  if (type === 'Annot' && subtype !== 'Widget') return { kind: 'annotation', label, field };
  if (type === 'Annot' || dict.has('FT') || (dict.has('T') && (dict.has('V') || dict.has('Kids')))) {
    return { kind: nameOf(dict.get('FT')) === 'Sig' ? 'signature' : 'form-fill', label: `${label}${field ? ` field "${field}"` : ''}`, field };
  }
  if (type === 'Catalog' || type === 'Page' || (!type && dict.has('Fields'))) {
    if (!priorDict) return { kind: type === 'Page' ? 'other' : 'structure', label: `${label} (new)`, field };
    const allowedKeys = type === 'Catalog' ? ['AcroForm', 'DSS'] : type === 'Page' ? ['Annots'] : ['Fields', 'SigFlags', 'DR', 'DA', 'NeedAppearances'];
    const changed = changedKeys(dict, priorDict);
    const outside = changed.filter((k) => !allowedKeys.includes(k));
    // What the allowed keys newly reference (/Fields, /Annots entries) is checked with the update's other objects.
    const before = new Set(changed.flatMap((k) => deepRefs(priorDict.get(k))));
    const added = [...new Set(changed.flatMap((k) => deepRefs(dict.get(k))))].filter((r) => !before.has(r));
    return { kind: outside.length ? 'other' : 'structure', label: `${label} (changed: ${changed.join(', ') || 'nothing'})`, field, added };
  }
  // New objects (appearance streams, fonts, DSS streams) only matter once referenced, and a
  // reference needs one of the changes above; a redefined existing object changes what it shows.
  if (prior !== undefined) return { kind: 'other', label: `${label} (an existing object redefined)`, field };
  return { kind: 'structure', label: `${label} (new)`, field };
}

type Classified = { kind: Kind; label: string; field: string | null; added?: string[] };

/** Every indirect reference inside a value (bounded by the value's own size). */
function deepRefs(v: PdfValue | undefined, out: string[] = []): string[] {
  if (!v || typeof v !== 'object') return out;
  if (Array.isArray(v)) for (const x of v) deepRefs(x, out);
  else if ('ref' in v) out.push(`${v.ref[0]} ${v.ref[1]}`);
  else if ('dict' in v) for (const x of v.dict.values()) deepRefs(x, out);
  return out;
}

/**
 * An object that cannot be read within MAX_OBJECT_BYTES (a font's widths, a corrupt object):
 * new and of no type that changes what is signed or shown (a font, an XObject, an untyped
 * dictionary) it is structure, like any new object; anything else is `other`.
 */
function largeObject(buf: Buffer, at: number, key: string, prior: PdfValue | undefined): Classified {
  const head = buf.subarray(at, Math.min(buf.length, at + MAX_OBJECT_BYTES)).toString('latin1');
  const type = /\/Type\s*\/(\w+)/.exec(head)?.[1] ?? null;
  const harmless = prior === undefined && /^\s*<</.test(head) && !/\/(FT|Kids|Parent|Annots|Contents|V|T|Fields|DSS|ByteRange)\b/.test(head) && (!type || ['Font', 'FontDescriptor', 'XObject'].includes(type));
  return { kind: harmless ? 'structure' : 'other', label: `${key} obj: ${type ? `/Type /${type} ` : ''}(not read: larger than ${MAX_OBJECT_BYTES} bytes or malformed${harmless ? ', new' : ''})`, field: null };
}
const refsOf = (v: PdfValue[]): string[] => v.filter((x): x is { ref: [number, number] } => !!x && typeof x === 'object' && 'ref' in x).map((x) => `${x.ref[0]} ${x.ref[1]}`);

/** Every `N G obj` in [from, to): classified. */
function objectsIn(buf: Buffer, text: string, index: Map<string, number[]>, from: number, to: number): Classified[] {
  const out: Classified[] = [];
  const arrays: Array<{ at: number; added: string[] | null; label: string }> = [];
  const kinds = new Map<string, Kind>();
  const start = Math.max(0, from - 1); // the white space before the first object's number
  for (const m of text.slice(start, to).matchAll(/(?:^|[\s>])(\d+)\s+(\d+)\s+obj\b/g)) {
    if (out.length >= MAX_OBJECTS) {
      out.push({ kind: 'other', label: `more than ${MAX_OBJECTS} objects`, field: null });
      break;
    }
    const [num, gen] = [Number(m[1]), Number(m[2])];
    const at = start + m.index + m[0].length;
    let value: PdfValue;
    const prior = previousDefinition(index, buf, `${num} ${gen}`, from);
    const reader = new Reader(buf, at, Math.min(to, at + MAX_OBJECT_BYTES));
    try {
      value = reader.value();
    } catch {
      out.push(largeObject(buf, at, `${num} ${gen}`, prior));
      continue;
    }
    reader.skip();
    if (Array.isArray(value)) {
      // An indirect array (a page's /Annots, an AcroForm's /Fields): judged once the whole update is read.
      const before = Array.isArray(prior) ? new Set(refsOf(prior)) : prior === undefined ? new Set<string>() : null;
      arrays.push({ at: out.length, added: before && refsOf(value).length === value.length && refsOf(prior as PdfValue[] ?? []).every((r) => refsOf(value).includes(r)) ? refsOf(value).filter((r) => !before.has(r)) : null, label: `${num} ${gen} obj: array` });
      out.push({ kind: 'other', label: `${num} ${gen} obj: array`, field: null });
      continue;
    }
    const c = classify(value, prior, text.startsWith('stream', reader.pos));
    kinds.set(`${num} ${gen}`, c.kind);
    out.push({ ...c, label: `${num} ${gen} obj: ${c.label}` });
  }
  // An array that only grows by signatures, fields and annotations of this update is their list
  // (/Annots, /Fields); anything else added (a content stream to /Contents) changes the page.
  const listed = (r: string) => ['signature', 'form-fill', 'annotation', 'document-timestamp', 'dss'].includes(kinds.get(r) ?? '');
  for (const a of arrays) {
    const ok = a.added !== null && a.added.every(listed);
    out[a.at] = { kind: ok ? 'structure' : 'other', label: `${a.label} (${ok ? 'adds signatures, fields or annotations of this update' : 'changed otherwise'})`, field: null };
  }
  // A catalog, page or AcroForm rewritten in its allowed keys may add only this update's objects
  // (not, say, an existing content stream as an "annotation" or a field hidden elsewhere).
  for (const [i, o] of out.entries()) {
    const stray = o.kind === 'structure' && o.added ? o.added.filter((r) => !listed(r) && kinds.get(r) !== 'structure') : [];
    if (stray.length) out[i] = { ...o, kind: 'other', label: `${o.label}; references ${stray.join(', ')} that this update does not define as a signature, field or annotation` };
  }
  return out;
}

/** DocMDP P of a certification signature and the fields FieldMDP locks, from /Reference (§12.8.1). */
function permissionsOf(sig: PdfSignature): { docMdp: number | null; locks: { action: string; fields: string[] } | null } {
  let docMdp: number | null = null;
  let locks: { action: string; fields: string[] } | null = null;
  const refs = sig.dict.get('Reference');
  for (const ref of Array.isArray(refs) ? refs : []) {
    const d = dictOf(ref);
    const params = dictOf(d?.get('TransformParams'));
    const method = nameOf(d?.get('TransformMethod'));
    if (method === 'DocMDP') docMdp = typeof params?.get('P') === 'number' ? (params.get('P') as number) : 2;
    if (method === 'FieldMDP' && params) {
      const fields = params.get('Fields');
      locks = { action: nameOf(params.get('Action')) ?? 'All', fields: (Array.isArray(fields) ? fields : []).map((f) => textOf(f) ?? '').filter(Boolean) };
    }
  }
  return { docMdp, locks };
}

const locked = (locks: { action: string; fields: string[] }, field: string | null) =>
  locks.action === 'All' || (field !== null && (locks.action === 'Include' ? locks.fields.includes(field) : !locks.fields.includes(field)));

const DOC_MDP_ALLOWS: Record<number, Kind[]> = {
  1: ['structure', 'dss', 'document-timestamp'],
  2: ['structure', 'dss', 'document-timestamp', 'signature', 'form-fill'],
  3: ['structure', 'dss', 'document-timestamp', 'signature', 'form-fill', 'annotation'],
};

interface Event {
  id: string;
  sig: PdfSignature;
  end: number;
}

/** The changes after the first signature and the document's own verdict. */
export function pdfDocumentReport(doc: Uint8Array, extracted: ExtractedPdf, signatures: PdfSignature[], reports: SignatureReport[], timestamps: TimestampReport[]): DocumentReport {
  const buf = Buffer.from(doc.buffer, doc.byteOffset, doc.byteLength);
  const errors: string[] = [];
  const warnings: string[] = [];
  const events: Event[] = [
    ...signatures.map((sig, i) => ({ id: reports[i].id, sig, end: signedEnd(sig) })),
    ...extracted.signatures.filter((s) => s.documentTimestamp).map((sig, i) => ({ id: `DT${i + 1}`, sig, end: signedEnd(sig) })),
  ].filter((e) => !e.sig.problem);
  const report = (v: Verdict, certification: DocumentReport['certification'], lockedFields: string[], changes: PdfChange[]): DocumentReport => ({
    indication: v.indication, subIndication: v.subIndication, revisions: extracted.revisions, certification, lockedFields, changes, timestamps, errors, warnings,
  });
  if (!events.length) {
    errors.push('the document holds no readable signature');
    return report(indeterminate('SIGNED_DATA_NOT_FOUND'), null, [], []);
  }
  const certifier = events.find((e) => permissionsOf(e.sig).docMdp !== null);
  const certification = certifier ? { signature: certifier.id, permissions: permissionsOf(certifier.sig).docMdp! } : null;
  const fieldLocks = events.map((e) => ({ e, locks: permissionsOf(e.sig).locks })).filter((x) => x.locks);
  const text = buf.toString('latin1');
  const index = objectIndex(text);
  const first = Math.min(...events.map((e) => e.end));
  const points = [...new Set([...events.map((e) => e.end), ...extracted.revisionEnds, buf.length])].filter((p) => p > first).sort((a, b) => a - b);
  const changes: PdfChange[] = [];
  let violated = false;
  let unsigned = false;
  let from = first;
  for (const to of points.length > MAX_CHANGES ? [...points.slice(0, MAX_CHANGES - 1), buf.length] : points) {
    const segment = { from, to };
    from = to;
    if (!buf.subarray(segment.from, segment.to).some((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09 && c !== 0x0c && c !== 0x00)) continue;
    const after = events.filter((e) => e.end <= segment.from);
    const signedBy = events.filter((e) => e.end >= segment.to).map((e) => e.id);
    const midRevision = !extracted.revisionEnds.some((end) => Math.abs(end - segment.from) <= 2);
    const objects: Classified[] = midRevision
      ? [{ kind: 'other', label: 'bytes after a signed range that stops short of the end of its revision', field: null }]
      : !index || (points.length > MAX_CHANGES && to === buf.length)
        ? [{ kind: 'other', label: 'too many objects or revisions to classify', field: null }]
        : objectsIn(buf, text, index, segment.from, segment.to);
    if (!objects.length) objects.push({ kind: 'other', label: 'content that is not a PDF object', field: null });
    const kind = objects.map((o) => o.kind).reduce((a, b) => (SEVERITY.indexOf(b) > SEVERITY.indexOf(a) ? b : a), 'structure' as Kind);
    const revision = extracted.revisionEnds.findIndex((end) => end >= segment.to - 2) + 1 || extracted.revisions + 1;
    let reason: string | null = null;
    const mdp = certifier && certifier.end <= segment.from ? certification!.permissions : null;
    const forbidden = mdp !== null ? objects.filter((o) => !(DOC_MDP_ALLOWS[mdp] ?? DOC_MDP_ALLOWS[2]).includes(o.kind)) : [];
    const lockedFill = objects.filter((o) => o.kind === 'form-fill' && fieldLocks.some((l) => l.e.end <= segment.from && locked(l.locks!, o.field)));
    if (forbidden.length) reason = `the certification signature ${certifier!.id} (DocMDP P=${mdp}) does not allow ${forbidden.map((o) => o.label).join('; ')}`;
    else if (lockedFill.length) reason = `FieldMDP locks ${lockedFill.map((o) => o.label).join('; ')}`;
    if (reason) violated = true;
    else if (kind === 'other' && !signedBy.length) {
      unsigned = true;
      reason = 'unsigned content outside the changes signatures allow (signing, form fill-in, annotations, DSS, time-stamps)';
    }
    changes.push({ revision, byteRange: [segment.from, segment.to], kind, objects: objects.map((o) => o.label).slice(0, 50), afterSignatures: after.map((e) => e.id), signedBy, allowed: !reason, reason });
  }
  if (violated) errors.push('the document was changed after signing in a way its signatures\' permissions forbid');
  if (unsigned) errors.push('the document holds unsigned changes after its signatures: what is displayed is not what was signed');
  const v = violated ? failed('SIG_CONSTRAINTS_FAILURE') : unsigned ? indeterminate('SIG_CONSTRAINTS_FAILURE') : PASSED;
  return report(v, certification, fieldLocks.flatMap((l) => (l.locks!.action === 'All' ? ['*'] : l.locks!.action === 'Exclude' ? [`* except ${l.locks!.fields.join(', ')}`] : l.locks!.fields)), changes);
}
