/**
 * Certificate profiles: declarative JSON files in this directory (one per profile, the file named
 * after its id), validated by a zod schema when loaded. A profile says what may be asked for (key
 * types, subject attributes, identifiers) and what the CA writes (validity, key usages, policies,
 * revocation pointers). The linter checks every certificate against its profile before signing.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CaError } from '../errors.js';
import { keyUsageNames } from '../asn1/extensions.js';
import { extendedKeyUsageOids, type ExtendedKeyUsage } from '../asn1/oids.js';
import { identifierKinds } from '../asn1/vn-identifiers.js';

export const defaultProfileDirectory = fileURLToPath(new URL('.', import.meta.url));

const attribute = z.enum(['C', 'ST', 'L', 'O', 'OU', 'CN', 'E']);
const uidKind = z.enum(identifierKinds);
const presence = z.enum(['required', 'optional', 'forbidden']);
/**
 * A policy OID: absolute, or `arc.<n>…` under the operator's arc (CA_POLICY_ARC), resolved at load.
 * Every arc below 2^31: GnuTLS (certtool: "ASN1 parser: Error in DER parsing") and NSS
 * ("OID.2.25.UNSUPPORTED") cannot decode the 128-bit arcs of 2.25.<UUID> (X.667).
 */
const policyOid = z
  .string()
  .regex(/^(arc|[0-2])(\.(0|[1-9]\d*))+$/, 'expected a dotted object identifier, or arc.<n>… under CA_POLICY_ARC')
  .refine((v) => v.split('.').every((arc) => arc === 'arc' || Number(arc) < 2 ** 31), 'every arc of a policy OID must be below 2^31 (GnuTLS and NSS cannot decode larger ones)');

/** Development default of CA_POLICY_ARC: X.660's example arc, which OpenSSL, GnuTLS and NSS decode. */
export const DEV_POLICY_ARC = '2.999';
const period = z.number().int().min(0).max(100_000).optional();
// A DNS zone of the operator's (RFC 1034 §3.5 LDH labels, at least two, no wildcard).
const dnsSuffix = z
  .string()
  .transform((v) => v.trim().toLowerCase().replace(/\.$/, ''))
  .pipe(z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/, 'expected a DNS zone such as soctrang.gov.vn'));

