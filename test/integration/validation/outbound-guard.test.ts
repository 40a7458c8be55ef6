import 'reflect-metadata';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as x509 from '@peculiar/x509';
import { startTestService, type TestService } from '../../support/test-app.js';
import { apiClient, tmp, writeFile } from '../../support/ca-helpers.js';
import { generateKeys } from '../../support/test-pki.js';
import { OutboundFetchError, OutboundFetcher } from '../../../src/outbound/outbound-fetcher.js';
import { CertificateLoginRefused } from '../../../src/auth/certificate-login.js';

/**
 * Acceptance 4 of issue 19: the outbound fetcher refuses every private/loopback literal and name
 * form, for signature validation and for certificate login, with the guard on by default. A real
 * loopback listener (dual-stack, so IPv4 and IPv6 loopback both reach it) must see no connection.
 */
x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ECDSA = { name: 'ECDSA', hash: 'SHA-256' };
const DAY = 86_400_000;
let t: TestService;
let api: Awaited<ReturnType<typeof apiClient>>;
let listener: Server;
let port: number;
let connections = 0;
let answer: (res: ServerResponse) => void = (res) => res.end('internal');
let ca: { cert: x509.X509Certificate; keys: CryptoKeyPair };

/** Every way of writing "this machine" that the issue lists, and more. */
const forms = (p: number) => [
  `http://[::ffff:127.0.0.1]:${p}/`, `http://[::ffff:7f00:1]:${p}/`, `http://[0:0:0:0:0:ffff:7f00:1]:${p}/`, `http://[0000:0000:0000:0000:0000:ffff:7f00:0001]:${p}/`,
  `http://[::127.0.0.1]:${p}/`, `http://[64:ff9b::7f00:1]:${p}/`, `http://[::1]:${p}/`, `http://[0:0:0:0:0:0:0:1]:${p}/`,
  `http://127.0.0.1:${p}/`, `http://127.1:${p}/`, `http://0x7f.1:${p}/`, `http://2130706433:${p}/`, `http://0177.0.0.1:${p}/`, `http://0:${p}/`,
  `http://localhost:${p}/`, `http://LOCALHOST.:${p}/`, `http://ocsp.localhost:${p}/`,
];

async function leaf(url: string, serial: string): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    subject: `CN=Người dùng ${serial}, 0.9.2342.19200300.100.1.1=CCCD:0941900${serial.padStart(5, '0')}, C=VN`,
    issuer: ca.cert.subject,
    publicKey: (await generateKeys('P-256')).publicKey,
    signingKey: ca.keys.privateKey,
    serialNumber: serial,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    signingAlgorithm: ECDSA,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.4']),
      new x509.AuthorityInfoAccessExtension({ ocsp: [url], caIssuers: [url] }),
      new x509.CRLDistributionPointsExtension([url]),
    ],
  });
}

beforeAll(async () => {
  listener = createServer((_req, res) => answer(res));
  listener.on('connection', () => connections++);
  await new Promise<void>((resolve) => listener.listen({ port: 0, host: '::', ipv6Only: false }, resolve));
  port = (listener.address() as AddressInfo).port;
  const keys = await generateKeys('P-256');
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=CA ngoài có OCSP nội bộ, C=VN',
    keys,
    serialNumber: '01',
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 365 * DAY),
    signingAlgorithm: ECDSA,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  ca = { cert, keys };
  const file = writeFile(tmp('tinnhiem-guard-'), 'external-ca.pem', cert.toString('pem'));
  // Nothing about private networks in the environment: the guard is on by default.
  t = await startTestService({ env: { VALIDATION_TRUST_ANCHORS: file, CERT_LOGIN_CA_BUNDLE_FILE: file } });
  api = await apiClient(t, 'guard-client', ['signatures:validate']);
});
afterAll(async () => {
  await t?.close();
  await new Promise((resolve) => listener?.close(resolve));
});

