import 'reflect-metadata';
import { describe, it, expect } from '@jest/globals';
import { verify } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import * as pkijs from 'pkijs';
import { publicKeyObject } from '../../../../ca/asn1/algorithms.js';
import { FileKeyStore } from '../../../../ca/keys/file-key-store.js';
import { parseKeySpec, parseKeyUri, signWith, type KeySpec } from '../../../../ca/keys/key-store.js';
import { CaError } from '../../../../ca/errors.js';
import { describeWithProgram } from '../../../support/system-tools.js';
import { keyStore, run, tempDir } from '../support.js';

const data = new TextEncoder().encode('Quyết định số 123/QĐ-UBND');

describe('FileKeyStore', () => {
  const specs: [KeySpec, string, string][] = [
    [{ type: 'ec', curve: 'P-256' }, 'ECDSA', 'SHA-256'],
    [{ type: 'ec', curve: 'P-384' }, 'ECDSA', 'SHA-384'],
    [{ type: 'rsa', bits: 2048 }, 'RSASSA-PKCS1-v1_5', 'SHA-256'],
    [{ type: 'rsa', bits: 2048, pss: true }, 'RSA-PSS', 'SHA-256'],
  ];

  it.each(specs)('generates, stores and reloads %j keys that sign verifiably', async (spec, name, hash) => {
    const dir = join(tempDir(), 'keys');
    const store = keyStore(dir);
    const generated = await store.generate(spec, 'k1');
    expect(generated.algorithm).toMatchObject({ name, hash });
    expect(statSync(join(dir, 'k1.key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(dir, 'k1.key.pem'), 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);

    const loaded = await keyStore(dir).load('file:k1');
    expect(Buffer.from(loaded.spki).equals(Buffer.from(generated.spki))).toBe(true);
    expect(loaded.privateKey.extractable).toBe(false);
    const signature = await signWith(loaded, data);
    const options = name === 'RSA-PSS' ? { padding: 6, saltLength: 32 } : { dsaEncoding: 'der' as const };
    expect(verify(hash.replace('-', '').toLowerCase(), data, { key: publicKeyObject(loaded.spki), ...options }, signature)).toBe(true);
  });

  it('refuses a wrong passphrase, a missing key, an existing name, an unsafe mode and a weak passphrase', async () => {
    const dir = join(tempDir(), 'keys');
    await keyStore(dir).generate({ type: 'ec', curve: 'P-256' }, 'k1');
    const wrong = new FileKeyStore({ directory: dir, passphrase: 'not the passphrase at all' });
    await expect(wrong.load('file:k1')).rejects.toThrow(`cannot decrypt key file:k1 (${join(dir, 'k1.key.pem')}): wrong passphrase, or the file is damaged`);
    await expect(wrong.load('file:k1')).rejects.toMatchObject({ kind: 'misconfigured' });
    await expect(keyStore(dir).load('file:nope')).rejects.toThrow(/key file:nope not found/);
    await expect(keyStore(dir).generate({ type: 'ec', curve: 'P-256' }, 'k1')).rejects.toMatchObject({ kind: 'conflict' });
    await expect(keyStore(dir).generate({ type: 'ec', curve: 'P-256' }, '../evil')).rejects.toMatchObject({ kind: 'badInput' });
    chmodSync(join(dir, 'k1.key.pem'), 0o644);
    await expect(keyStore(dir).load('file:k1')).rejects.toThrow(/readable by other users \(mode 644\)/);
    expect(() => new FileKeyStore({ directory: dir, passphrase: 'short' })).toThrow(CaError);
    await expect(keyStore(dir).load('pkcs11:token=CA;object=k1')).rejects.toThrow(/only serves file: keys/);
  });

  it('refuses an unencrypted key file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'plain.key.pem'), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', { mode: 0o600 });
    await expect(keyStore(dir).load('file:plain')).rejects.toThrow(/must hold exactly one "ENCRYPTED PRIVATE KEY" PEM block/);
  });

  it('gives keys that pkijs and @peculiar/x509 sign with through the key\'s own Crypto provider', async () => {
    const key = await keyStore().generate({ type: 'ec', curve: 'P-256' }, 'both');
    const engine = new pkijs.CryptoEngine({ name: 'tinnhiem', crypto: key.crypto });
    const params = await engine.getSignatureParameters(key.privateKey, key.algorithm.hash);
    const signature = await engine.signWithPrivateKey(data, key.privateKey, params.parameters as unknown as Parameters<typeof engine.signWithPrivateKey>[2]);
    expect(verify('sha256', data, { key: publicKeyObject(key.spki), dsaEncoding: 'der' }, new Uint8Array(signature))).toBe(true);

    const certificate = await x509.X509CertificateGenerator.create(
      { serialNumber: '01', subject: 'CN=Thử', issuer: 'CN=Thử', notBefore: new Date('2025-01-01'), notAfter: new Date('2026-01-01'), publicKey: key.publicKey, signingKey: key.privateKey, signingAlgorithm: key.algorithm },
      key.crypto,
    );
    expect(await certificate.verify({ publicKey: key.publicKey, signatureOnly: true }, key.crypto)).toBe(true);
  });
});

describeWithProgram('openssl', 'openssl')('FileKeyStore files and OpenSSL', () => {
  it('writes PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) files that OpenSSL decrypts with the passphrase', async () => {
    const dir = join(tempDir(), 'keys');
    const key = await new FileKeyStore({ directory: dir, passphrase: 'mật khẩu thử nghiệm dài', kdfIterations: 2000 }).generate({ type: 'rsa', bits: 2048, pss: true }, 'pss');
    const file = join(dir, 'pss.key.pem');
    const structure = run('openssl', ['asn1parse', '-in', file]);
    expect(structure).toMatch(/PBES2[\s\S]*PBKDF2[\s\S]*INTEGER\s+:07D0[\s\S]*hmacWithSHA256[\s\S]*aes-256-cbc/);
    const publicPem = run('openssl', ['pkey', '-in', file, '-passin', 'pass:mật khẩu thử nghiệm dài', '-pubout']);
    expect(publicPem).toMatch(/BEGIN PUBLIC KEY/);
    expect(run('openssl', ['pkey', '-in', file, '-passin', 'pass:mật khẩu thử nghiệm dài', '-noout', '-text'])).toMatch(/PSS parameter restrictions:\s+Hash Algorithm: SHA2-256/);
    expect(key.algorithm).toEqual({ name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 });
  });

  it('loads a key that openssl genpkey -aes256 wrote', async () => {
    const dir = tempDir();
    run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-aes256', '-pass', 'pass:mật khẩu thử nghiệm dài', '-out', join(dir, 'op.key.pem')]);
    chmodSync(join(dir, 'op.key.pem'), 0o600);
    const key = await keyStore(dir).load('file:op');
    expect(key.algorithm).toEqual({ name: 'ECDSA', hash: 'SHA-384' });
  });
});

describe('key URIs and specs', () => {
  it('parses file: and RFC 7512 pkcs11: URIs', () => {
    expect(parseKeyUri('file:issuing-2025')).toEqual({ scheme: 'file', name: 'issuing-2025' });
    expect(parseKeyUri('pkcs11:token=S%C3%B3c%20Tr%C4%83ng%20CA;object=issuing;type=private?pin-source=file:/run/pin')).toEqual({
      scheme: 'pkcs11',
      attributes: { token: 'Sóc Trăng CA', object: 'issuing', type: 'private' },
    });
    expect(() => parseKeyUri('file:../etc/passwd')).toThrow(/is not file:<name>/);
    expect(() => parseKeyUri('pkcs11:token=CA')).toThrow(CaError);
  });

  it('reads key specs by name', () => {
    expect(parseKeySpec('ECDSA-P384')).toEqual({ type: 'ec', curve: 'P-384' });
    expect(parseKeySpec('rsa-pss-3072')).toEqual({ type: 'rsa', bits: 3072, pss: true });
    expect(() => parseKeySpec('rsa-1024')).toThrow(/unknown key type "rsa-1024"/);
  });
});
