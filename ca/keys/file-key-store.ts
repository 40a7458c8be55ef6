/**
 * `file:<name>` keys: one encrypted PKCS#8 PEM file per key (`<directory>/<name>.key.pem`, mode
 * 0600, directory 0700), encrypted under the store's passphrase (see encrypted-pkcs8.ts for the
 * KDF and cipher). Keys are decrypted into non-extractable WebCrypto keys of Node's provider.
 */
import { generateKeyPair, createPublicKey, createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import { CaError } from '../errors.js';
import type { HashName, SignatureAlgorithm } from '../asn1/algorithms.js';
import { arrayBuffer, decodeDer, decodePem, der, encodePem } from '../asn1/der.js';
import { oid } from '../asn1/oids.js';
import { secureRandomBytes, type RandomBytes } from '../random.js';
import { decryptPkcs8, defaultKdfIterations, encryptPkcs8 } from './encrypted-pkcs8.js';
import { KeyStoreUnavailableError, keyNamePattern, parseKeyUri, type KeySpec, type KeyStore, type SigningKey } from './key-store.js';

function newPrivateKey(spec: KeySpec): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, _publicKey: KeyObject, privateKey: KeyObject) => (error ? reject(error) : resolve(privateKey));
    if (spec.type === 'ec') generateKeyPair('ec', { namedCurve: spec.curve }, done);
    // RFC 4055 §1.2: an id-RSASSA-PSS key records that it only ever signs with PSS/SHA-256.
    // (@types/node 20 types saltLength as a string; Node wants the number.)
    else if (spec.pss) generateKeyPair('rsa-pss', { modulusLength: spec.bits, hashAlgorithm: 'sha256', mgf1HashAlgorithm: 'sha256', saltLength: 32 as unknown as string }, done);
    else generateKeyPair('rsa', { modulusLength: spec.bits, publicExponent: 0x10001 }, done);
  });
}

export interface FileKeyStoreOptions {
  directory: string;
  /** At least 12 characters; encoded as UTF-8 for PBKDF2, as OpenSSL does. */
  passphrase: string;
  /** PBKDF2 iterations for new keys (default 600,000); tests lower it for speed. */
  kdfIterations?: number;
  /** Randomness for salts and IVs (default: WebCrypto getRandomValues). */
  randomBytes?: RandomBytes;
  /** `root` for the root key's own store (its own directory and passphrase); default `file`. */
  scheme?: 'file' | 'root';
}

const curveNames: Record<string, 'P-256' | 'P-384' | 'P-521'> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const ecHash: Record<'P-256' | 'P-384' | 'P-521', HashName> = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' };
const hashNames: Record<string, HashName> = { sha256: 'SHA-256', 'sha-256': 'SHA-256', sha384: 'SHA-384', 'sha-384': 'SHA-384', sha512: 'SHA-512', 'sha-512': 'SHA-512' };

export class FileKeyStore implements KeyStore {
  readonly scheme: 'file' | 'root';
  readonly #directory: string;
  readonly #passphrase: string;
  readonly #iterations: number;
  readonly #randomBytes: RandomBytes;

  constructor(options: FileKeyStoreOptions) {
    if (options.passphrase.length < 12) {
      throw new CaError('misconfigured', 'the key store passphrase must have at least 12 characters');
    }
    this.scheme = options.scheme ?? 'file';
    this.#directory = options.directory;
    this.#passphrase = options.passphrase;
    this.#iterations = options.kdfIterations ?? defaultKdfIterations;
    this.#randomBytes = options.randomBytes ?? secureRandomBytes;
  }

