/**
 * signWith (ca/keys/key-store.ts) signs in this thread with a key Node's WebCrypto holds (file:
 * and root: keys), and through the key's own provider otherwise (PKCS#11): either way the
 * signature is the DER form X.509 carries, made with the key's own hash, and OpenSSL verifies it.
 */
import { describe, expect, it } from '@jest/globals';
import { createPublicKey, verify } from 'node:crypto';
import { signWith, type SigningKey } from '../../../../ca/keys/key-store.js';
import type { SignatureAlgorithm } from '../../../../ca/asn1/algorithms.js';

async function nodeKey(algorithm: SignatureAlgorithm, params: EcKeyGenParams | RsaHashedKeyGenParams): Promise<SigningKey> {
  const pair = (await crypto.subtle.generateKey(params, false, ['sign', 'verify'])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
  return { uri: 'file:test', privateKey: pair.privateKey, publicKey: pair.publicKey, crypto, algorithm, spki };
}

const rsa = (name: 'RSASSA-PKCS1-v1_5' | 'RSA-PSS', hash: string): RsaHashedKeyGenParams => ({ name, modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash });
const data = new TextEncoder().encode('a TBS to sign');

function opensslVerifies(key: SigningKey, signature: Uint8Array, hash: string): boolean {
  const publicKey = createPublicKey({ key: Buffer.from(key.spki), format: 'der', type: 'spki' });
  const options = key.algorithm.name === 'ECDSA' ? { key: publicKey, dsaEncoding: 'der' as const } : key.algorithm.name === 'RSA-PSS' ? { key: publicKey, padding: 6, saltLength: key.algorithm.saltLength } : publicKey;
  return verify(hash, data, options, signature);
}

describe('signWith', () => {
  it.each([
    ['ECDSA P-256', { name: 'ECDSA', hash: 'SHA-256' }, { name: 'ECDSA', namedCurve: 'P-256' }, 'SHA-384'],
    ['ECDSA P-384', { name: 'ECDSA', hash: 'SHA-384' }, { name: 'ECDSA', namedCurve: 'P-384' }, 'SHA-256'],
    ['RSA PKCS#1 v1.5', { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' }, rsa('RSASSA-PKCS1-v1_5', 'SHA-384'), 'SHA-256'],
    ['RSA-PSS', { name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 }, rsa('RSA-PSS', 'SHA-256'), 'SHA-384'],
  ] as Array<[string, SignatureAlgorithm, EcKeyGenParams | RsaHashedKeyGenParams, string]>)('%s: a signature OpenSSL verifies with the key\'s hash (and not with another)', async (_name, algorithm, params, otherHash) => {
    const key = await nodeKey(algorithm, params);
    for (let i = 0; i < 20; i++) {
      const signature = await signWith(key, data);
      if (algorithm.name === 'ECDSA') expect(signature[0]).toBe(0x30); // DER Ecdsa-Sig-Value, not r‖s
      expect(opensslVerifies(key, signature, algorithm.hash)).toBe(true);
      expect(opensslVerifies(key, signature, otherHash)).toBe(false);
    }
  });

  it('a key Node holds signs in this thread, without a WebCrypto job', async () => {
    const key = await nodeKey({ name: 'ECDSA', hash: 'SHA-256' }, { name: 'ECDSA', namedCurve: 'P-256' });
    let calls = 0;
    const counting = { subtle: { sign: (...args: Parameters<SubtleCrypto['sign']>) => (calls++, crypto.subtle.sign(...args)) } } as unknown as Crypto;
    expect(opensslVerifies(key, await signWith({ ...key, crypto: counting }, data), 'SHA-256')).toBe(true);
    expect(calls).toBe(0);
  });

  it('a key of another provider (PKCS#11) signs through that provider', async () => {
    const inner = await nodeKey({ name: 'ECDSA', hash: 'SHA-256' }, { name: 'ECDSA', namedCurve: 'P-256' });
    let calls = 0;
    const provider = { subtle: { sign: (algorithm: AlgorithmIdentifier, _key: CryptoKey, bytes: BufferSource) => (calls++, crypto.subtle.sign(algorithm, inner.privateKey, bytes)) } } as unknown as Crypto;
    const foreign: SigningKey = { ...inner, privateKey: { type: 'private' } as CryptoKey, crypto: provider };
    const signature = await signWith(foreign, data);
    expect(calls).toBe(1);
    expect(opensslVerifies(foreign, signature, 'SHA-256')).toBe(true);
  });
});
