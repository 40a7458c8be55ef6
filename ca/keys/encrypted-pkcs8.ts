/**
 * Passphrase-encrypted PKCS#8 (RFC 5958 §3 EncryptedPrivateKeyInfo) with PBES2 (RFC 8018 §6.2):
 * PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) with a 16-byte random salt and, by default, 600,000
 * iterations (OWASP's 2023 figure for PBKDF2-HMAC-SHA256), deriving a 256-bit key for AES-256-CBC
 * (RFC 8018 §B.2.5 via NIST's aes256-CBC OID) with a 16-byte random IV.
 *
 * We write the structure ourselves because Node's `export({ cipher })` uses OpenSSL's default of
 * 2,048 iterations; we read with Node (OpenSSL), so `openssl pkey -in key.pem` reads our files and
 * we read keys that `openssl genpkey -aes256` wrote.
 */
import { createCipheriv, createPrivateKey, pbkdf2Sync, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { CaError } from '../errors.js';
import { arrayBuffer, decodeDer, der } from '../asn1/der.js';
import { oid } from '../asn1/oids.js';

export const defaultKdfIterations = 600_000;

export interface Pbes2Parameters {
  iterations: number;
  /** 16 random bytes */
  salt: Uint8Array;
  /** 16 random bytes */
  iv: Uint8Array;
}

const algorithm = (id: string, params?: asn1js.AsnType) =>
  new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: id }), ...(params ? [params] : [])] });

/** Pure given its parameters: the caller supplies salt and IV from its random source. */
export function encryptPkcs8(pkcs8: Uint8Array, passphrase: string, params: Pbes2Parameters): Uint8Array {
  if (params.salt.length < 16 || params.iv.length !== 16) throw new TypeError('PBES2 needs a salt of 16+ bytes and a 16-byte IV');
  const key = pbkdf2Sync(passphrase, params.salt, params.iterations, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', key, params.iv);
  const encrypted = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  const pbkdf2Params = new asn1js.Sequence({
    value: [
      new asn1js.OctetString({ valueHex: arrayBuffer(params.salt) }),
      new asn1js.Integer({ value: params.iterations }),
      new asn1js.Integer({ value: 32 }),
      algorithm(oid.hmacWithSha256, new asn1js.Null()),
    ],
  });
  const pbes2Params = new asn1js.Sequence({
    value: [algorithm(oid.pbkdf2, pbkdf2Params), algorithm(oid.aes256Cbc, new asn1js.OctetString({ valueHex: arrayBuffer(params.iv) }))],
  });
  return der(
    new asn1js.Sequence({
      value: [algorithm(oid.pbes2, pbes2Params), new asn1js.OctetString({ valueHex: arrayBuffer(new Uint8Array(encrypted)) })],
    }),
  );
}

/** Decrypts an EncryptedPrivateKeyInfo; `what` names the key in errors (never the passphrase). */
export function decryptPkcs8(encrypted: Uint8Array, passphrase: string, what: string): KeyObject {
  const outer = decodeDer(encrypted, what, 'misconfigured');
  const [algorithmId, data] = outer instanceof asn1js.Sequence ? outer.valueBlock.value : [];
  if (!(algorithmId instanceof asn1js.Sequence) || !(data instanceof asn1js.OctetString)) {
    throw new CaError('misconfigured', `${what} is not an encrypted PKCS#8 key (EncryptedPrivateKeyInfo, RFC 5958 §3)`);
  }
  try {
    return createPrivateKey({ key: Buffer.from(encrypted), format: 'der', type: 'pkcs8', passphrase });
  } catch (error) {
    throw new CaError('misconfigured', `cannot decrypt ${what}: wrong passphrase, or the file is damaged`, { cause: error });
  }
}
