/**
 * Which DNS names a certificate may carry (docs/ca.md, "Name policy"), after step-ca's x509
 * allow-list: a profile declares the DNS suffixes it may certify, a requester may be limited to a
 * subset of them, and nothing else is issued. Each problem starts with the rule that refused it,
 * so the 4xx names the rule.
 *
 * Wildcards: `*.<rest>` only when `<rest>` is at or below an allowed suffix and is not itself a
 * public suffix (the Public Suffix List, ICANN and private sections, from `tldts`): `*.gov.vn`
 * is refused even if `gov.vn` were allowed, `*.soctrang.gov.vn` is issued where
 * `soctrang.gov.vn` is allowed.
 */
import { getPublicSuffix } from 'tldts';

export const dnsRules = {
  none: 'dns-none',
  suffix: 'dns-suffix',
  requester: 'dns-requester',
  wildcard: 'dns-wildcard',
} as const;

/** Lower-case, no trailing dot: the one form suffixes and names are compared in. */
export const normaliseDnsName = (name: string) => name.trim().toLowerCase().replace(/\.$/, '');

/** `name` equals `suffix` or ends with `.suffix` (label boundary: `evilsoctrang.gov.vn` is not below `soctrang.gov.vn`). */
export const isAtOrBelow = (name: string, suffix: string) => name === suffix || name.endsWith(`.${suffix}`);

/** `name` is a public suffix (`vn`, `gov.vn`, `github.io`): nobody's own zone, never under a wildcard. */
export const isPublicSuffix = (name: string) => getPublicSuffix(name, { allowPrivateDomains: true }) === name;

function covered(name: string, suffixes: readonly string[]): boolean {
  const base = name.startsWith('*.') ? name.slice(2) : name;
  return suffixes.some((s) => isAtOrBelow(base, s));
}

/**
 * Problems of `names` under a profile's suffixes and, when given, a requester's subset. An empty
 * profile list allows no DNS name at all.
 */
export function dnsPolicyProblems(names: readonly string[], rule: { profileId: string; suffixes: readonly string[]; requester?: { actor: string; suffixes: readonly string[] } }): string[] {
  const problems: string[] = [];
  for (const raw of names) {
    const name = normaliseDnsName(raw);
    if (rule.suffixes.length === 0) {
      problems.push(`${dnsRules.none}: profile ${rule.profileId} certifies no DNS names ("${name}")`);
      continue;
    }
    if (name.startsWith('*.') && (isPublicSuffix(name.slice(2)) || name.slice(2).includes('*'))) {
      problems.push(`${dnsRules.wildcard}: "${name}": a wildcard never covers a public suffix (Public Suffix List) and has one "*" label, leftmost`);
      continue;
    }
    if (!covered(name, rule.suffixes)) {
      problems.push(`${dnsRules.suffix}: "${name}" is not at or below a DNS suffix profile ${rule.profileId} allows (${rule.suffixes.join(', ')})`);
      continue;
    }
    if (rule.requester && !covered(name, rule.requester.suffixes)) {
      const list = rule.requester.suffixes.length ? rule.requester.suffixes.join(', ') : 'none';
      problems.push(`${dnsRules.requester}: "${name}" is outside the DNS suffixes ${rule.requester.actor} may request (${list})`);
    }
  }
  return problems;
}
