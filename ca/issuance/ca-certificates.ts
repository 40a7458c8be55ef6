/**
 * The CA's own hierarchy: a self-signed root, issuing CAs under it (pathLen 0), and the
 * external-root flow, where the issuing CA's CSR goes to another CA (e.g. the government CA) and
 * the certificate that comes back is checked before it is used.
 */
import * as asn1js from 'asn1js';
import { CaError } from '../errors.js';
import { readSignatureAlgorithm, verifySignature } from '../asn1/algorithms.js';
import { certificateFacts, parseCertificate } from '../asn1/certificate.js';
import { bytesEqual, der, derTag, tlv, wholeSeconds } from '../asn1/der.js';
import { basicConstraints, encodeExtensions, extension, keyUsageBitString, octetString } from '../asn1/extensions.js';
import { encodeName, type SubjectFields } from '../asn1/names.js';
import { oid } from '../asn1/oids.js';
import { keyIdentifier, samePublicKey } from '../asn1/public-key.js';
import type { SigningKey } from '../keys/key-store.js';
import type { Profile } from '../profiles/profile.js';
import { issuerFromCertificate, issuerUrls, type Issuer } from './issuer.js';
import { checkKeyPolicy } from './key-policy.js';
import { checkNamePolicy } from './name-policy.js';
import { prepareCertificate } from './prepare.js';
import { requestForKey } from './request.js';
import { signCertificate, signStructure } from './sign.js';
import { validityEnd } from './template.js';

export interface CaCertificate {
  certificate: Uint8Array;
  issuer: Issuer;
}

function expectType(profile: Profile, type: Profile['type']): void {
  if (profile.type !== type) throw new CaError('badInput', `profile ${profile.id} is a ${profile.type} profile, not ${type}`);
}

export interface RootParams {
  id: string;
  key: SigningKey;
  subject: SubjectFields;
  profile: Profile;
  now: Date;
  serial: string;
  publicUrl: string;
}

/** A self-signed root (RFC 5280 §3.2): its own issuer, AKI = SKI. */
export async function createRootCertificate(params: RootParams): Promise<CaCertificate> {
  expectType(params.profile, 'root-ca');
  checkKeyPolicy(params.key.spki, params.profile);
  const request = checkNamePolicy(requestForKey(params.key.spki, params.subject), params.profile);
  const notBefore = wholeSeconds(params.now);
  const self: Issuer = {
    id: params.id,
    subject: encodeName(request.subject),
    spki: params.key.spki,
    keyIdentifier: keyIdentifier(params.key.spki),
    notBefore,
    notAfter: validityEnd(notBefore, params.profile.validity),
    pathLenConstraint: params.profile.pathLenConstraint ?? null,
    signatureAlgorithm: params.key.algorithm,
    urls: issuerUrls(params.publicUrl, params.id),
    certificate: null,
  };
  const prepared = prepareCertificate({ request, profile: params.profile, issuer: self, now: notBefore, serial: params.serial });
  const certificate = await signCertificate(prepared, self, params.key);
  return { certificate, issuer: issuerFromCertificate({ id: params.id, certificate, publicUrl: params.publicUrl, signatureAlgorithm: params.key.algorithm }) };
}

export interface SubordinateParams {
  id: string;
  /** The new CA's key (its private half is not used here). */
  key: Pick<SigningKey, 'spki' | 'algorithm'>;
  subject: SubjectFields;
  profile: Profile;
  parent: Issuer;
  parentKey: SigningKey;
  now: Date;
  serial: string;
  publicUrl: string;
}

/** An issuing CA certified by our own root. */
export async function createIssuingCertificate(params: SubordinateParams): Promise<CaCertificate> {
  expectType(params.profile, 'issuing-ca');
  const prepared = prepareCertificate({
    request: requestForKey(params.key.spki, params.subject),
    profile: params.profile,
    issuer: params.parent,
    now: params.now,
    serial: params.serial,
  });
  const certificate = await signCertificate(prepared, params.parent, params.parentKey);
  return { certificate, issuer: issuerFromCertificate({ id: params.id, certificate, publicUrl: params.publicUrl, signatureAlgorithm: params.key.algorithm }) };
}

