import type { ClientMetadata } from 'oidc-provider';
import type { OidcSettings } from '../settings.js';

export const ADMIN_CLIENT_ID = 'tinnhiem-admin';
export const adminCallbackPath = '/admin/callback';

/**
 * The administration console is a first-party client of our own provider, like the account page:
 * it signs officials in through /oidc (response type `none`: no code or token to redeem or leak)
 * and reads the provider's session. Its API scopes are what a step-up asks for: requesting them
 * for the API resource makes the provider's step-up check (oidc/step-up.ts) demand a passkey or
 * a certificate when the session is below high assurance.
 */
export function adminConsoleClient(settings: Pick<OidcSettings, 'publicUrl'>): ClientMetadata {
  return {
    client_id: ADMIN_CLIENT_ID,
    client_name: 'Quản trị · tinnhiem',
    token_endpoint_auth_method: 'none',
    response_types: ['none'],
    grant_types: [],
    redirect_uris: [`${settings.publicUrl}${adminCallbackPath}`],
    post_logout_redirect_uris: [`${settings.publicUrl}/admin`],
    first_party: true,
    api_scopes: 'admin certs:read certs:request certs:approve certs:revoke',
  };
}
