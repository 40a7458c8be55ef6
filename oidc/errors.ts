/**
 * Refusals of the client registry (`tinnhiem client …`, the admin console's portal pages). OAuth
 * errors of the provider itself are oidc-provider's own classes (`errors.*`); these are not OAuth
 * errors but an administrator's request refused. oidc/ says why, not how it is shown:
 * src/errors/app-error.ts maps each reason to its problem type (and so to an HTTP status and
 * the CLI's exit code).
 */
export type ClientRegistryRefusal =
  /** The metadata breaks our policy or oidc-provider's client schema. */
  | 'invalid-metadata'
  | 'already-registered'
  | 'unknown-client'
  /** A secret rotation for a client that authenticates without one. */
  | 'no-secret';

export interface MetadataProblem {
  /** Dotted path of the input field (`redirectUris.0`), empty for the whole input. */
  path: string;
  message: string;
}

export class ClientRegistryError extends Error {
  constructor(
    readonly reason: ClientRegistryRefusal,
    message: string,
    /** Every problem of invalid input, when the registry's own schema found them. */
    readonly problems?: MetadataProblem[],
  ) {
    super(message);
    this.name = 'ClientRegistryError';
  }
}