describe('the outbound fetcher (issue 19 defect 6)', () => {
  const guarded = () => new OutboundFetcher({ enabled: true, timeoutMs: 2_000, maxBytes: 1_000, allowPrivateNetworks: false });

  it('refuses every loopback literal and name form before connecting', async () => {
    for (const url of forms(port)) {
      const err = await guarded().fetch(url).catch((e: unknown) => e);
      expect({ url, err }).toEqual({ url, err: expect.objectContaining({ kind: 'refused-address' }) });
    }
    expect(connections).toBe(0);
  });

  it('resolves a name once and connects to the checked address (no rebinding window)', async () => {
    // A resolver that answers public first and loopback afterwards (DNS rebinding): one look-up
    // only, and the connection goes to the public address it checked (it fails here, quickly).
    let lookups = 0;
    const flipping = new OutboundFetcher({ enabled: true, timeoutMs: 300, maxBytes: 1_000, allowPrivateNetworks: false }, async () => (lookups++ === 0 ? [{ address: '8.8.8.8', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]));
    await expect(flipping.fetch(`http://rebind.example:${port}/`)).rejects.toBeInstanceOf(OutboundFetchError);
    expect(lookups).toBe(1);
    // One internal address among the answers is enough to refuse the name.
    const mixed = new OutboundFetcher({ enabled: true, timeoutMs: 300, maxBytes: 1_000, allowPrivateNetworks: false }, async () => [{ address: '8.8.8.8', family: 4 }, { address: '::ffff:7f00:1', family: 6 }]);
    await expect(mixed.fetch(`http://mixed.example:${port}/`)).rejects.toMatchObject({ kind: 'refused-address' });
    expect(connections).toBe(0);
    // Allowed (tests, development): the checked address is connected to, with the name as Host.
    let host = '';
    answer = (res) => {
      host = String(res.req.headers.host);
      res.end('der');
    };
    const open = new OutboundFetcher({ enabled: true, timeoutMs: 2_000, maxBytes: 1_000, allowPrivateNetworks: true }, async () => [{ address: '127.0.0.1', family: 4 }]);
    expect(Buffer.from(await open.fetch(`http://ocsp.example.vn:${port}/x`)).toString()).toBe('der');
    expect(host).toBe(`ocsp.example.vn:${port}`);
    connections = 0;
  });

  it('follows no redirect, caps the size, and never repeats the remote status or body', async () => {
    const open = new OutboundFetcher({ enabled: true, timeoutMs: 2_000, maxBytes: 100, allowPrivateNetworks: true });
    answer = (res) => {
      res.statusCode = 302;
      res.setHeader('location', 'http://169.254.169.254/latest/meta-data/');
      res.end();
    };
    await expect(open.fetch(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({ kind: 'redirect' });
    answer = (res) => {
      res.statusCode = 503;
      res.end('db-primary.internal:5432 refused: secret');
    };
    const err = (await open.fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ kind: 'http-error' });
    expect(err.message).not.toMatch(/503|secret|internal/);
    answer = (res) => res.end(Buffer.alloc(1_000));
    await expect(open.fetch(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({ kind: 'too-large' });
    answer = (res) => res.end('internal');
    connections = 0;
  });
});

describe('signature validation and certificate login use it, guard on by default (issue 19 acceptance 4)', () => {
  it('validation: a certificate whose AIA/CDP name loopback in any form gets no fetch, and the report no internal detail', async () => {
    const urls = forms(port);
    for (let i = 0; i < urls.length; i++) {
      const cert = await leaf(urls[i], String(100 + i));
      const res = await api.call('POST', '/api/v1/certificates/validate', { certificate: cert.toString('pem') });
      expect(res.status).toBe(200);
      const report = res.body as { indication: string; subIndication: string; revocation: Array<{ status: string; note: string }> };
      expect({ url: urls[i], indication: report.indication, sub: report.subIndication }).toEqual({ url: urls[i], indication: 'INDETERMINATE', sub: 'TRY_LATER' });
      expect(report.revocation[0].status).toBe('unavailable');
      expect(report.revocation[0].note).toMatch(/private address/);
      expect(report.revocation[0].note).not.toMatch(/HTTP|internal/);
    }
    expect(connections).toBe(0);
  });

  it('certificate login: the external OCSP responder on loopback, in any form, is refused (status unavailable), never contacted', async () => {
    const urls = forms(port);
    for (let i = 0; i < urls.length; i++) {
      const cert = await leaf(urls[i], String(200 + i));
      const err = await t.service.certificateLogin.login(new Uint8Array(cert.rawData), { ip: '127.0.0.1', via: 'mtls' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CertificateLoginRefused);
      expect({ url: urls[i], reason: (err as CertificateLoginRefused).reason, detail: (err as Error).message }).toEqual({ url: urls[i], reason: 'status-unavailable', detail: expect.stringMatching(/private address/) });
    }
    expect(connections).toBe(0);
  });
});
