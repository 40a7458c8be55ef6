/**
 * Which DNS names a certificate may carry (docs/ca.md, "Name policy"), after step-ca's x509
 * allow-list: a profile declares the DNS suffixes it may certify, a requester may be limited to a
 * subset of them, and nothing else is issued. Each problem starts with the rule that refused it,
 * so the 4xx names the rule.
 *
 * Wildcards: `*.<rest>` only when `<rest>` lies strictly below an allowed suffix. Without the
 * Public Suffix List in the dependencies, this is the rule that guarantees a wildcard never sits
 * on a public suffix: an allowed suffix is the operator's own zone, and a wildcard one label
 * below it cannot cover a registrable domain of anybody else (`*.gov.vn` is refused even if
 * `gov.vn` were allowed; `*.soctrang.gov.vn` needs an allowed suffix above it).
 */

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
const isStrictlyBelow = (name: string, suffix: string) => name.endsWith(`.${suffix}`);

function covered(name: string, suffixes: readonly string[]): boolean {
  if (name.startsWith('*.')) {
    const rest = name.slice(2);
    return suffixes.some((s) => isStrictlyBelow(rest, s));
  }
  return suffixes.some((s) => isAtOrBelow(name, s));
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
    if (name.startsWith('*.') && !covered(name, rule.suffixes)) {
      problems.push(`${dnsRules.wildcard}: "${name}": a wildcard must lie strictly below an allowed suffix of profile ${rule.profileId} (${rule.suffixes.join(', ')}), never on the suffix itself or a public suffix`);
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
