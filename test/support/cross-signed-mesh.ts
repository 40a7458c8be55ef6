/**
 * A cross-certified mesh (RFC 4158 §2.4): n CA certificates named "Mesh A" and n named "Mesh B",
 * every A certified by B's key and every B by A's key (re-certifying the same key, as
 * cross-certificates do), no key identifiers, and a signer certified by A. Every A is a valid
 * issuer of every B and the other way round, so an unbounded depth-first search tries n^depth
 * paths. Optionally a trusted root that certified one more A (the only way out of the mesh).
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { generateKeys } from './test-pki.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ECDSA = { name: 'ECDSA', hash: 'SHA-256' };
const DAY = 86_400_000;

export interface CrossSignedMesh {
  /** The signer's certificate (issued by "Mesh A"). */
  leaf: x509.X509Certificate;
  leafKey: CryptoKey;
  /** 2n mesh CA certificates (A, B, A, B …). */
  cas: x509.X509Certificate[];
  /** With `withRoot`: the trusted root and the A certificate it certified. */
  root: x509.X509Certificate | null;
  rootIssued: x509.X509Certificate | null;
}

const caExtensions = () => [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)];

export async function crossSignedMesh(n: number, options: { withRoot?: boolean } = {}): Promise<CrossSignedMesh> {
  const [a, b, signer] = await Promise.all([generateKeys('P-256'), generateKeys('P-256'), generateKeys('P-256')]);
  const notBefore = new Date(Date.now() - DAY);
  const notAfter = new Date(Date.now() + 365 * DAY);
  const tag = Math.random().toString(36).slice(2, 8);
  const nameA = `CN=Mesh A ${tag}, O=Cross, C=VN`;
  const nameB = `CN=Mesh B ${tag}, O=Cross, C=VN`;
  const cas: x509.X509Certificate[] = [];
  for (let i = 0; i < n; i++) {
    cas.push(await x509.X509CertificateGenerator.create({ subject: nameA, issuer: nameB, publicKey: a.publicKey, signingKey: b.privateKey, serialNumber: (0x1000 + i).toString(16), notBefore, notAfter, signingAlgorithm: ECDSA, extensions: caExtensions() }));
    cas.push(await x509.X509CertificateGenerator.create({ subject: nameB, issuer: nameA, publicKey: b.publicKey, signingKey: a.privateKey, serialNumber: (0x2000 + i).toString(16), notBefore, notAfter, signingAlgorithm: ECDSA, extensions: caExtensions() }));
  }
  let root: x509.X509Certificate | null = null;
  let rootIssued: x509.X509Certificate | null = null;
  if (options.withRoot) {
    const rootKeys = await generateKeys('P-256');
    root = await x509.X509CertificateGenerator.createSelfSigned({ name: `CN=Mesh Root ${tag}, C=VN`, keys: rootKeys, serialNumber: '01', notBefore, notAfter, signingAlgorithm: ECDSA, extensions: caExtensions() });
    rootIssued = await x509.X509CertificateGenerator.create({ subject: nameA, issuer: root.subject, publicKey: a.publicKey, signingKey: rootKeys.privateKey, serialNumber: '0fff', notBefore, notAfter, signingAlgorithm: ECDSA, extensions: caExtensions() });
  }
  const leaf = await x509.X509CertificateGenerator.create({
    subject: `CN=Người ký ${tag}, C=VN`,
    issuer: nameA,
    publicKey: signer.publicKey,
    signingKey: a.privateKey,
    serialNumber: '0abc',
    notBefore,
    notAfter,
    signingAlgorithm: ECDSA,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true)],
  });
  return { leaf, leafKey: signer.privateKey, cas, root, rootIssued };
}

/** PKCS#8 PEM of a WebCrypto private key (for `openssl cms -sign -inkey`). */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;
}
