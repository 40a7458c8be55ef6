/** People who log in: citizens (created by federation), officials (local), and organisations. */
export const ACCOUNT_KINDS = ['citizen', 'official', 'enterprise', 'organisation'] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];

/** Roles of officials; the API scopes they may be granted follow from them (docs/identity.md). */
export const ROLES = ['admin', 'ra-officer', 'auditor', 'official'] as const;
export type Role = (typeof ROLES)[number];

export interface Account {
  id: string;
  kind: AccountKind;
  username: string | null;
  /** Personal identification number (CCCD, 12 digits): one national ID is one person. */
  nationalId: string | null;
  fullName: string;
  givenName: string | null;
  familyName: string | null;
  email: string | null;
  emailVerified: boolean;
  phone: string | null;
  agency: string | null;
  unit: string | null;
  position: string | null;
  roles: Role[];
  status: 'active' | 'disabled';
  attributes: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export const CCCD = /^\d{12}$/;

/** Vietnamese names: family name first, given name last ("Nguyễn Văn An" → Nguyễn / An). */
export function splitVietnameseName(fullName: string): { familyName: string | null; givenName: string | null } {
  const parts = fullName.trim().split(/\s+/);
  if (parts.length < 2) return { familyName: null, givenName: parts[0] || null };
  return { familyName: parts[0], givenName: parts[parts.length - 1] };
}
