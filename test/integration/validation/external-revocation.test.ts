import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as x509 from '@peculiar/x509';
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
const revokedAt = new Date(Date.now() - 2 * DAY);

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    res.setHeader('content-type', 'application/pkix-crl');
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
  const leaf = async (serialNumber: string, cn: string) =>
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
        new x509.CRLDistributionPointsExtension([crlUrl]),
        await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
      ],
    });
  good = await leaf('10', 'Công ty Good');
  revoked = await leaf('11', 'Công ty Revoked');
  const crl = await x509.X509CrlGenerator.create({
    issuer: root.subject,
    thisUpdate: new Date(Date.now() - DAY),
    nextUpdate: new Date(Date.now() + DAY),
    signingAlgorithm: ECDSA,
    signingKey: rootKeys.privateKey,
    entries: [{ serialNumber: '11', revocationDate: revokedAt, reason: x509.X509CrlReason.keyCompromise }],
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
    expect(hits).toBe(1);
  });

  it('refuses to fetch from private addresses unless allowed (a certificate cannot aim the validator inward)', async () => {
    await expect(fetchDer(crlUrl, { enabled: true, timeoutMs: 2000, maxBytes: 1e6, allowPrivateNetworks: false })).rejects.toThrow(/private address/);
    await expect(fetchDer('file:///etc/passwd', { enabled: true, timeoutMs: 2000, maxBytes: 1e6, allowPrivateNetworks: true })).rejects.toThrow(/only http/);
    await expect(fetchDer(crlUrl, { enabled: true, timeoutMs: 2000, maxBytes: 10, allowPrivateNetworks: true })).rejects.toThrow(/limit|more than/);
  });
});
