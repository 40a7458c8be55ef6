/**
 * Name policy: which subject attributes and identifiers a profile needs or allows, and what each
 * value must look like. Values are normalised (NFC, trimmed, single spaces, canonical `KIND:value`
 * UIDs, lower-case e-mail and DNS names) so one holder always gets the same name bytes.
 */
import { registerCache } from '../cache-registry.js';
import { CaError } from '../errors.js';
import { isMultiValued, subjectAttributeOrder, subjectAttributes, type SubjectAttribute, type SubjectFields } from '../asn1/names.js';
import { formatUid, parseUid, type IdentifierKind } from '../asn1/vn-identifiers.js';
import type { Profile } from '../profiles/profile.js';
import type { IssuanceRequest } from './request.js';
import { dnsPolicyProblems } from './dns-policy.js';

/** C0 and C1 control characters (and DEL) have no place in a name. */
const hasControlCharacters = (value: string) => [...value].some((c) => c.codePointAt(0)! < 0x20 || (c.codePointAt(0)! >= 0x7f && c.codePointAt(0)! < 0xa0));
/**
 * Unicode format characters (general category Cf: bidirectional overrides U+202A–202E and
 * U+2066–2069, zero-width U+200B–200D, U+FEFF…) render as nothing or reorder what a person
 * reads: a subject that shows one name and compares as another.
 */
const hasFormatCharacters = (value: string) => /\p{Cf}/u.test(value);
// Scripts whose letters are confusable with each other (UTS #39 §5.1): one value may use one of them.
const confusableScripts = [/\p{Script=Latin}/u, /\p{Script=Cyrillic}/u, /\p{Script=Greek}/u, /\p{Script=Armenian}/u, /\p{Script=Cherokee}/u];
function mixesConfusableScripts(value: string): boolean {
  const used = new Set<number>();
  for (const c of value) confusableScripts.forEach((script, i) => script.test(c) && used.add(i));
  return used.size > 1;
}
// RFC 5321 §4.1.2 dot-atom local part and an LDH domain; IA5 only (RFC 5280 §4.2.1.6).
const emailPattern = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
// RFC 1034 §3.5 preferred syntax (LDH labels), RFC 5280 §4.2.1.6; a wildcard only as the whole leftmost label.
const dnsPattern = /^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

const label = (attribute: SubjectAttribute) => `${attribute} (${subjectAttributes[attribute].name})`;
const tidy = (value: string) => value.normalize('NFC').trim().replace(/\s+/g, ' ');

function emailProblem(email: string): string | null {
  if (!/^[\x20-\x7e]*$/.test(email)) return `e-mail "${email}": internationalised addresses (RFC 9598) are not supported`;
  return emailPattern.test(email) && email.length <= 255 ? null : `e-mail "${email}" is not a valid address`;
}

export interface NamePolicyResult {
  /** The request with every name normalised. */
  request: IssuanceRequest;
  problems: string[];
}

/** Each value of one attribute: present, printable, within RFC 5280's upper bound. */
function valueProblems(attribute: SubjectAttribute, values: string[], problems: string[]): void {
  for (const value of values) {
    if (!value) problems.push(`subject ${label(attribute)} is empty`);
    else if (hasControlCharacters(value)) problems.push(`subject ${label(attribute)} contains control characters`);
    else if (hasFormatCharacters(value)) problems.push(`name-format: subject ${label(attribute)} contains invisible or bidirectional format characters (Unicode Cf)`);
    else if (mixesConfusableScripts(value)) problems.push(`name-confusable: subject ${label(attribute)} mixes confusable scripts (Latin, Cyrillic, Greek…)`);
    else if ([...value].length > subjectAttributes[attribute].max) {
      problems.push(`subject ${label(attribute)} is longer than ${subjectAttributes[attribute].max} characters (RFC 5280 Appendix A)`);
    }
  }
}

