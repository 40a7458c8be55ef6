/**
 * The validation report: one stable JSON shape for every kind of input (CMS, PDF, raw), in the
 * OpenAPI document as `SignatureValidationReport` and `CertificateValidationReport`.
 */
import { z } from 'zod';
import { INDICATIONS, SUB_INDICATIONS } from './indications.js';

export const CertificateSummarySchema = z.object({
  subject: z.string(),
  issuer: z.string(),
  serial: z.string().meta({ description: 'lower-case hex' }),
  notBefore: z.string(),
  notAfter: z.string(),
  sha256: z.string(),
  key: z.string().meta({ example: 'RSA-2048' }),
  signatureAlgorithm: z.string(),
});

export const ChainElementSchema = CertificateSummarySchema.extend({
  source: z.enum(['signature', 'request', 'trust-store', 'our-ca', 'configured', 'aia']).meta({ description: 'where the certificate came from' }),
  trustAnchor: z.boolean(),
});

export const RevocationEvidenceSchema = z.object({
  serial: z.string(),
  subject: z.string(),
  source: z.enum(['registry', 'ocsp', 'crl', 'none']).meta({ description: 'our registry for certificates we issued; the issuer\'s OCSP responder or CRL for others' }),
  status: z.enum(['good', 'revoked', 'hold', 'unknown', 'unavailable', 'not-checked']),
  revokedAt: z.string().nullable(),
  reason: z.string().nullable(),
  producedAt: z.string().nullable().meta({ description: 'when the evidence was produced (registry read, OCSP producedAt, CRL thisUpdate)' }),
  url: z.string().nullable(),
  note: z.string().nullable(),
});

export const SignerSchema = z.object({
  name: z.string().nullable(),
  subject: z.string(),
  organization: z.string().nullable(),
  organizationalUnits: z.array(z.string()),
  locality: z.string().nullable(),
  emails: z.array(z.string()),
  holder: z.enum(['person', 'organisation', 'unknown']),
  personalId: z.object({ kind: z.enum(['CCCD', 'CMND', 'HC']), value: z.string() }).nullable(),
  nationalId: z.string().nullable().meta({ description: 'CCCD from a UID attribute' }),
  taxCode: z.string().nullable().meta({ description: 'MST from a UID attribute' }),
  budgetCode: z.string().nullable().meta({ description: 'MNS from a UID attribute' }),
  serial: z.string(),
  issuer: z.string(),
  sha256: z.string(),
});

export const TimestampSchema = z.object({
  genTime: z.string().nullable(),
  tsa: z.string().nullable(),
  indication: z.enum(INDICATIONS),
  subIndication: z.enum(SUB_INDICATIONS).nullable(),
  messageImprintMatches: z.boolean(),
  chain: z.array(ChainElementSchema),
  errors: z.array(z.string()),
  warnings: z.array(z.string()),
});

export const PdfSignatureInfoSchema = z.object({
  field: z.string().nullable(),
  subFilter: z.string().nullable(),
  byteRange: z.array(z.number().int()),
  revision: z.number().int().meta({ description: 'the revision (1 = original) this signature covers' }),
  revisions: z.number().int(),
  coversWholeDocument: z.boolean(),
  changesAfterSigning: z.enum(['none', 'signed-revisions', 'unsigned-changes']).meta({ description: 'signed-revisions: every later revision is covered by a later signature' }),
  name: z.string().nullable(),
  reason: z.string().nullable(),
  location: z.string().nullable(),
  contactInfo: z.string().nullable(),
  signingTime: z.string().nullable().meta({ description: '/M of the signature dictionary (claimed)' }),
});

export const SignatureReportSchema = z.object({
  id: z.string(),
  format: z.enum(['CMS', 'PAdES-B', 'PDF-PKCS7', 'RAW', 'UNSUPPORTED']),
  indication: z.enum(INDICATIONS),
  subIndication: z.enum(SUB_INDICATIONS).nullable(),
  signer: SignerSchema.nullable(),
  signingTime: z.object({
    claimed: z.string().nullable().meta({ description: 'signingTime signed attribute' }),
    timestamp: z.string().nullable().meta({ description: 'genTime of a valid RFC 3161 signature time-stamp' }),
  }),
  validationTime: z.string(),
  validationTimeSource: z.enum(['timestamp', 'claimed', 'request', 'current']),
  algorithms: z.object({ digest: z.string().nullable(), signature: z.string().nullable(), weak: z.boolean() }),
  signedAttributes: z.object({
    present: z.boolean(),
    messageDigest: z.enum(['match', 'mismatch', 'absent', 'not-checked']),
    contentType: z.enum(['match', 'mismatch', 'absent']),
    signingCertificate: z.enum(['match', 'mismatch', 'absent']),
  }),
  chain: z.array(ChainElementSchema),
  revocation: z.array(RevocationEvidenceSchema),
  timestamp: TimestampSchema.nullable(),
  pdf: PdfSignatureInfoSchema.nullable(),
  errors: z.array(z.string()),
  warnings: z.array(z.string()),
});

export const SignatureValidationReportSchema = z.object({
  documentType: z.enum(['cms', 'pdf', 'raw']),
  validatedAt: z.string(),
  indication: z.enum(INDICATIONS).meta({ description: 'worst of the signatures (TOTAL_FAILED > INDETERMINATE > TOTAL_PASSED); INDETERMINATE when there is none' }),
  signatures: z.array(SignatureReportSchema),
  summary: z.object({ total: z.number().int(), passed: z.number().int(), failed: z.number().int(), indeterminate: z.number().int() }),
  warnings: z.array(z.string()),
});

export const CertificateValidationReportSchema = z.object({
  validatedAt: z.string(),
  validationTime: z.string(),
  indication: z.enum(INDICATIONS),
  subIndication: z.enum(SUB_INDICATIONS).nullable(),
  certificate: CertificateSummarySchema,
  holder: SignerSchema,
  chain: z.array(ChainElementSchema),
  revocation: z.array(RevocationEvidenceSchema),
  errors: z.array(z.string()),
  warnings: z.array(z.string()),
});

export type ChainElement = z.infer<typeof ChainElementSchema>;
export type RevocationEvidence = z.infer<typeof RevocationEvidenceSchema>;
export type SignatureReport = z.infer<typeof SignatureReportSchema>;
export type SignatureValidationReport = z.infer<typeof SignatureValidationReportSchema>;
export type CertificateValidationReport = z.infer<typeof CertificateValidationReportSchema>;
export type TimestampReport = z.infer<typeof TimestampSchema>;
export type PdfSignatureInfo = z.infer<typeof PdfSignatureInfoSchema>;
