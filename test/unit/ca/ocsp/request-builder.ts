/** Builds OCSP requests byte by byte for tests, including ones a real client would never send. */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { certificateNameAndKey } from '../../../../ca/status/ocsp/issuers.js';
import { bitString, explicit, NULL_ELEMENT, octetString, oid, sequence, smallInteger, TAG, tlv } from '../../../../ca/status/ocsp/der.js';

export const HASH_OIDS = {
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  md5: '1.2.840.113549.2.5',
} as const;
export type TestHash = keyof typeof HASH_OIDS;

export interface CertIdSpec {
  issuerDer: Uint8Array;
  serial: string; // DER INTEGER content hex
  hash?: TestHash;
  params?: 'null' | 'absent';
  singleExtensions?: Buffer[];
}

export function certIdDer(spec: CertIdSpec): Buffer {
  const hash = spec.hash ?? 'sha1';
  const { subject, publicKey } = certificateNameAndKey(spec.issuerDer);
  const algo = hash === 'md5' ? 'md5' : hash;
  const alg = spec.params === 'absent' ? sequence(oid(HASH_OIDS[hash])) : sequence(oid(HASH_OIDS[hash]), NULL_ELEMENT);
  return sequence(
    alg,
    octetString(createHash(algo).update(subject).digest()),
    octetString(createHash(algo).update(publicKey).digest()),
    tlv(TAG.INTEGER, Buffer.from(spec.serial, 'hex')),
  );
}

export function extension(oidText: string, value: Uint8Array, critical = false): Buffer {
  return critical ? sequence(oid(oidText), Buffer.from([0x01, 0x01, 0xff]), octetString(value)) : sequence(oid(oidText), octetString(value));
}

export const NONCE_OID = '1.3.6.1.5.5.7.48.1.2';
export const nonceExtension = (nonce: Uint8Array): Buffer => extension(NONCE_OID, octetString(nonce));

export interface RequestSpec {
  certIds: Array<CertIdSpec | Buffer>;
  extensions?: Buffer[];
  version?: number;
  requestorName?: boolean;
  signed?: boolean;
}

export function requestDer(spec: RequestSpec): Buffer {
  const requests = spec.certIds.map((c) => {
    if (Buffer.isBuffer(c)) return sequence(c);
    const id = certIdDer(c);
    return c.singleExtensions ? sequence(id, explicit(0, sequence(...c.singleExtensions))) : sequence(id);
  });
  const tbs: Buffer[] = [];
  if (spec.version !== undefined) tbs.push(explicit(0, smallInteger(spec.version)));
  // requestorName [1] EXPLICIT GeneralName: a directoryName [4] with an empty Name.
  if (spec.requestorName) tbs.push(explicit(1, explicit(4, sequence())));
  tbs.push(sequence(...requests));
  if (spec.extensions) tbs.push(explicit(2, sequence(...spec.extensions)));
  const parts = [sequence(...tbs)];
  if (spec.signed) parts.push(explicit(0, sequence(sequence(oid('1.2.840.10045.4.3.2')), bitString(Buffer.alloc(70, 1)))));
  return sequence(...parts);
}
