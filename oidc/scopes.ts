/**
 * Scopes and the claims they release (OIDC Core §5.4 for the standard ones). `vn_identity` and
 * `vn_official` are ours; the API scopes are granted for the service's own API resource only.
 */
export const CLAIMS_BY_SCOPE = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at', 'locale'],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  // National identity: CCCD, account type (citizen / enterprise / organisation / official), tax
  // code of an organisation login, the upstream identity provider's identifiers.
  vn_identity: ['vn_national_id', 'vn_account_type', 'vn_tax_code', 'vn_upstream'],
  // Officials: agency, unit, position and roles in the provincial administration.
  vn_official: ['vn_agency', 'vn_unit', 'vn_position', 'vn_roles'],
} as const;

export const OIDC_SCOPES = ['openid', 'offline_access', ...Object.keys(CLAIMS_BY_SCOPE).filter((s) => s !== 'openid')];

/** Least privilege on the REST API: each scope opens one family of operations. */
// documents:register: an agency's document system registers what it issues for QR verification (docs/verify.md).
export const API_SCOPES = ['certs:read', 'certs:request', 'certs:approve', 'certs:revoke', 'signatures:validate', 'admin', 'certs:read:pii', 'documents:register'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export const ALL_SCOPES: string[] = [...OIDC_SCOPES, ...API_SCOPES];

/** Which API scopes an account's roles allow it to be granted through a login. */
export const SCOPES_BY_ROLE: Record<string, readonly ApiScope[]> = {
  // certs:read:pii: national ID, tax and insurance numbers in full (docs/ca.md, "Personal data").
  admin: ['admin', 'certs:read', 'certs:request', 'certs:approve', 'certs:revoke', 'signatures:validate', 'certs:read:pii'],
  'ra-officer': ['certs:read', 'certs:request', 'certs:approve', 'certs:revoke', 'signatures:validate', 'certs:read:pii'],
  auditor: ['certs:read', 'signatures:validate'],
  official: ['certs:read', 'certs:request', 'signatures:validate'],
};

/** Authentication context classes (low → high) and RFC 8176 methods. */
export const ACR = {
  low: 'urn:tinnhiem:acr:low',
  substantial: 'urn:tinnhiem:acr:substantial',
  high: 'urn:tinnhiem:acr:high',
} as const;
export const ACR_ORDER: readonly string[] = [ACR.low, ACR.substantial, ACR.high];

/** API scopes that only a high-assurance login (passkey or certificate) may be granted. */
export const HIGH_ACR_SCOPES: readonly ApiScope[] = ['admin', 'certs:approve', 'certs:revoke'];

/** Whether `acr` is at least `required` on the ACR_ORDER scale (absent or unknown is below every level). */
export const acrAtLeast = (acr: string | undefined, required: string) => acr !== undefined && ACR_ORDER.includes(acr) && ACR_ORDER.indexOf(acr) >= ACR_ORDER.indexOf(required);