export const profileSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and "-"'),
    description: z.string().min(1),
    /** root-ca: self-signed; issuing-ca: signed by the root (or an external root); end-entity: holders. */
    type: z.enum(['root-ca', 'issuing-ca', 'end-entity']),
    /** RFC 5280 §4.2.1.9; CA profiles only; absent = unlimited. */
    pathLenConstraint: z.number().int().min(0).max(10).optional(),
    /** Public keys a request may carry (RFC 5480 named curves, RSA modulus sizes). */
    keys: z
      .strictObject({
        ec: z.array(z.enum(['P-256', 'P-384', 'P-521'])).default([]),
        rsa: z.array(z.union([z.literal(2048), z.literal(3072), z.literal(4096)])).default([]),
      })
      .refine((k) => k.ec.length + k.rsa.length > 0, 'allow at least one key type'),
    subject: z.strictObject({
      required: z.array(attribute).default([]),
      optional: z.array(attribute).default([]),
      /** UID identifiers: each `required` group needs one of its kinds; at most one UID per kind. */
      uid: z
        .strictObject({ required: z.array(z.array(uidKind).min(1)).default([]), optional: z.array(uidKind).default([]) })
        .default({ required: [], optional: [] }),
    }),
    subjectAltName: z
      .strictObject({ email: presence.default('forbidden'), dns: presence.default('forbidden') })
      .default({ email: 'forbidden', dns: 'forbidden' }),
    /**
     * DNS zones whose names (at or below) the profile may certify (docs/ca.md, "Name policy");
     * none: no DNS name at all. CA_DNS_SUFFIXES adds to it per profile.
     */
    dnsSuffixes: z.array(dnsSuffix).default([]),
    /** RFC 5280 §4.2.1.10, CA profiles only: the DNS zones below this CA (CA_ISSUING_NAME_CONSTRAINTS fills it). */
    nameConstraints: z.strictObject({ permittedDns: z.array(dnsSuffix).min(1) }).optional(),
    /** Calendar period from notBefore; the certificate ends one second before (RFC 5280 §4.1.2.5 is inclusive). */
    validity: z
      .strictObject({ years: period, months: period, days: period, hours: period })
      .refine((v) => Object.values(v).some((n) => n && n > 0), 'give a positive years, months, days or hours'),
    keyUsage: z.array(z.enum(keyUsageNames)).min(1),
    extendedKeyUsage: z.array(z.enum(Object.keys(extendedKeyUsageOids) as [ExtendedKeyUsage, ...ExtendedKeyUsage[]])).default([]),
    /** certificatePolicies (RFC 5280 §4.2.1.4) OIDs; empty = no extension. */
    policies: z.array(policyOid).default([]),
    /** Add the issuer's CRL URL (RFC 5280 §4.2.1.13). */
    crlDistributionPoints: z.boolean().default(false),
    /** Add the issuer's delta CRL URL (RFC 5280 §4.2.1.15). */
    freshestCrl: z.boolean().default(false),
    /** RFC 5280 §4.2.2.1: the issuer's certificate URL and the OCSP responder URL. */
    authorityInfoAccess: z
      .strictObject({ caIssuers: z.boolean().default(false), ocsp: z.boolean().default(false) })
      .default({ caIssuers: false, ocsp: false }),
    /** RFC 6960 §4.2.2.2.1 id-pkix-ocsp-nocheck, for delegated OCSP signers. */
    ocspNoCheck: z.boolean().default(false),
    /** Distinct RA officers who must approve a request (none may be its requester). */
    approvals: z.number().int().min(0).max(10),
  })
  .superRefine((p, ctx) => {
    const problem = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const isCa = p.type !== 'end-entity';
    // RFC 5280 §4.2.1.3 / §4.2.1.9: keyCertSign if and only if cA.
    if (isCa !== p.keyUsage.includes('keyCertSign')) problem(['keyUsage'], isCa ? 'a CA profile needs keyCertSign' : 'keyCertSign is for CA profiles');
    if (!isCa && p.keyUsage.includes('cRLSign')) problem(['keyUsage'], 'cRLSign is for CA profiles');
    if (!isCa && p.pathLenConstraint !== undefined) problem(['pathLenConstraint'], 'only CA profiles have a path length');
    if (p.type === 'root-ca' && (p.crlDistributionPoints || p.freshestCrl || p.authorityInfoAccess.caIssuers || p.authorityInfoAccess.ocsp)) {
      problem(['type'], 'a self-signed root is a trust anchor (RFC 5280 §6.1.1): no CRL or AIA pointers');
    }
    if (p.freshestCrl && !p.crlDistributionPoints) problem(['freshestCrl'], 'a delta CRL pointer needs crlDistributionPoints');
    if (p.ocspNoCheck && !p.extendedKeyUsage.includes('OCSPSigning')) problem(['ocspNoCheck'], 'ocsp-nocheck is for OCSPSigning certificates');
    if (p.nameConstraints && !isCa) problem(['nameConstraints'], 'name constraints are for CA profiles (RFC 5280 §4.2.1.10)');
    if (p.dnsSuffixes.length && p.subjectAltName.dns === 'forbidden') problem(['dnsSuffixes'], 'DNS suffixes for a profile that forbids DNS names');
    const both = p.subject.required.filter((a) => p.subject.optional.includes(a));
    if (both.length) problem(['subject', 'optional'], `${both.join(', ')} also listed as required`);
    if (p.subject.required.length === 0 && p.subjectAltName.email !== 'required' && p.subjectAltName.dns !== 'required') {
      problem(['subject', 'required'], 'require a subject attribute or a subjectAltName (RFC 5280 §4.1.2.6)');
    }
  });

export type Profile = z.output<typeof profileSchema>;