  pathOf(name: string): string {
    return join(this.#directory, `${name}.key.pem`);
  }

  async generate(spec: KeySpec, name: string): Promise<SigningKey> {
    if (!keyNamePattern.test(name)) throw new CaError('badInput', `key name "${name}" must be letters, digits, ".", "_" or "-"`);
    const privateKey = await newPrivateKey(spec);
    await this.#write(name, new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' })));
    return toSigningKey(`${this.scheme}:${name}`, privateKey);
  }

  /** Stores an existing key under `name` (moving a root key into its own store); never overwrites. */
  async importPkcs8(name: string, pkcs8: Uint8Array): Promise<SigningKey> {
    if (!keyNamePattern.test(name)) throw new CaError('badInput', `key name "${name}" must be letters, digits, ".", "_" or "-"`);
    await this.#write(name, pkcs8);
    return this.load(`${this.scheme}:${name}`);
  }

  /** The decrypted PKCS#8 of a key, only to move it to another store (`ca ceremony migrate-root`). */
  async exportPkcs8(uri: string): Promise<Uint8Array> {
    const { path, der } = await this.#read(uri);
    return new Uint8Array(decryptPkcs8(der, this.#passphrase, `key ${uri} (${path})`).export({ type: 'pkcs8', format: 'der' }));
  }

  async #write(name: string, pkcs8: Uint8Array): Promise<void> {
    const encrypted = encryptPkcs8(pkcs8, this.#passphrase, {
      iterations: this.#iterations,
      salt: this.#randomBytes(16),
      iv: this.#randomBytes(16),
    });
    await mkdir(this.#directory, { recursive: true, mode: 0o700 });
    try {
      // `wx`: never overwrite a key; 0600: only the service account reads it.
      await writeFile(this.pathOf(name), encodePem(encrypted, 'ENCRYPTED PRIVATE KEY'), { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new CaError('conflict', `key ${this.scheme}:${name} already exists`);
      throw error;
    }
  }

  async load(uri: string): Promise<SigningKey> {
    const { path, der } = await this.#read(uri);
    try {
      return await toSigningKey(uri, decryptPkcs8(der, this.#passphrase, `key ${uri} (${path})`));
    } catch (error) {
      // A ceremony given the wrong root passphrase: the operator's mistake, said plainly (CLI exit 2).
      if (this.scheme === 'root' && error instanceof CaError) throw new KeyStoreUnavailableError(`${error.message} (the root passphrase)`);
      throw error;
    }
  }

  async #read(uri: string): Promise<{ path: string; der: Uint8Array }> {
    const parsed = parseKeyUri(uri);
    if (parsed.scheme !== this.scheme) throw new CaError('misconfigured', `${uri}: this key store only serves ${this.scheme}: keys`);
    const path = this.pathOf(parsed.name);
    let text: string;
    try {
      const info = await stat(path);
      if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
        throw new CaError('misconfigured', `key ${uri} (${path}) is readable by other users (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`);
      }
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CaError('misconfigured', `key ${uri} not found (${path})`);
      throw error;
    }
    const blocks = decodePem(text, 'misconfigured');
    if (blocks.length !== 1 || blocks[0].label !== 'ENCRYPTED PRIVATE KEY') {
      throw new CaError('misconfigured', `key ${uri} (${path}) must hold exactly one "ENCRYPTED PRIVATE KEY" PEM block`);
    }
    return { path, der: blocks[0].der };
  }
}

/** PKCS#8 with its algorithm replaced by rsaEncryption: WebCrypto in Node 20 refuses id-RSASSA-PSS. */
function asRsaEncryption(pkcs8: Uint8Array): Uint8Array {
  const info = decodeDer(pkcs8, 'PKCS#8 key', 'misconfigured') as asn1js.Sequence;
  const [version, , privateKey, ...rest] = info.valueBlock.value;
  const rsa = new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid.rsaEncryption }), new asn1js.Null()] });
  return der(new asn1js.Sequence({ value: [version, rsa, privateKey, ...rest] }));
}

/** Imports a decrypted key into WebCrypto with the signature algorithm that suits it. */
async function toSigningKey(uri: string, key: KeyObject): Promise<SigningKey> {
  let pkcs8: Uint8Array = new Uint8Array(key.export({ type: 'pkcs8', format: 'der' }));
  let algorithm: SignatureAlgorithm;
  let importParams: EcKeyImportParams | RsaHashedImportParams;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    const curve = curveNames[details.namedCurve ?? ''];
    if (!curve) throw new CaError('misconfigured', `key ${uri} is on curve ${details.namedCurve}, not P-256, P-384 or P-521`);
    algorithm = { name: 'ECDSA', hash: ecHash[curve] };
    importParams = { name: 'ECDSA', namedCurve: curve };
  } else if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    const pss = key.asymmetricKeyType === 'rsa-pss';
    const hash = pss ? (hashNames[details.hashAlgorithm?.toLowerCase() ?? 'sha256'] ?? 'SHA-256') : 'SHA-256';
    if (pss) pkcs8 = asRsaEncryption(pkcs8);
    algorithm = pss ? { name: 'RSA-PSS', hash, saltLength: details.saltLength ?? 32 } : { name: 'RSASSA-PKCS1-v1_5', hash };
    importParams = { name: algorithm.name, hash };
  } else {
    throw new CaError('misconfigured', `key ${uri} is a ${key.asymmetricKeyType} key; the CA signs with ECDSA or RSA`);
  }
  const spki = new Uint8Array(
    createPublicKey(createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' }),
  );
  const subtle = crypto.subtle;
  return {
    uri,
    privateKey: await subtle.importKey('pkcs8', arrayBuffer(pkcs8), importParams, false, ['sign']),
    publicKey: await subtle.importKey('spki', arrayBuffer(spki), importParams, true, ['verify']),
    crypto,
    algorithm,
    spki,
  };
}