/** One attribute's tidied values into the normalised subject: C upper-case VN, E lower-case, UIDs canonical. */
function normaliseAttribute(subject: SubjectFields, attribute: SubjectAttribute, values: string[], uidKinds: Set<IdentifierKind>, profile: Profile, problems: string[]): void {
  if (attribute === 'C') {
    const country = values[0].toUpperCase();
    if (country !== 'VN') problems.push(`subject C (countryName) must be VN, got "${values[0]}"`);
    subject.C = country;
  } else if (attribute === 'E') {
    subject.E = values[0].toLowerCase();
    const problem = emailProblem(subject.E);
    if (problem) problems.push(`subject E: ${problem}`);
  } else if (attribute === 'UID') {
    subject.UID = values.map((value) => {
      const parsed = parseUid(value);
      if (!parsed.ok) {
        problems.push(`UID: ${parsed.problem}`);
        return value;
      }
      if (!uidKinds.has(parsed.identifier.kind)) problems.push(`UID: ${parsed.identifier.kind} is not allowed by profile ${profile.id}`);
      return formatUid(parsed.identifier);
    });
  } else if (isMultiValued(attribute)) {
    subject[attribute as 'OU'] = values;
  } else {
    subject[attribute as Exclude<SubjectAttribute, 'OU' | 'UID'>] = values[0];
  }
}

/** The subject the profile allows, normalised; then what it requires (attributes, one UID of each required kind). */
function subjectProblems(request: IssuanceRequest, profile: Profile, problems: string[]): SubjectFields {
  const allowed = new Set<string>([...profile.subject.required, ...profile.subject.optional]);
  const uidKinds = new Set<IdentifierKind>([...profile.subject.uid.required.flat(), ...profile.subject.uid.optional]);
  const subject: SubjectFields = {};
  for (const attribute of subjectAttributeOrder) {
    const raw = request.subject[attribute];
    if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) continue;
    if (attribute === 'UID' ? uidKinds.size === 0 : !allowed.has(attribute)) {
      problems.push(`subject attribute ${label(attribute)} is not allowed by profile ${profile.id}`);
      continue;
    }
    const values = (Array.isArray(raw) ? raw : [raw]).map(tidy);
    valueProblems(attribute, values, problems);
    normaliseAttribute(subject, attribute, values, uidKinds, profile, problems);
  }
  for (const attribute of profile.subject.required) {
    if (subject[attribute] === undefined) problems.push(`subject is missing required attribute ${label(attribute)} (profile ${profile.id})`);
  }
  const kinds = (subject.UID ?? []).map((uid) => parseUid(uid)).flatMap((p) => (p.ok ? [p.identifier.kind] : []));
  for (const kind of new Set(kinds)) {
    if (kinds.filter((k) => k === kind).length > 1) problems.push(`UID: more than one ${kind} identifier`);
  }
  for (const group of profile.subject.uid.required) {
    if (!group.some((kind) => kinds.includes(kind))) {
      problems.push(`UID: profile ${profile.id} requires ${group.length > 1 ? 'one of ' : ''}${group.map((k) => `${k}:`).join(', ')}`);
    }
  }
  return subject;
}

/** subjectAltName: valid addresses and DNS names, as the profile requires or forbids them; CN among the DNS names. */
function altNameProblems(request: IssuanceRequest, subject: SubjectFields, profile: Profile, problems: string[]): { emails: string[]; dnsNames: string[] } {
  // RFC 5280 §4.1.2.6: e-mail addresses go in subjectAltName; an E attribute is mirrored there.
  const emails = [...new Set([...request.emails.map((e) => e.trim().toLowerCase()), ...(subject.E ? [subject.E] : [])])];
  for (const email of request.emails.map((e) => e.trim().toLowerCase())) {
    const problem = emailProblem(email);
    if (problem) problems.push(`subjectAltName: ${problem}`);
  }
  const dnsNames = [...new Set(request.dnsNames.map((d) => d.trim().toLowerCase().replace(/\.$/, '')))];
  for (const name of dnsNames) if (!dnsPattern.test(name)) problems.push(`subjectAltName: "${name}" is not a valid DNS name`);
  if (profile.subjectAltName.dns !== 'forbidden') problems.push(...dnsPolicyProblems(dnsNames.filter((n) => dnsPattern.test(n)), { profileId: profile.id, suffixes: profile.dnsSuffixes }));
  for (const [kind, present, rule] of [
    ['an e-mail address', emails.length > 0, profile.subjectAltName.email],
    ['a DNS name', dnsNames.length > 0, profile.subjectAltName.dns],
  ] as const) {
    if (rule === 'required' && !present) problems.push(`subjectAltName: profile ${profile.id} requires ${kind}`);
    if (rule === 'forbidden' && present) problems.push(`subjectAltName: profile ${profile.id} does not allow ${kind}`);
  }
  // RFC 6125 §6.4.4 / BR §7.1.4.3: a CN beside DNS names must repeat one of them.
  if (dnsNames.length && subject.CN && !dnsNames.includes(subject.CN.toLowerCase())) {
    problems.push(`subject CN "${subject.CN}" must be one of the DNS names (${dnsNames.join(', ')})`);
  }
  return { emails, dnsNames };
}

