import type { ClientMetadata } from 'oidc-provider';
import type { OidcSettings } from '../settings.js';

export const ACCOUNT_CLIENT_ID = 'tinnhiem-account';
export const accountCallbackPath = '/account/callback';

/** The account page signs people in through the provider like any portal (and only that). */
export function accountPageClient(settings: Pick<OidcSettings, 'publicUrl'>): ClientMetadata {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: 'Tài khoản · tinnhiem',
    token_endpoint_auth_method: 'none',
    response_types: ['none'],
    grant_types: [],
    redirect_uris: [`${settings.publicUrl}${accountCallbackPath}`],
    post_logout_redirect_uris: [`${settings.publicUrl}/account`],
    first_party: true,
  };
}