/**
 * The issuing CA's PKCS#10 request for an external root (RFC 2986 §4.1), asking through the
 * extensionRequest attribute (RFC 2985 §5.4.2) for a CA certificate with pathLen 0.
 */
export async function createCaCsr(params: { key: SigningKey; subject: SubjectFields; profile: Profile }): Promise<Uint8Array> {
  expectType(params.profile, 'issuing-ca');
  checkKeyPolicy(params.key.spki, params.profile);
  const request = checkNamePolicy(requestForKey(params.key.spki, params.subject), params.profile);
  const extensions = encodeExtensions([
    extension(oid.basicConstraints, true, basicConstraints(true, params.profile.pathLenConstraint)),
    extension(oid.keyUsage, true, keyUsageBitString(params.profile.keyUsage)),
    extension(oid.subjectKeyIdentifier, false, octetString(keyIdentifier(params.key.spki))),
  ]);
  const attribute = new asn1js.Sequence({
    value: [new asn1js.ObjectIdentifier({ value: oid.extensionRequest }), new asn1js.Set({ value: [extensions] })],
  });
  const info = tlv(
    derTag.sequence,
    der(new asn1js.Integer({ value: 0 })),
    encodeName(request.subject),
    params.key.spki,
    tlv(derTag.explicit0, der(attribute)), // attributes [0] IMPLICIT SET OF Attribute
  );
  return signStructure(info, params.key, params.key.spki, 'issuing CA request');
}

export interface ExternalCertificateParams {
  id: string;
  /** What the external root sent back, PEM or DER. */
  certificate: string | Uint8Array;
  key: Pick<SigningKey, 'spki' | 'algorithm' | 'uri'>;
  publicUrl: string;
  now: Date;
  /** The external root's certificate, when at hand: then the signature and name chaining are checked too. */
  parent?: string | Uint8Array;
}

/** Checks an externally signed issuing-CA certificate before use: our key, a CA, valid now, chained. */
export function acceptExternalCaCertificate(params: ExternalCertificateParams): Issuer {
  const { der: certificateDer, certificate } = parseCertificate(params.certificate, 'issuing CA certificate');
  const facts = certificateFacts(certificate);
  const refuse = (reason: string): never => {
    throw new CaError('badCertificate', `issuing CA certificate: ${reason}`);
  };
  if (!samePublicKey(facts.spki, params.key.spki)) refuse(`it certifies another public key, not ${params.key.uri}`);
  if (!facts.ca) refuse('it is not a CA certificate (basicConstraints cA is not TRUE, RFC 5280 §4.2.1.9)');
  const missing = ['keyCertSign', 'cRLSign'].filter((u) => facts.keyUsage && !facts.keyUsage.includes(u as 'keyCertSign'));
  if (missing.length) refuse(`its key usage lacks ${missing.join(' and ')}`);
  if (params.now < facts.notBefore) refuse(`it is not valid before ${facts.notBefore.toISOString()}`);
  if (params.now > facts.notAfter) refuse(`it expired on ${facts.notAfter.toISOString()}`);
  const algorithm = readSignatureAlgorithm(certificate.signatureAlgorithm);
  if (algorithm.hash === 'SHA-1') refuse(`it is signed with SHA-1 (${algorithm.name}), which relying parties reject`);
  if (params.parent !== undefined) {
    const parent = certificateFacts(parseCertificate(params.parent, 'external root certificate').certificate);
    if (!bytesEqual(facts.issuer, parent.subject)) refuse('its issuer name is not the subject of the given root certificate');
    let valid = false;
    try {
      valid = verifySignature(certificate.tbsView, certificate.signatureValue.valueBlock.valueHexView, certificate.signatureAlgorithm, parent.spki);
    } catch (error) {
      refuse(`its signature cannot be checked (${(error as Error).message})`);
    }
    if (!valid) refuse('its signature does not verify with the given root certificate');
  }
  return issuerFromCertificate({ id: params.id, certificate: certificateDer, publicUrl: params.publicUrl, signatureAlgorithm: params.key.algorithm });
}
