/**
 * The CA domain's errors, in the domain's words: what is wrong with the input, the policy or the
 * CA itself. No HTTP status or OAuth code here: the transport maps each kind through the one
 * table in src/errors/app-error.ts (docs/architecture.md, "Errors").
 */
export const caErrorKinds = [
  /** Input that is not usable at all: malformed PEM or DER, a bad key name or type, a wrong profile type. */
  'badInput',
  /** A certificate signing request (RFC 2986) that cannot be used: malformed, badly signed, weak. */
  'badCsr',
  /** A certificate that cannot be used here: malformed, or not the CA certificate it should be. */
  'badCertificate',
  /** A request the certificate policy refuses: its names, its key, key reuse. */
  'policyViolation',
  /** The request names a certificate profile the CA does not have. */
  'profileNotFound',
  /** The request clashes with what exists: a key that already exists, an issuer without certificate. */
  'conflict',
  /** A certificate the CA built fails its pre-issuance lint: a CA-side fault, never signed. */
  'lintFailed',
  /** The CA's set-up is wrong: keys, key files, profiles, issuer validity. */
  'misconfigured',
  /** A broken invariant of the CA's own making (a bad serial, a signature that does not verify). */
  'internal',
] as const;

export type CaErrorKind = (typeof caErrorKinds)[number];

export class CaError extends Error {
  /** The individual problems when there are several (policy, lint), for the client to list. */
  readonly problems?: readonly unknown[];

  constructor(
    readonly kind: CaErrorKind,
    readonly detail: string,
    options: { problems?: readonly unknown[]; cause?: unknown } = {},
  ) {
    super(detail, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = 'CaError';
    if (options.problems) this.problems = options.problems;
  }
}
