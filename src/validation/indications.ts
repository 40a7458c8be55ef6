/**
 * ETSI EN 319 102-1 §5.1.3 validation indications and the sub-indications this validator
 * reports (the names of Table 5/6, as the EU DSS validator spells them).
 */
export const INDICATIONS = ['TOTAL_PASSED', 'TOTAL_FAILED', 'INDETERMINATE'] as const;
export type Indication = (typeof INDICATIONS)[number];

export const SUB_INDICATIONS = [
  // TOTAL_FAILED
  'FORMAT_FAILURE',
  'HASH_FAILURE',
  'SIG_CRYPTO_FAILURE',
  'REVOKED',
  'EXPIRED',
  'NOT_YET_VALID',
  // INDETERMINATE
  'SIG_CONSTRAINTS_FAILURE',
  'CHAIN_CONSTRAINTS_FAILURE',
  'CRYPTO_CONSTRAINTS_FAILURE',
  'CRYPTO_CONSTRAINTS_FAILURE_NO_POE',
  'NO_SIGNING_CERTIFICATE_FOUND',
  'NO_CERTIFICATE_CHAIN_FOUND',
  'REVOKED_NO_POE',
  'REVOKED_CA_NO_POE',
  'OUT_OF_BOUNDS_NO_POE',
  'OUT_OF_BOUNDS_NOT_REVOKED',
  'TRY_LATER',
  'SIGNED_DATA_NOT_FOUND',
] as const;
export type SubIndication = (typeof SUB_INDICATIONS)[number];

export interface Verdict {
  indication: Indication;
  subIndication: SubIndication | null;
}

export const PASSED: Verdict = { indication: 'TOTAL_PASSED', subIndication: null };
export const failed = (subIndication: SubIndication): Verdict => ({ indication: 'TOTAL_FAILED', subIndication });
export const indeterminate = (subIndication: SubIndication): Verdict => ({ indication: 'INDETERMINATE', subIndication });

const ORDER: Record<Indication, number> = { TOTAL_FAILED: 2, INDETERMINATE: 1, TOTAL_PASSED: 0 };

/** ETSI ordering: a TOTAL_FAILED outranks an INDETERMINATE, which outranks a pass. */
export function worst(verdicts: Array<Verdict | null>): Verdict {
  let result: Verdict = PASSED;
  for (const v of verdicts) if (v && ORDER[v.indication] > ORDER[result.indication]) result = v;
  return result;
}
