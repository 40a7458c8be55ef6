/**
 * RFC 5280 §5.3.1 CRLReason codes (value 7 is unused). A module of its own, without ASN.1 code, so that what only
 * names the reasons (the registry's records, the CLI's option help) loads no pkijs.
 */
export const revocationReasons = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type RevocationReason = keyof typeof revocationReasons;
