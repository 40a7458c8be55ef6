/**
 * Certification path building and validation (RFC 5280 §6, simplified to what signature
 * validation needs): find issuers by exact name match (and key identifier when both sides carry
 * one), prove each link by its signature, stop at a trust anchor; then check validity periods,
 * basic constraints, path length, key usage, extended key usage and unknown critical extensions
 * at the validation time. Pure: no I/O.
 */
import { registerCache } from '../../ca/cache-registry.js';
import { verifySignature } from '../../ca/asn1/algorithms.js';
import { oid } from '../../ca/asn1/oids.js';
import { heldSummary, type Cert } from './cert.js';
import type { ChainElement } from './report.js';
import type { SubIndication } from './indications.js';

export type CertSource = 'signature' | 'request' | 'trust-store' | 'our-ca' | 'configured' | 'aia';

export interface Candidate {
  cert: Cert;
  source: CertSource;
  anchor: boolean;
}

/** Anchors and intermediates indexed by subject name (DER hex). */
export class CertPool {
  private readonly bySubject = new Map<string, Candidate[]>();
  private readonly seen = new Set<string>();
  /** This pool's own certificates in `all()`'s order, kept until the next `add`. */
  private ownCerts: Cert[] | null = null;

  /** `parent`: a shared pool (the trust store) this one extends with a request's certificates. */
  constructor(candidates: Iterable<Candidate> = [], private readonly parent?: CertPool) {
    for (const c of candidates) this.add(c);
  }