/**
 * The verdicts of the name policy, by profile and names: a pure function of both, and the same
 * names come back at submission, at each approval, at issuance and in the linter (which reads them
 * back from the TBS). Only a verdict without problems is kept (a refusal is computed, and given,
 * again every time); the key is every name as given (the public key plays no part in the verdict
 * and is put back from the request); a hit is a fresh copy, so no caller can change a kept verdict;
 * a profile object reloaded is a new key (WeakMap). Bounded per profile, oldest out first.
 */
const verdicts = new WeakMap<Profile, Map<string, string>>();
const VERDICTS_PER_PROFILE = 2_048; // a batch of 1,000 and its names read back by the linter; about 1 KB each
// The subject's attributes in a fixed order: the policy reads each attribute by name
// (subjectProblems walks subjectAttributeOrder), so the order the caller wrote them in plays no
// part in the verdict, and the same names come back in another order (a request read from its
// jsonb column has its keys sorted by PostgreSQL), which must not cost the policy again.
const namesKey = (request: IssuanceRequest) => {
  const subject = Object.keys(request.subject).sort().map((k) => [k, request.subject[k as SubjectAttribute]]);
  return JSON.stringify([subject, request.emails, request.dnsNames], (_k, v: unknown) => (v === undefined ? '\u0000undefined' : v));
};

export function namePolicyProblems(request: IssuanceRequest, profile: Profile): NamePolicyResult {
  let kept = verdicts.get(profile);
  if (!kept) verdicts.set(profile, (kept = registerCache('name policy verdicts', new Map())));
  const key = namesKey(request);
  const hit = kept.get(key);
  if (hit !== undefined) return { request: { spki: request.spki, ...(JSON.parse(hit) as Omit<IssuanceRequest, 'spki'>) }, problems: [] };
  const result = namePolicyProblemsAfresh(request, profile);
  if (result.problems.length === 0) {
    if (kept.size >= VERDICTS_PER_PROFILE) kept.delete(kept.keys().next().value!);
    const { subject, emails, dnsNames } = result.request;
    kept.set(key, JSON.stringify({ subject, emails, dnsNames }));
  }
  return result;
}

/** The name policy computed every time (namePolicyProblems keeps its verdicts; tests compare the two). */
export function namePolicyProblemsAfresh(request: IssuanceRequest, profile: Profile): NamePolicyResult {
  const problems: string[] = [];
  const subject = subjectProblems(request, profile, problems);
  const { emails, dnsNames } = altNameProblems(request, subject, profile, problems);
  if (Object.keys(subject).length === 0 && emails.length + dnsNames.length === 0) problems.push('the certificate would name nobody: empty subject and no subjectAltName');
  return { request: { spki: request.spki, subject, emails, dnsNames }, problems };
}

/** The normalised request, or a `policyViolation` listing every problem. */
export function checkNamePolicy(request: IssuanceRequest, profile: Profile): IssuanceRequest {
  const result = namePolicyProblems(request, profile);
  if (result.problems.length) throw new CaError('policyViolation', result.problems.join('; '), { problems: result.problems });
  return result.request;
}
