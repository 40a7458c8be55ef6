import type { AccountClaims } from 'oidc-provider';
import type { Account } from './account.js';

/**
 * Claims of an account, by claim name; oidc-provider releases them by scope (oidc/scopes.ts).
 * Only claims with a value are returned (OIDC Core §5.3.2: absent rather than null).
 */
export function accountClaims(account: Account): AccountClaims {
  const upstream = account.attributes.upstream as Record<string, unknown> | undefined;
  const claims: Record<string, unknown> = {
    sub: account.id,
    name: account.fullName,
    given_name: account.givenName,
    family_name: account.familyName,
    preferred_username: account.username,
    updated_at: Math.floor(account.updatedAt.getTime() / 1000),
    locale: 'vi-VN',
    email: account.email,
    email_verified: account.email ? account.emailVerified : undefined,
    phone_number: account.phone,
    phone_number_verified: account.phone ? Boolean(account.attributes.phoneVerified) : undefined,
    vn_national_id: account.nationalId,
    vn_account_type: account.kind,
    vn_tax_code: account.attributes.taxCode,
    vn_upstream: upstream,
    vn_agency: account.agency,
    vn_unit: account.unit,
    vn_position: account.position,
    vn_roles: account.kind === 'official' ? account.roles : undefined,
  };
  return { sub: account.id, ...Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== null && v !== undefined)) };
}
