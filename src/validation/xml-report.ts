/**
 * The XML part of a signature report (`signatures[].xml`): where the signature sits, what each
 * reference covers (decided by us: the element with that Id, unique in the document, and its
 * path), the profile it was checked against and the XAdES properties it carries.
 */
import { z } from 'zod';

export const XmlReferenceSchema = z.object({
  uri: z.string().meta({ description: 'the Reference URI as written ("" is the whole document)' }),
  type: z.string().nullable(),
  covers: z
    .object({
      id: z.string().nullable().meta({ description: 'the Id of the covered element; null for the whole document' }),
      path: z.string().meta({ description: 'where the covered element is, e.g. /HDon[1]/DLHDon[1]; "/" for the whole document' }),
      element: z.string().meta({ description: 'the covered element\'s qualified name' }),
    })
    .nullable()
    .meta({ description: 'null when the reference could not be resolved' }),
  transforms: z.array(z.string()),
  digestAlgorithm: z.string().nullable(),
  digestMatches: z.boolean().nullable().meta({ description: 'null when not computed (unresolvable or unsupported)' }),
  length: z.number().int().nullable().meta({ description: 'length of the canonical octets digested' }),
  sha256: z.string().nullable().meta({ description: 'SHA-256 of the canonical octets digested (hex)' }),
});

export const XadesSchema = z.object({
  signedProperties: z.string().nullable().meta({ description: 'the Id of the SignedProperties a reference covers' }),
  signingTime: z.string().nullable().meta({ description: 'SigningTime (claimed; reported, never used as proof of existence)' }),
  signingCertificate: z.enum(['match', 'mismatch', 'absent']),
  policy: z
    .object({ identifier: z.string().nullable(), implied: z.boolean(), digestAlgorithm: z.string().nullable(), digestValue: z.string().nullable() })
    .nullable()
    .meta({ description: 'SignaturePolicyIdentifier (XAdES-EPES); the policy document is not fetched, so its hash is reported, not checked' }),
  signatureTimestamps: z.number().int().meta({ description: 'SignatureTimeStamp elements; the first is validated as the signature time-stamp (its genTime is the proof of existence)' }),
});

export const XmlSignatureInfoSchema = z
  .object({
    id: z.string().nullable().meta({ description: 'the ds:Signature Id' }),
    path: z.string(),
    profile: z.enum(['xmldsig', 'e-invoice']),
    role: z.enum(['seller', 'buyer', 'tax-authority', 'other']).nullable().meta({ description: 'e-invoice: the signer\'s role from where the signature sits (DSCKS/NBan, NMua, CQT, CCKSKhac)' }),
    canonicalization: z.string().nullable(),
    signatureMethod: z.string().nullable(),
    references: z.array(XmlReferenceSchema),
    xades: XadesSchema.nullable(),
  })
  .meta({ description: 'XML signatures only: what each reference covers, by Id and path' });

export type XmlReference = z.infer<typeof XmlReferenceSchema>;
export type XadesInfo = z.infer<typeof XadesSchema>;
export type XmlSignatureInfo = z.infer<typeof XmlSignatureInfoSchema>;
