/**
 * A throw-away PKI for tests: root → issuing CA → delegated OCSP signer (id-kp-OCSPSigning,
 * id-pkix-ocsp-nocheck) and leaves, made with @peculiar/x509 and written as PEM files to a temp
 * directory so openssl and ocsptool can read them. Keys stay in memory as WebCrypto keys.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

export type TestKeyKind = 'P-256' | 'P-384' | 'RSA' | 'RSA-PSS' | 'Ed25519';

export interface TestEntity {
  name: string;
  keys: CryptoKeyPair;
  cert: x509.X509Certificate;
  der: Uint8Array;
  pem: string;
  /** Path of the certificate PEM in the PKI's directory. */
  path: string;
  /** DER INTEGER content of the serial, as hex (what our CertIDs carry). */
  serialHex: string;
}

export interface TestPki {
  dir: string;
  root: TestEntity;
  issuing: TestEntity;
  /** Delegated OCSP signer certified by `issuing`. */
  signer: TestEntity;
  leaves: TestEntity[];
  leaf(name: string): TestEntity;
  /** Writes a file in the PKI's directory and returns its path. */
  write(name: string, data: Uint8Array | string): string;
  cleanup(): void;
}

export interface TestPkiOptions {
  /** Key of the delegated OCSP signer. CAs and leaves use ECDSA P-256. */
  signerKey?: TestKeyKind;
  /** Leaf names with explicit serials (hex); default three leaves, one serial with its top bit set. */
  leaves?: ReadonlyArray<{ name: string; serial: string }>;
  /** Issuing CA common name (different names make distinct, unrelated hierarchies). */
  label?: string;
  notBefore?: Date;
}

const DAY = 86_400_000;

function keyParams(kind: TestKeyKind): RsaHashedKeyGenParams | EcKeyGenParams | Algorithm {
  switch (kind) {
    case 'P-256':
    case 'P-384':
      return { name: 'ECDSA', namedCurve: kind } as EcKeyGenParams;
    case 'RSA':
      return { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as RsaHashedKeyGenParams;
    case 'RSA-PSS':
      return { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as RsaHashedKeyGenParams;
    case 'Ed25519':
      return { name: 'Ed25519' };
  }
}

export async function generateKeys(kind: TestKeyKind): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(keyParams(kind), true, ['sign', 'verify'])) as CryptoKeyPair;
}

const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' };

export async function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-ocsp-pki-'));
  const label = options.label ?? 'Tinh Test';
  const notBefore = options.notBefore ?? new Date(Date.now() - DAY);
  const notAfter = new Date(notBefore.getTime() + 3650 * DAY);
  const write = (name: string, data: Uint8Array | string): string => {
    const path = join(dir, name);
    writeFileSync(path, data);
    return path;
  };
  const entity = (name: string, keys: CryptoKeyPair, cert: x509.X509Certificate): TestEntity => {
    const pem = cert.toString('pem');
    return { name, keys, cert, der: new Uint8Array(cert.rawData), pem, path: write(`${name}.pem`, pem + '\n'), serialHex: cert.serialNumber.toLowerCase() };
  };

  const rootKeys = await generateKeys('P-256');
  const rootCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${label} Root CA, O=Tinnhiem Test, C=VN`,
    keys: rootKeys,
    serialNumber: '01',
    notBefore,
    notAfter,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const root = entity('root', rootKeys, rootCert);

  const issue = (name: string, subject: string, keys: CryptoKeyPair, issuer: TestEntity, serialNumber: string, extensions: x509.Extension[]) =>
    issueTestCertificate({ subject, keys, issuer, serialNumber, extensions, notBefore, notAfter }).then((cert) => entity(name, keys, cert));

  const issuingKeys = await generateKeys('P-256');
  const issuing = await issue('issuing', `CN=${label} Issuing CA, O=Tinnhiem Test, C=VN`, issuingKeys, root, '02', [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(issuingKeys.publicKey),
  ]);

  const signerKeys = await generateKeys(options.signerKey ?? 'P-256');
  const signer = await issue('ocsp-signer', `CN=${label} OCSP Responder, O=Tinnhiem Test, C=VN`, signerKeys, issuing, '0a', [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.ocspSigning], false),
    // RFC 6960 §4.2.2.2.1 id-pkix-ocsp-nocheck: extnValue is the DER NULL.
    new x509.Extension('1.3.6.1.5.5.7.48.1.5', false, new Uint8Array([0x05, 0x00])),
  ]);

  const leaves = await issueLeaves(options.leaves, issue, issuing);

  return {
    dir,
    root,
    issuing,
    signer,
    leaves,
    leaf(name) {
      const found = leaves.find((l) => l.name === name);
      if (!found) throw new Error(`no test leaf ${name}`);
      return found;
    },
    write,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** One certificate signed by `issuer` with its authority key identifier. */
async function issueTestCertificate(p: { subject: string; keys: CryptoKeyPair; issuer: TestEntity; serialNumber: string; extensions: x509.Extension[]; notBefore: Date; notAfter: Date }): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    subject: p.subject,
    issuer: p.issuer.cert.subject,
    publicKey: p.keys.publicKey,
    signingKey: p.issuer.keys.privateKey,
    serialNumber: p.serialNumber,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [...p.extensions, await x509.AuthorityKeyIdentifierExtension.create(p.issuer.keys.publicKey)],
  });
}

type Issue = (name: string, subject: string, keys: CryptoKeyPair, issuer: TestEntity, serialNumber: string, extensions: x509.Extension[]) => Promise<TestEntity>;

/** End-entity certificates (client authentication) of the issuing CA. */
async function issueLeaves(specs: TestPkiOptions['leaves'], issue: Issue, issuing: TestEntity): Promise<TestEntity[]> {
  const leafSpecs = specs ?? [
    { name: 'leaf-good', serial: '1001' },
    { name: 'leaf-revoked', serial: '1002' },
    { name: 'leaf-high', serial: '00c3a1b2c3d4e5f60718293a4b5c6d7e8f' },
  ];
  const leaves: TestEntity[] = [];
  for (const spec of leafSpecs) {
    const keys = await generateKeys('P-256');
    leaves.push(
      await issue(spec.name, `CN=${spec.name}, O=Tinnhiem Test, C=VN`, keys, issuing, spec.serial, [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
      ]),
    );
  }
  return leaves;
}