  add(c: Candidate): void {
    const key = `${c.cert.sha256}:${c.anchor}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.ownCerts = null;
    const list = this.bySubject.get(c.cert.subjectHex) ?? [];
    // Anchors first: the shortest trusted path wins.
    if (c.anchor) list.unshift(c);
    else list.push(c);
    this.bySubject.set(c.cert.subjectHex, list);
  }

  issuersOf(c: Cert): Candidate[] {
    const own = this.bySubject.get(c.issuerHex);
    const inherited = this.parent?.issuersOf(c);
    // Anchors of the parent come before this pool's untrusted copies of the same certificates.
    const out: Candidate[] = [];
    for (const anchor of [true, false]) {
      if (inherited) for (const x of inherited) if (x.anchor === anchor) out.push(x);
      if (own) for (const x of own) if (x.anchor === anchor) out.push(x);
    }
    return out;
  }

  isAnchor(c: Cert): boolean {
    return (this.bySubject.get(c.subjectHex) ?? []).some((x) => x.anchor && x.cert.sha256 === c.sha256) || !!this.parent?.isAnchor(c);
  }

  /** Every certificate of this pool and its parent (for signer look-up by issuer and serial). */
  all(): Cert[] {
    this.ownCerts ??= [...this.bySubject.values()].flat().map((c) => c.cert);
    return this.parent ? [...this.parent.all(), ...this.ownCerts] : [...this.ownCerts];
  }

  get size(): number {
    return this.seen.size + (this.parent?.size ?? 0);
  }
}

export interface PathResult {
  /** Leaf first, trust anchor last; null when no path reached an anchor. */
  path: Candidate[] | null;
  /** The longest chain found when none reached an anchor (for the report). */
  partial: Candidate[];
  problem: string | null;
  /** Which bound of the search stopped it before a path was found (null: the search ran to its end). */
  limit: SearchLimitKind | null;
}

export type SearchLimitKind = 'signature-checks' | 'search-steps' | 'time-budget';

/**
 * Bounds of the certification path search (RFC 4158 §3 warns that cross-certified meshes make
 * the search exponential: a 5.6 KB CMS with 8 + 8 cross-signed CA certificates kept it busy for
 * a minute). The same bounds as Go's crypto/x509 in spirit: few candidates per step, a short
 * path, a small number of signature verifications per request.
 */
export interface PathLimits {
  /** Issuer candidates tried at one step (anchors first). */
  candidatesPerStep: number;
  /** Certificates in a path, leaf and anchor included. */
  maxPathLength: number;
  /** Signature verifications (cache misses) per request, over every path search of the request. */
  maxSignatureChecks: number;
  /** Issuer candidates examined per request (cached verifications included). */
  maxSearchSteps: number;
  /** Longest stretch of synchronous work before the search yields to the event loop (ms). */
  sliceMs: number;
}

// 250 verifications: a PDF at VALIDATION_MAX_SIGNATURES (50) with a distinct signer and time-stamping unit each needs about 100.
export const DEFAULT_PATH_LIMITS: PathLimits = { candidatesPerStep: 8, maxPathLength: 10, maxSignatureChecks: 250, maxSearchSteps: 5_000, sliceMs: 5 };

/**
 * One request's path-search budget, shared by every search the request makes (signers,
 * time-stamping units, certificates): signature checks are counted and memoised here, the
 * deadline (monotonic, `performance.now()`) is checked at every step, and the search yields to
 * the event loop after `sliceMs` of work so one request cannot stall the others.
 */
export class PathSearch {
  readonly limits: PathLimits;
  signatureChecks = 0;
  steps = 0;
  private readonly verified = new Map<string, boolean>();
  private sliceStart = performance.now();

  constructor(limits: Partial<PathLimits> = {}, readonly deadline = Number.POSITIVE_INFINITY) {
    this.limits = { ...DEFAULT_PATH_LIMITS, ...limits };
  }

  /** The step or time bound the request has reached, if any (checked before each step). */
  exhausted(): SearchLimitKind | null {
    if (this.steps >= this.limits.maxSearchSteps) return 'search-steps';
    if (performance.now() > this.deadline) return 'time-budget';
    return null;
  }

  /**
   * Did `issuer`'s key sign `child`? Memoised per request and process-wide; a verification that
   * is not memoised is counted, and refused (null) once the request's limit is reached.
   */
  signedBy(child: Cert, issuer: Cert): boolean | null {
    const key = `${child.sha256}:${issuer.sha256}`;
    const mine = this.verified.get(key);
    if (mine !== undefined) return mine;
    const shared = signatureCache.get(key);
    if (shared !== undefined) {
      this.verified.set(key, shared);
      return shared;
    }
    if (this.signatureChecks >= this.limits.maxSignatureChecks) return null;
    this.signatureChecks++;
    const ok = verifyLink(child, issuer);
    this.verified.set(key, ok);
    return ok;
  }

  /** Yields to the event loop (setImmediate) when this slice of synchronous work is used up. */
  async pause(): Promise<void> {
    if (performance.now() - this.sliceStart < this.limits.sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
  }

  describe(kind: SearchLimitKind): string {
    if (kind === 'signature-checks') return `the path search stopped at its limit of ${this.limits.maxSignatureChecks} signature verifications per request`;
    if (kind === 'search-steps') return `the path search stopped at its limit of ${this.limits.maxSearchSteps} candidate certificates examined per request`;
    return 'the path search stopped at the request\'s time budget';
  }
}

const signatureCache = registerCache('signature verdicts', new Map<string, boolean>());

function verifyLink(child: Cert, issuer: Cert): boolean {
  const key = `${child.sha256}:${issuer.sha256}`;
  let ok: boolean;
  try {
    ok = verifySignature(child.tbs, child.signatureValue, child.signatureAlgorithmId, issuer.facts.spki);
  } catch {
    ok = false;
  }
  if (signatureCache.size > 10_000) signatureCache.clear();
  signatureCache.set(key, ok);
  return ok;
}

/** Whether the verdict of `issuer` over `child` (by their SHA-256) is held (cache-probe.ts: the bench's cold check). */
export const linkHeld = (childSha256: string, issuerSha256: string): boolean => signatureCache.has(`${childSha256}:${issuerSha256}`);

/** Did `issuer`'s key sign `child`? Cached: the same CA certificates are checked again and again. */
export function signedBy(child: Cert, issuer: Cert): boolean {
  return signatureCache.get(`${child.sha256}:${issuer.sha256}`) ?? verifyLink(child, issuer);
}

function keyIdsCompatible(child: Cert, issuer: Cert): boolean {
  const aki = child.facts.authorityKeyIdentifier;
  const ski = issuer.facts.subjectKeyIdentifier;
  return !aki || !ski || (aki.byteLength === ski.byteLength && Buffer.compare(aki, ski) === 0);
}

interface Visit {
  found: Candidate[] | null;
  /** The subtree's failure depended on the chain above it (a certificate excluded as already in the chain, or the length bound). */
  contextual: boolean;
}

/**
 * Iterative deepening depth-first search from the leaf to any trust anchor, over `pool` and the
 * leaf's companions, within `search`'s bounds: the shortest path is found first. A certificate
 * from which no path exists whatever the chain above it is remembered as a dead end.
 */
export async function buildPath(leaf: Cert, pool: CertPool, search: PathSearch = new PathSearch()): Promise<PathResult> {
  const start: Candidate = { cert: leaf, source: 'signature', anchor: pool.isAnchor(leaf) };
  if (start.anchor) return { path: [start], partial: [start], problem: null, limit: null };
  const state: SearchState = { pool, search, partial: [start], problem: null, limit: null, dead: new Set(), depthCut: false, depth: 2 };
  for (; state.depth <= search.limits.maxPathLength; state.depth++) {
    state.depthCut = false;
    const { found } = await visit(state, [start]);
    if (found) return { path: found, partial: found, problem: null, limit: null };
    if (state.limit || !state.depthCut) break;
  }
  if (!state.limit && state.depthCut) state.problem = `no trust anchor within ${search.limits.maxPathLength} certificates`;
  const problem = state.limit ? `${search.describe(state.limit)}; ${state.problem ?? 'no path to a trust anchor was found before it'}` : state.problem ?? 'no path to a trust anchor';
  return { path: null, partial: state.partial, problem, limit: state.limit };
}

interface SearchState {
  pool: CertPool;
  search: PathSearch;
  partial: Candidate[];
  problem: string | null;
  limit: SearchLimitKind | null;
  dead: Set<string>;
  /** This round's depth bound cut a branch (a deeper round may find more). */
  depthCut: boolean;
  depth: number;
}

const stopped = (state: SearchState, kind: SearchLimitKind): Visit => {
  state.limit = kind;
  return { found: null, contextual: true };
};

async function visit(state: SearchState, chain: Candidate[]): Promise<Visit> {
  const { search, dead } = state;
  if (chain.length > state.partial.length) state.partial = chain;
  const current = chain[chain.length - 1].cert;
  if (chain.length >= state.depth) {
    state.depthCut = true;
    return { found: null, contextual: true };
  }
  let contextual = false;
  const issuers = state.pool.issuersOf(current).filter((c) => {
    if (!keyIdsCompatible(current, c.cert) || dead.has(c.cert.sha256)) return false;
    const inChain = !c.anchor && chain.some((x) => x.cert.sha256 === c.cert.sha256);
    if (inChain) contextual = true;
    return !inChain;
  });
  if (!issuers.length) {
    state.problem ??= `no certificate of the issuer "${current.issuerDn}" is known (neither in the signature nor in the trust store)`;
    return { found: null, contextual };
  }
  if (issuers.length > search.limits.candidatesPerStep) contextual = true;
  for (const issuer of issuers.slice(0, search.limits.candidatesPerStep)) {
    const exhausted = search.exhausted();
    if (exhausted) return stopped(state, exhausted);
    search.steps++;
    await search.pause();
    const linked = search.signedBy(current, issuer.cert);
    if (linked === null) return stopped(state, 'signature-checks');
    if (!linked) {
      state.problem = `the signature on "${current.subjectDn}" does not verify with the key of "${issuer.cert.subjectDn}"`;
      continue;
    }
    const next = [...chain, issuer];
    if (issuer.anchor) return { found: next, contextual };
    const selfSigned = issuer.cert.selfIssued ? search.signedBy(issuer.cert, issuer.cert) : false;
    if (selfSigned === null) return stopped(state, 'signature-checks');
    if (selfSigned) {
      if (next.length > state.partial.length) state.partial = next;
      state.problem = `the chain ends at the root "${issuer.cert.subjectDn}", which is not a trust anchor here`;
      continue;
    }
    const below = await visit(state, next);
    if (below.found || state.limit) return below;
    if (below.contextual) contextual = true;
    else dead.add(issuer.cert.sha256);
  }
  return { found: null, contextual };
}

export type Usage = 'signing' | 'timestamping' | 'any';

export interface PathCheck {
  failure: { indication: 'TOTAL_FAILED' | 'INDETERMINATE'; subIndication: SubIndication; message: string } | null;
  warnings: string[];
}

const KNOWN_EXTENSIONS = new Set<string>([
  oid.subjectKeyIdentifier, oid.keyUsage, oid.subjectAltName, oid.basicConstraints, oid.crlDistributionPoints,
  oid.certificatePolicies, oid.authorityKeyIdentifier, oid.extKeyUsage, oid.freshestCrl, oid.authorityInfoAccess, oid.ocspNoCheck,
  '2.5.29.18', // issuerAltName
]);

/** Extended key usages that allow document signatures (RFC 9336, Adobe, Microsoft, S/MIME, any). */
const SIGNING_EKUS = new Set(['1.3.6.1.5.5.7.3.4', '1.3.6.1.5.5.7.3.36', '2.5.29.37.0', '1.2.840.113583.1.1.5', '1.3.6.1.4.1.311.10.3.12', '1.3.6.1.5.5.7.3.3']);
const TIMESTAMPING_EKU = '1.3.6.1.5.5.7.3.8';

/**
 * RFC 5280 §6.1.3–6.1.4 at `time`: every certificate in its validity period, CAs with
 * cA=TRUE, keyCertSign and a respected pathLenConstraint, no unknown critical extension; the
 * leaf's key usage and extended key usage must allow `usage`. The anchor's own validity is
 * checked too (a warning), its signature not (it is trusted by configuration).
 */
const fail = (warnings: string[], indication: 'TOTAL_FAILED' | 'INDETERMINATE', subIndication: SubIndication, message: string): PathCheck => ({ failure: { indication, subIndication, message }, warnings });

export function checkPath(path: Candidate[], time: Date, usage: Usage): PathCheck {
  const warnings: string[] = [];
  const leaf = path[0].cert;
  for (let i = 0; i < path.length; i++) {
    const { cert: c, anchor } = path[i];
    const name = i === 0 ? 'the signer\'s certificate' : `the CA certificate "${c.subjectDn}"`;
    if (time < c.facts.notBefore || time > c.facts.notAfter) {
      const expired = time > c.facts.notAfter;
      const message = `${name} is ${expired ? `expired (notAfter ${c.facts.notAfter.toISOString()})` : `not yet valid (notBefore ${c.facts.notBefore.toISOString()})`} at the validation time ${time.toISOString()}`;
      if (anchor && i > 0) warnings.push(message);
      else if (i === 0) return fail(warnings, 'TOTAL_FAILED', expired ? 'EXPIRED' : 'NOT_YET_VALID', message);
      else return fail(warnings, 'INDETERMINATE', 'OUT_OF_BOUNDS_NO_POE', message);
    }
    const unknownCritical = c.criticalExtensions.filter((e) => !KNOWN_EXTENSIONS.has(e));
    if (unknownCritical.length && !anchor) return fail(warnings, 'INDETERMINATE', 'CHAIN_CONSTRAINTS_FAILURE', `${name} has unrecognised critical extension(s) ${unknownCritical.join(', ')} (RFC 5280 §4.2)`);
    if (c.signatureHashWeak && !anchor) warnings.push(`${name} is signed with SHA-1 (${c.signatureAlgorithm}): weak`);
    if (c.keyWeak) warnings.push(`${name} has a weak key (${c.keyDescription})`);
    if (i > 0) {
      // RFC 5280 §6.1.4 (k): an intermediate must be a CA; (n): keyCertSign when key usage is present.
      if (!c.facts.ca && !(anchor && c.version < 2)) return fail(warnings, 'INDETERMINATE', 'CHAIN_CONSTRAINTS_FAILURE', `${name} is not a CA certificate (basicConstraints cA is not TRUE)`);
      if (c.facts.keyUsage && !c.facts.keyUsage.includes('keyCertSign')) return fail(warnings, 'INDETERMINATE', 'CHAIN_CONSTRAINTS_FAILURE', `${name} lacks the keyCertSign key usage`);
      // (l)/(m): pathLenConstraint counts the non-self-issued intermediates below this CA.
      const below = path.slice(1, i).filter((x) => !x.cert.selfIssued).length;
      if (c.facts.pathLenConstraint !== null && below > c.facts.pathLenConstraint) {
        return fail(warnings, 'INDETERMINATE', 'CHAIN_CONSTRAINTS_FAILURE', `${name} allows ${c.facts.pathLenConstraint} intermediate CA(s) below it (pathLenConstraint), the chain has ${below}`);
      }
    }
  }
  if (usage === 'signing') {
    const ku = leaf.facts.keyUsage;
    if (ku && !ku.includes('digitalSignature') && !ku.includes('nonRepudiation')) {
      return fail(warnings, 'INDETERMINATE', 'CHAIN_CONSTRAINTS_FAILURE', `the signer's key usage (${ku.join(', ')}) allows neither digitalSignature nor nonRepudiation`);
    }
    if (leaf.eku && !leaf.eku.some((e) => SIGNING_EKUS.has(e))) {
      return fail(warnings, 'INDETERMINATE', 'CHAIN_CONSTRAINTS_FAILURE', `the signer's extended key usage (${leaf.eku.join(', ')}) does not allow document signatures`);
    }
    if (leaf.facts.ca && path.length > 1) warnings.push('the signer\'s certificate is a CA certificate');
  } else if (usage === 'timestamping') {
    // RFC 3161 §2.3: the TSA certificate has exactly id-kp-timeStamping, marked critical.
    if (!leaf.eku || !leaf.eku.includes(TIMESTAMPING_EKU)) return fail(warnings, 'INDETERMINATE', 'CHAIN_CONSTRAINTS_FAILURE', 'the time-stamping unit\'s certificate lacks the id-kp-timeStamping extended key usage');
  }
  return { failure: null, warnings };
}

/** A path as the report shows it: each certificate's summary, where it came from, the anchor. */
export function chainView(path: Candidate[]): ChainElement[] {
  // The summary's fields written out, not spread twice (`--cpu-prof` of the cold pass: the two
  // spreads were 1.7 % of a validation); the same keys in the same order (certSummary's, then
  // source and trustAnchor).
  const out: ChainElement[] = [];
  for (const c of path) {
    const s = heldSummary(c.cert);
    out.push({ subject: s.subject, issuer: s.issuer, serial: s.serial, notBefore: s.notBefore, notAfter: s.notAfter, sha256: s.sha256, key: s.key, signatureAlgorithm: s.signatureAlgorithm, source: c.source, trustAnchor: c.anchor });
  }
  return out;
}
