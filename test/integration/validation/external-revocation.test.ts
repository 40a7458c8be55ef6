import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import { startTestService, type TestService } from '../../support/test-app.js';
import { apiClient } from '../../support/ca-helpers.js';
import { generateKeys } from '../../support/test-pki.js';
import { fetchDer } from '../../../src/validation/revocation.js';

/**
 * Another CA's certificates: status from that CA's CRL (named in the certificate), fetched over
 * loopback HTTP, verified against the issuer's key, cached until nextUpdate.
 */
x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ECDSA = { name: 'ECDSA', hash: 'SHA-256' };
const DAY = 86_400_000;
let t: TestService;
let api: Awaited<ReturnType<typeof apiClient>>;
let server: Server;
let crlUrl: string;
let crlDer: Buffer;
let hits = 0;
let root: x509.X509Certificate;
let good: x509.X509Certificate;
let revoked: x509.X509Certificate;
let held: x509.X509Certificate;
/** Leaves whose CRL distribution point serves `swaps`' CRL for its path (/swap-1.crl, …). */
const swapLeaves: x509.X509Certificate[] = [];
const swaps = new Map<string, Buffer>();
let rootSigner: CryptoKey;
const revokedAt = new Date(Math.floor((Date.now() - 2 * DAY) / 1000) * 1000); // a CRL holds whole seconds

