/**
 * The validation report: one stable JSON shape for every kind of input (CMS, PDF, raw), in the
 * OpenAPI document as `SignatureValidationReport` and `CertificateValidationReport`.
 */
import { z } from 'zod';
import { INDICATIONS, SUB_INDICATIONS } from './indications.js';
import { XmlSignatureInfoSchema } from './xml-report.js';

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
  origin: z.enum(['signature', 'supplied', 'document']).meta({ description: 'signature: an unsigned attribute of the signature; supplied: sent by the caller in `timestamps`; document: a PDF document time-stamp' }),
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

export const SignedContentSchema = z
  .object({
    source: z.enum(['encapsulated', 'document', 'digest', 'byte-range', 'xml-references', 'none']).meta({ description: 'encapsulated: the content inside the CMS; document: the bytes sent as `document`; digest: only their digest; byte-range: the PDF bytes its /ByteRange names; xml-references: the elements `xml.references` name (length and sha256 are the XML document\'s)' }),
    length: z.number().int().nullable(),
    sha256: z.string().nullable().meta({ description: 'SHA-256 of the verified bytes (hex); null when only a digest was given' }),
    byteRange: z.array(z.number().int()).nullable(),
  })
  .meta({ description: 'which bytes the signature was verified over' });

export const ProofOfExistenceSchema = z
  .object({
    time: z.string(),
    source: z.enum(['signature-timestamp', 'supplied-timestamp', 'document-timestamp']),
    tsa: z.string().nullable(),
  })
  .meta({ description: 'the earliest time the signature is proven to have existed: only a valid RFC 3161 time-stamp from a TSA trusted for time-stamping' });

export const ClaimedTimesSchema = z
  .object({
    signingTime: z.string().nullable().meta({ description: 'the signingTime signed attribute' }),
    pdfSigningTime: z.string().nullable().meta({ description: '/M of the PDF signature dictionary' }),
    requestedValidationTime: z.string().nullable().meta({ description: 'the caller\'s validationTime' }),
  })
  .meta({ description: 'times asserted by the signer or the caller: reported, never used as proof of existence (docs/validation.md)' });

export const CounterSignatureSchema = z.object({
  id: z.string(),
  indication: z.enum(INDICATIONS),
  subIndication: z.enum(SUB_INDICATIONS).nullable(),
  signer: SignerSchema.nullable(),
  claimedSigningTime: z.string().nullable(),
  algorithms: z.object({ digest: z.string().nullable(), signature: z.string().nullable(), weak: z.boolean() }),
  chain: z.array(ChainElementSchema),
  revocation: z.array(RevocationEvidenceSchema),
  errors: z.array(z.string()),
  warnings: z.array(z.string()),
});

export const SignatureReportSchema = z.object({
  id: z.string(),
  format: z.enum(['CMS', 'PAdES-B', 'PDF-PKCS7', 'RAW', 'XMLDSig', 'XAdES-BES', 'XAdES-EPES', 'XAdES-T', 'UNSUPPORTED']),
  indication: z.enum(INDICATIONS),
  subIndication: z.enum(SUB_INDICATIONS).nullable(),
  signer: SignerSchema.nullable(),
  signingTime: z.object({
    claimed: z.string().nullable().meta({ description: 'signingTime signed attribute' }),
    timestamp: z.string().nullable().meta({ description: 'genTime of a valid RFC 3161 signature time-stamp' }),
  }),
  validationTime: z.string().meta({ description: 'the time the certificates were checked at: the proof of existence, else the current time' }),
  validationTimeSource: z.enum(['timestamp', 'current']),
  poe: ProofOfExistenceSchema.nullable(),
  claimedTimes: ClaimedTimesSchema,
  signedContent: SignedContentSchema,
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
  suppliedTimestamps: z.array(TimestampSchema).meta({ description: 'the caller\'s time-stamp tokens whose message imprint is this signature value' }),
  counterSignatures: z.array(CounterSignatureSchema).meta({ description: 'RFC 5652 §11.4 countersignatures over this signature value' }),
  pdf: PdfSignatureInfoSchema.nullable(),
  xml: XmlSignatureInfoSchema.optional(),
  errors: z.array(z.string()),
  warnings: z.array(z.string()),
});

export const PdfChangeSchema = z.object({
  revision: z.number().int().meta({ description: 'the revision (1 = original) the change belongs to' }),
  byteRange: z.array(z.number().int()).meta({ description: '[start, end) of the changed bytes' }),
  kind: z.enum(['signature', 'document-timestamp', 'dss', 'form-fill', 'annotation', 'structure', 'other']).meta({ description: 'structure: the catalog, AcroForm, page /Annots and appearance objects that signatures, form fill-in and annotations need; other: anything else (page content, fonts, objects that cannot be read)' }),
  objects: z.array(z.string()).meta({ description: 'the objects of the change ("12 0 obj: /Type /Annot /Subtype /Text")' }),
  afterSignatures: z.array(z.string()).meta({ description: 'the signatures this change follows' }),
  signedBy: z.array(z.string()).meta({ description: 'later signatures that cover it' }),
  allowed: z.boolean(),
  reason: z.string().nullable(),
});

export const DocumentReportSchema = z
  .object({
    indication: z.enum(INDICATIONS),
    subIndication: z.enum(SUB_INDICATIONS).nullable(),
    revisions: z.number().int(),
    certification: z.object({ signature: z.string(), permissions: z.number().int() }).nullable().meta({ description: 'DocMDP (ISO 32000-1 §12.8.2.2): 1 no changes, 2 form fill-in and signing, 3 also annotations' }),
    lockedFields: z.array(z.string()).meta({ description: 'fields locked by FieldMDP (§12.8.2.4)' }),
    changes: z.array(PdfChangeSchema),
    timestamps: z.array(TimestampSchema).meta({ description: 'PDF document time-stamps (ETSI.RFC3161)' }),
    errors: z.array(z.string()),
    warnings: z.array(z.string()),
  })
  .meta({ description: 'the PDF as a whole: is everything after each signature signed or allowed by its permissions' });

export const SignatureValidationReportSchema = z.object({
  documentType: z.enum(['cms', 'pdf', 'raw', 'xml']),
  validatedAt: z.string(),
  policy: z.string().meta({ description: 'the validation policy applied' }),
  indication: z.enum(INDICATIONS).meta({ description: 'worst of the signatures and, for a PDF, the document (TOTAL_FAILED > INDETERMINATE > TOTAL_PASSED); INDETERMINATE when there is no signature' }),
  signatures: z.array(SignatureReportSchema),
  document: DocumentReportSchema.nullable(),
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
export type SignedContent = z.infer<typeof SignedContentSchema>;
export type ProofOfExistence = z.infer<typeof ProofOfExistenceSchema>;
export type CounterSignatureReport = z.infer<typeof CounterSignatureSchema>;
export type DocumentReport = z.infer<typeof DocumentReportSchema>;
export type PdfChange = z.infer<typeof PdfChangeSchema>;
