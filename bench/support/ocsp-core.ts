/**
 * Micro-benchmark of the OCSP core, no I/O: request parsing, issuer matching, SingleResponse
 * encoding and a live ECDSA P-256 signature per response, against raw signing (the ceiling). Run: `npx tsx bench/support/ocsp-core.ts`.
 */
import 'reflect-metadata';
import { KeyObject, sign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import {
  buildBasicResponse,
  certIdFor,
  encodeCertId,
  issuerFromCertificate,
  IssuerIndex,
  matchRequest,
  parseOcspRequest,
  prepareResponder,
  webCryptoSigner,
} from '../../ca/status/ocsp/index.js';
import { explicit, octetString, oid, sequence } from '../../ca/status/ocsp/der.js';

const subtle = webcrypto.subtle as SubtleCrypto;
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** `ops` calls of `fn`, `concurrency` of them in flight at a time (signing runs on the thread pool). */
async function measure(name: string, ops: number, fn: () => unknown, concurrency = 1): Promise<number> {
  const batch = async (n: number): Promise<void> => {
    let started = 0;
    const worker = async (): Promise<void> => {
      while (started++ < n) await fn();
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  await batch(Math.min(ops, 500)); // warm-up
  const start = process.hrtime.bigint();
  await batch(ops);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = ops / seconds;
  console.log(`${name.padEnd(44)} ${Math.round(rate).toLocaleString('en').padStart(12)} ops/s  ${((seconds / ops) * 1e6).toFixed(2).padStart(8)} µs/op`);
  return rate;
}

const keys = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
const cert = await x509.X509CertificateGenerator.createSelfSigned({
  name: 'CN=Bench CA',
  keys,
  serialNumber: '01',
  signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
});
const der = new Uint8Array(cert.rawData);
const index = new IssuerIndex([issuerFromCertificate('bench', der)]);
const issuer = index.get('bench')!;
const responder = prepareResponder({ certificate: der, signer: webCryptoSigner(keys.privateKey) });

const certId = certIdFor(issuer, '7a3c9e0f11223344556677889900aabbccddeeff');
const nonce = octetString(webcrypto.getRandomValues(new Uint8Array(32)));
const request = sequence(sequence(sequence(sequence(encodeCertId(certId))), explicit(2, sequence(sequence(oid('1.3.6.1.5.5.7.48.1.2'), octetString(nonce))))));
const now = new Date();
const nextUpdate = new Date(now.getTime() + 86_400_000);

await measure('parseOcspRequest (1 CertID + nonce)', 200_000, () => parseOcspRequest(request));
const parsed = parseOcspRequest(request);
if (!parsed.ok) throw new Error(parsed.reason);
await measure('matchRequest', 200_000, () => matchRequest(parsed.request, index));
const keyObject = KeyObject.from(keys.privateKey);
const rawSign = (): Promise<Buffer> => new Promise((resolve, reject) => sign('sha256', request, { key: keyObject, dsaEncoding: 'der' }, (e, sig) => (e ? reject(e) : resolve(sig))));
await measure('raw subtle.sign P-256, 64 in flight', 20_000, () => subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, request as BufferSource), 64);
const ceiling = await measure('raw crypto.sign P-256, 64 in flight (ceiling)', 20_000, rawSign, 64);
const live = await measure('parse+match+build+sign, 64 in flight', 20_000, async () => {
  const p = parseOcspRequest(request);
  if (!p.ok) throw new Error(p.reason);
  const m = matchRequest(p.request, index);
  if (!m.ok) throw new Error('unauthorized');
  return buildBasicResponse({
    responder,
    producedAt: now,
    nonce: p.request.nonce,
    responses: m.entries.map((e) => ({ certId: e.certId, status: { status: 'good' }, thisUpdate: now, nextUpdate })),
  });
}, 64);
console.log(`live responses / raw signatures: ${(live / ceiling).toFixed(2)}`);
