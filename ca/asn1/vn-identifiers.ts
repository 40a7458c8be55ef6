/**
 * Vietnamese identifiers carried in repeated UID attributes (0.9.2342.19200300.100.1.1, RFC 4519
 * §2.39) as `KIND:value`, the convention of Vietnamese public CAs (see CONTEXT.md): relying
 * applications tell a personal certificate from an organisation seal by these prefixes.
 */
export const identifierKinds = ['CCCD', 'CMND', 'HC', 'MST', 'MNS', 'BHXH'] as const;
export type IdentifierKind = (typeof identifierKinds)[number];

export interface VnIdentifier {
  kind: IdentifierKind;
  value: string;
}

/** Weights of the tax-code check digit (Circular 105/2020/TT-BTC, Art. 5: N10 is a check digit). */
const mstWeights = [31, 29, 23, 19, 17, 13, 7, 5, 3];

/** The check digit for the first nine digits of a tax code, or null if no digit fits (never issued). */
export function mstCheckDigit(firstNine: string): number | null {
  const sum = [...firstNine].reduce((acc, d, i) => acc + Number(d) * mstWeights[i], 0);
  const check = 10 - (sum % 11);
  return check === 10 ? null : check;
}

/** Why `value` is not a valid identifier of `kind`, or null when it is. */
export function identifierProblem(kind: IdentifierKind, value: string): string | null {
  switch (kind) {
    case 'CCCD':
      return /^\d{12}$/.test(value) ? null : `CCCD must be 12 digits, got "${value}"`;
    case 'CMND':
      return /^(\d{9}|\d{12})$/.test(value) ? null : `CMND must be 9 or 12 digits, got "${value}"`;
    case 'MNS':
      return /^\d{7}$/.test(value) ? null : `MNS (budget-unit code) must be 7 digits, got "${value}"`;
    case 'BHXH':
      return /^\d{10}$/.test(value) ? null : `BHXH must be 10 digits, got "${value}"`;
    case 'HC':
      // ICAO 9303: a document number of up to 9 characters; Vietnamese passports are a letter + 7 digits.
      return /^[A-Z0-9]{6,9}$/.test(value) && /\d/.test(value)
        ? null
        : `HC (passport number) must be 6 to 9 upper-case letters and digits, got "${value}"`;
    case 'MST': {
      const match = /^(\d{10})(?:-(\d{3}))?$/.exec(value);
      if (!match) return `MST must be 10 digits, or 10 digits, "-" and a 3-digit branch number, got "${value}"`;
      if (match[2] === '000') return `MST branch number must be 001-999, got "${value}"`;
      const expected = mstCheckDigit(match[1].slice(0, 9));
      return expected === Number(match[1][9])
        ? null
        : `MST ${match[1]} fails its check digit (10th digit ${match[1][9]}, expected ${expected ?? 'none: the prefix is never issued'})`;
    }
  }
}

export type ParsedUid = { ok: true; identifier: VnIdentifier } | { ok: false; raw: string; problem: string };

/**
 * Reads one UID value. Prefixes are matched case-insensitively and spaces around ":" tolerated
 * (certificates of other CAs are written by hand-configured tools); the result is canonical.
 */
export function parseUid(raw: string): ParsedUid {
  const match = /^\s*([A-Za-z]+)\s*:\s*(.*?)\s*$/.exec(raw);
  const kind = match?.[1].toUpperCase() as IdentifierKind | undefined;
  if (!match || !kind || !identifierKinds.includes(kind)) {
    return { ok: false, raw, problem: `UID "${raw}" has no known prefix (${identifierKinds.map((k) => `${k}:`).join(', ')})` };
  }
  const value = kind === 'HC' ? match[2].toUpperCase() : match[2];
  const problem = identifierProblem(kind, value);
  return problem ? { ok: false, raw, problem } : { ok: true, identifier: { kind, value } };
}

export function formatUid(identifier: VnIdentifier): string {
  return `${identifier.kind}:${identifier.value}`;
}
