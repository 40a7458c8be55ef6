import type { Upstream } from './upstreams.js';

/** What an upstream identity provider said about the person, after the upstream's claim mapping. */
export interface UpstreamIdentity {
  upstream: string;
  /** The upstream's stable identifier: DVCQG's TechID, an OpenID provider's `sub`. */
  subject: string;
  kind: 'citizen' | 'enterprise' | 'organisation';
  /** The person's CCCD; for an organisation login, the acting person's. */
  nationalId: string | null;
  /** The person's name; for an organisation login, the acting person's. */
  fullName: string | null;
  email: string | null;
  phone: string | null;
  taxCode: string | null;
  organisationName: string | null;
  /** The upstream's own facts kept on the account (`vn_upstream` claim): account type, level… */
  facts: Record<string, unknown>;
}

const text = (value: unknown): string | null => {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return null;
  const trimmed = value.trim().normalize('NFC');
  return trimmed ? trimmed : null;
};

/**
 * The upstream's claims (userinfo, ID token) → an UpstreamIdentity, by the upstream's declared
 * mapping. Organisation logins (DVCQG LoaiTaiKhoan 2 and 3) are keyed by tax code; the person
 * acting for the organisation is kept (national ID and name).
 */
export function mapClaims(upstream: Pick<Upstream, 'id' | 'claims'>, claims: Record<string, unknown>, level: { acr: string; upstreamLevel: string | null }): UpstreamIdentity {
  const m = upstream.claims;
  const typeValue = m.accountType ? text(claims[m.accountType]) : null;
  const kind = typeValue === null ? 'citizen' : m.accountTypes[typeValue];
  if (!kind) throw new UnmappableClaims(`account type ${m.accountType}=${typeValue} is not mapped`);
  const facts: Record<string, unknown> = { id: upstream.id, subject: text(claims[m.subject]) };
  for (const name of m.keep) if (claims[name] !== undefined && claims[name] !== null && claims[name] !== '') facts[name] = claims[name];
  if (level.upstreamLevel) facts.level = level.upstreamLevel;
  const nationalId = text(claims[m.nationalId]);
  const fullName = text(claims[m.fullName]);
  if (kind !== 'citizen') facts.acting_person = { national_id: nationalId, name: fullName };
  return {
    upstream: upstream.id,
    subject: text(claims[m.subject]) ?? '',
    kind,
    nationalId,
    fullName,
    email: m.email ? text(claims[m.email]) : null,
    phone: m.phone ? text(claims[m.phone]) : null,
    taxCode: m.taxCode ? text(claims[m.taxCode]) : null,
    organisationName: m.organisationName ? text(claims[m.organisationName]) : null,
    facts,
  };
}

export class UnmappableClaims extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnmappableClaims';
  }
}