function formatIssues(error: z.ZodError, source: string): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || '(root)';
      return `${source}: ${path}: ${issue.message}`;
    })
    .join('; ');
}

/** Validates one profile; `source` (the file) prefixes every error, e.g. `tls-server.json: validity: …`. */
export function parseProfile(json: unknown, source: string): Profile {
  const result = profileSchema.safeParse(json);
  if (!result.success) throw new CaError('misconfigured', `invalid certificate profile ${formatIssues(result.error, source)}`);
  return result.data;
}

export type Profiles = ReadonlyMap<string, Profile>;

/** Loads every `*.json` of `directory` (the profiles shipped here by default). */
export async function loadProfiles(directory: string = defaultProfileDirectory, options: { policyArc?: string } = {}): Promise<Profiles> {
  const arc = options.policyArc ?? DEV_POLICY_ARC;
  const files = (await readdir(directory)).filter((f) => f.endsWith('.json')).sort();
  const profiles = new Map<string, Profile>();
  for (const file of files) {
    const path = join(directory, file);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new CaError('misconfigured', `invalid certificate profile ${path}: ${(error as Error).message}`, { cause: error });
    }
    const parsed = parseProfile(json, path);
    const profile = { ...parsed, policies: parsed.policies.map((p) => (p.startsWith('arc.') ? `${arc}${p.slice(3)}` : p)) };
    if (profile.id !== basename(file, '.json')) {
      throw new CaError('misconfigured', `invalid certificate profile ${path}: id: "${profile.id}" differs from the file name`);
    }
    profiles.set(profile.id, profile);
  }
  return profiles;
}

/**
 * The profiles with the operator's settings: DNS suffixes (CA_DNS_SUFFIXES: profile id → zones)
 * added to the ones each profile declares, and approvals (CA_PROFILE_APPROVALS: profile id → n)
 * replacing the profile's. An unknown profile, or suffixes for one that forbids DNS names, is a
 * configuration error.
 */
export function withOperatorSettings(
  profiles: Profiles,
  settings: { dnsSuffixes?: Readonly<Record<string, readonly string[]>>; approvals?: Readonly<Record<string, number>>; issuingNameConstraints?: boolean },
): Profiles {
  const result = new Map(profiles);
  const known = (id: string, variable: string) => {
    const profile = result.get(id);
    if (!profile) throw new CaError('misconfigured', `${variable}: no certificate profile "${id}"`);
    return profile;
  };
  for (const [id, suffixes] of Object.entries(settings.dnsSuffixes ?? {})) {
    const profile = known(id, 'CA_DNS_SUFFIXES');
    result.set(id, parseProfile({ ...profile, dnsSuffixes: [...new Set([...profile.dnsSuffixes, ...suffixes])] }, `CA_DNS_SUFFIXES.${id}`));
  }
  for (const [id, approvals] of Object.entries(settings.approvals ?? {})) {
    result.set(id, parseProfile({ ...known(id, 'CA_PROFILE_APPROVALS'), approvals }, `CA_PROFILE_APPROVALS.${id}`));
  }
  if (settings.issuingNameConstraints) {
    // New issuing CAs may certify DNS names only in the zones some end-entity profile allows.
    const zones = [...new Set([...result.values()].filter((p) => p.type === 'end-entity').flatMap((p) => p.dnsSuffixes))];
    if (!zones.length) throw new CaError('misconfigured', 'CA_ISSUING_NAME_CONSTRAINTS: no profile has DNS suffixes to constrain the issuing CA to (set CA_DNS_SUFFIXES)');
    for (const [id, profile] of result) {
      if (profile.type === 'issuing-ca') result.set(id, parseProfile({ ...profile, nameConstraints: { permittedDns: zones } }, 'CA_ISSUING_NAME_CONSTRAINTS'));
    }
  }
  return result;
}

export function getProfile(profiles: Profiles, id: string): Profile {
  const profile = profiles.get(id);
  if (!profile) throw new CaError('profileNotFound', `no certificate profile "${id}"; known: ${[...profiles.keys()].join(', ')}`);
  return profile;
}