beforeAll(async () => {
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/pkix-crl');
    const swapped = swaps.get(req.url ?? '');
    if (swapped) return void res.end(swapped);
    hits++;
    res.end(crlDer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  crlUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ext.crl`;

  const rootKeys = await generateKeys('P-256');
  const notBefore = new Date(Date.now() - 10 * DAY);
  const notAfter = new Date(Date.now() + 365 * DAY);
  root = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=RootCA ngoài, O=Nhà cung cấp dịch vụ chứng thực, C=VN',
    keys: rootKeys,
    serialNumber: '01',
    notBefore,
    notAfter,
    signingAlgorithm: ECDSA,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true), await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey)],
  });
  rootSigner = rootKeys.privateKey;
  const leaf = async (serialNumber: string, cn: string, cdp = crlUrl) =>
    x509.X509CertificateGenerator.create({
      subject: `CN=${cn}, 0.9.2342.19200300.100.1.1=MST:0100109106, C=VN`,
      issuer: root.subject,
      publicKey: (await generateKeys('P-256')).publicKey,
      signingKey: rootKeys.privateKey,
      serialNumber,
      notBefore,
      notAfter,
      signingAlgorithm: ECDSA,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.emailProtection]),
        new x509.CRLDistributionPointsExtension([cdp]),
        await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
      ],
    });
  good = await leaf('10', 'Công ty Good');
  revoked = await leaf('11', 'Công ty Revoked');
  held = await leaf('0c', 'Công ty Held');
  for (const n of [1, 2, 3]) swapLeaves.push(await leaf(`2${n}`, `Công ty Swap ${n}`, crlUrl.replace('/ext.crl', `/swap-${n}.crl`)));
  const crl = await x509.X509CrlGenerator.create({
    issuer: root.subject,
    thisUpdate: new Date(Date.now() - DAY),
    nextUpdate: new Date(Date.now() + DAY),
    signingAlgorithm: ECDSA,
    signingKey: rootKeys.privateKey,
    entries: [
      { serialNumber: '11', revocationDate: revokedAt, reason: x509.X509CrlReason.keyCompromise },
      { serialNumber: '0c', revocationDate: revokedAt, reason: x509.X509CrlReason.certificateHold },
    ],
  });
  crlDer = Buffer.from(crl.rawData);

  t = await startTestService({ env: { VALIDATION_FETCH_PRIVATE_NETWORKS: 'true' } });
  api = await apiClient(t, 'e-invoice', ['signatures:validate']);
  await t.service.validation.trust.add('test:operator', Buffer.from(root.toString('pem')), 'anchor', 'external test root');
});
afterAll(async () => {
  await t?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('revocation of other CAs\' certificates', () => {
  it('reads the issuer\'s CRL once, then from the cache', async () => {
    const ok = await api.call('POST', '/api/v1/certificates/validate', { certificate: good.toString('pem') });
    expect(ok.body).toMatchObject({ indication: 'TOTAL_PASSED', holder: { taxCode: '0100109106' }, revocation: [{ source: 'crl', status: 'good', url: crlUrl }] });
    const bad = await api.call('POST', '/api/v1/certificates/validate', { certificate: revoked.toString('pem') });
    expect(bad.body).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'REVOKED', revocation: [{ source: 'crl', status: 'revoked', reason: 'keyCompromise' }] });
    const before = await api.call('POST', '/api/v1/certificates/validate', { certificate: revoked.toString('pem'), validationTime: new Date(revokedAt.getTime() - 3_600_000).toISOString() });
    expect(before.body).toMatchObject({ indication: 'TOTAL_PASSED' });
    const onHold = await api.call('POST', '/api/v1/certificates/validate', { certificate: held.toString('pem') });
    expect(onHold.body).toMatchObject({ revocation: [{ source: 'crl', status: 'hold', reason: 'certificateHold', revokedAt: revokedAt.toISOString() }] });
    expect((bad.body as { revocation: Array<{ revokedAt: string }> }).revocation[0].revokedAt).toBe(revokedAt.toISOString());
    expect(hits).toBe(1);
  });

  it('a CRL the issuer signed that is not its complete CRL, served at the distribution point, never makes a revoked certificate good (RFC 5280 §5.2.4, §5.2.5)', async () => {
    const crl = async (entries: x509.X509CrlEntryParams[], extensions: x509.Extension[]) =>
      Buffer.from((await x509.X509CrlGenerator.create({ issuer: root.subject, thisUpdate: new Date(Date.now() - DAY), nextUpdate: new Date(Date.now() + DAY), signingAlgorithm: ECDSA, signingKey: rootSigner, entries, extensions })).rawData);
    const der = (node: asn1js.AsnType) => new Uint8Array(node.toBER(false));
    const uri = (url: string) => new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 6 }, valueHex: new TextEncoder().encode(url).buffer });
    const tagged = (n: number, ...value: asn1js.AsnType[]) => new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: n }, value });
    const revokedEntry = (serialNumber: string) => [{ serialNumber, revocationDate: revokedAt, reason: x509.X509CrlReason.keyCompromise }];
    // 1: a delta CRL (it lists only what changed since its base: the revocation is in the base).
    swaps.set('/swap-1.crl', await crl([], [new x509.Extension('2.5.29.27', true, der(new asn1js.Integer({ value: 1 })))]));
    // 2: a CRL scoped to another distribution point (the issuer's CRL for other certificates).
    swaps.set('/swap-2.crl', await crl([], [new x509.Extension('2.5.29.28', true, der(new asn1js.Sequence({ value: [tagged(0, tagged(0, uri(crlUrl.replace('/ext.crl', '/other.crl'))))] })))]));
    // 3, the control: the complete CRL of that distribution point, naming it, lists the certificate.
    swaps.set('/swap-3.crl', await crl(revokedEntry('23'), [new x509.Extension('2.5.29.28', true, der(new asn1js.Sequence({ value: [tagged(0, tagged(0, uri(crlUrl.replace('/ext.crl', '/swap-3.crl'))))] })))]));
    const [delta, otherScope, control] = await Promise.all(swapLeaves.map((c) => api.call('POST', '/api/v1/certificates/validate', { certificate: c.toString('pem') })));
    expect(delta.body).toMatchObject({ indication: 'INDETERMINATE', revocation: [{ status: 'unavailable', note: expect.stringMatching(/delta CRL/) }] });
    expect(otherScope.body).toMatchObject({ indication: 'INDETERMINATE', revocation: [{ status: 'unavailable', note: expect.stringMatching(/issuing distribution point does not name/) }] });
    expect(control.body).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'REVOKED', revocation: [{ source: 'crl', status: 'revoked' }] });
  });

  it('refuses to fetch from private addresses unless allowed (a certificate cannot aim the validator inward)', async () => {
    await expect(fetchDer(crlUrl, { enabled: true, timeoutMs: 2000, maxBytes: 1e6, allowPrivateNetworks: false })).rejects.toThrow(/private address/);
    await expect(fetchDer('file:///etc/passwd', { enabled: true, timeoutMs: 2000, maxBytes: 1e6, allowPrivateNetworks: true })).rejects.toThrow(/only http/);
    await expect(fetchDer(crlUrl, { enabled: true, timeoutMs: 2000, maxBytes: 10, allowPrivateNetworks: true })).rejects.toThrow(/limit|more than/);
  });
});
