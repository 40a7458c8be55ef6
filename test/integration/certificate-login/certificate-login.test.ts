import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import { ocspRequest } from '../../../ca/status/ocsp/client.js';
import { promisify } from 'node:util';
import { request as httpRequest } from 'node:http';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { authorize, Browser, createOfficial, discover, textOf, interactionUid } from '../../support/oidc-rp.js';
import { decodeJwt } from 'jose';
import { officialHolder, run, tmp, writeFile } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { listenCertificateLogin, type CertificateListener } from '../../../src/service/certificate-listener.js';
import { ACR } from '../../../oidc/scopes.js';

/**
 * Issue 8, acceptance 3: a client certificate issued by our CA logs in over mutual TLS (curl is
 * the TLS client, with the certificate and key files a token tool would export); revoked, held,
 * or issued by an untrusted CA → refused with the reason. Also the trusted-proxy header mode.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
const describeWithCurl = describeWithProgram('curl', 'curl');
const dir = tmp('tinnhiem-cert-login-');
const portal = { id: 'cong-mot-cua', secret: '', redirect: 'http://127.0.0.1:9/callback' };
let t: TestService;
let listener: CertificateListener;
let serverCert: string;
let ocspResponder: ChildProcess | undefined;
/** Another CA (OpenSSL), trusted through CERT_LOGIN_CA_BUNDLE_FILE, with its own OCSP responder (openssl ocsp). */
const external = { caCert: '', caKey: '', ocspUrl: '', good: { certFile: '', keyFile: '' }, revoked: { certFile: '', keyFile: '' }, unreachable: { certFile: '', keyFile: '' } };

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

const opensslTime = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';

/** A leaf of the external CA for `cccd`, with its OCSP URL in the AIA; returns its files and index line. */
function externalLeaf(name: string, cccd: string, serial: string, ocspUrl: string, revokedAt?: Date) {
  const { keyFile } = keyAndCsr(name);
  const subject = `/C=VN/O=TỔNG CÔNG TY VIỄN THÔNG/CN=Công chức ${name}/UID=CCCD:${cccd}`;
  const csrFile = writeFile(dir, `${name}.csr`, run('openssl', ['req', '-new', '-key', keyFile, '-utf8', '-subj', subject]).out);
  const certFile = join(dir, `${name}.pem`);
  const ext = writeFile(dir, `${name}.ext`, `extendedKeyUsage=clientAuth\nauthorityInfoAccess=OCSP;URI:${ocspUrl}\n`);
  run('openssl', ['x509', '-req', '-in', csrFile, '-CA', external.caCert, '-CAkey', external.caKey, '-set_serial', `0x${serial}`, '-days', '30', '-out', certFile, '-extfile', ext]);
  const expiry = opensslTime(new Date(Date.now() + 30 * 86_400_000));
  const line = [revokedAt ? 'R' : 'V', expiry, revokedAt ? `${opensslTime(revokedAt)},keyCompromise` : '', serial.toUpperCase(), 'unknown', subject].join('\t');
  return { files: { certFile, keyFile }, line };
}

async function startExternalCa(): Promise<string> {
  external.caKey = join(dir, 'external-ca.key');
  external.caCert = join(dir, 'external-ca.pem');
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', external.caKey, '-out', external.caCert, '-days', '60', '-utf8', '-subj', '/C=VN/O=Nhà cung cấp dịch vụ chứng thực/CN=External Public CA']);
  const port = await freePort();
  external.ocspUrl = `http://127.0.0.1:${port}/`;
  const good = externalLeaf('ext-good', '094190006001', '1001', external.ocspUrl);
  const revoked = externalLeaf('ext-revoked', '094190006002', '1002', external.ocspUrl, new Date(Date.now() - 3_600_000));
  const unreachable = externalLeaf('ext-unreachable', '094190006003', '1003', `http://127.0.0.1:${await freePort()}/`);
  external.good = good.files;
  external.revoked = revoked.files;
  external.unreachable = unreachable.files;
  const index = writeFile(dir, 'index.txt', `${good.line}\n${revoked.line}\n`);
  ocspResponder = spawn('openssl', ['ocsp', '-index', index, '-port', String(port), '-CA', external.caCert, '-rsigner', external.caCert, '-rkey', external.caKey, '-ignore_err'], { stdio: ['ignore', 'ignore', openSync(join(dir, 'ocsp.log'), 'w')] });
  // Ready when it answers a real request (a bare connection would hold its single-threaded loop).
  const der = (file: string) => new X509Certificate(readFileSync(file)).raw;
  const request = new Uint8Array(ocspRequest(der(good.files.certFile), der(external.caCert)));
  for (let i = 0; i < 50; i++) {
    const answered = await fetch(external.ocspUrl, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: request, signal: AbortSignal.timeout(1000) })
      .then((r) => r.arrayBuffer().then(() => r.ok))
      .catch(() => false);
    if (answered) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return external.caCert;
}

/** A key pair and CSR made by OpenSSL, as a holder's token tool would; returns the key file. */
function keyAndCsr(name: string): { keyFile: string; csr: string } {
  const keyFile = join(dir, `${name}.key`);
  run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
  const csr = run('openssl', ['req', '-new', '-key', keyFile, '-subj', '/CN=token']).out;
  return { keyFile, csr };
}

/** A certificate of the official-signing profile from our CA (requested, then approved by an officer). */
async function issueOfficialCertificate(name: string, cccd: string): Promise<{ certFile: string; keyFile: string; serial: string }> {
  const { keyFile, csr } = keyAndCsr(name);
  const { request } = await t.service.certificates.ra.submit('ra-requester', { csr, profileId: 'official-signing', holder: officialHolder(cccd) });
  const { issued } = await t.service.certificates.ra.approve('ra-officer', request.id);
  const certFile = writeFile(dir, `${name}.pem`, t.service.certificates.pem(await t.service.certificates.ca.certificate(issued!.serial)));
  return { certFile, keyFile, serial: issued!.serial };
}

beforeAll(async () => {
  // The listener's own TLS certificate (what a reverse proxy or the operator's CA would provide).
  const serverKey = join(dir, 'server.key');
  serverCert = join(dir, 'server.pem');
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', serverKey, '-out', serverCert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  const bundle = await startExternalCa();
  t = await startTestService({
    env: {
      CERT_LOGIN_CA_BUNDLE_FILE: bundle,
      CERT_LOGIN_TLS_PORT: '0',
      CERT_LOGIN_TLS_CERT_FILE: serverCert,
      CERT_LOGIN_TLS_KEY_FILE: serverKey,
      CERT_LOGIN_PROXY_HEADER: 'x-ssl-client-cert',
      CERT_LOGIN_TRUSTED_PROXIES: '127.0.0.2/32',
      // The main listener is behind one proxy; the mutual-TLS listener never is.
      TRUST_PROXY: '1',
      // The external CA's OCSP responder runs on loopback here; the guard's own test is outbound-guard.test.ts.
      VALIDATION_FETCH_PRIVATE_NETWORKS: 'true',
    },
  });
  listener = await listenCertificateLogin(t.service, t.service.config, 0);
  portal.secret = (await t.service.clients.add('test', { clientId: portal.id, name: 'Một cửa điện tử', redirectUris: [portal.redirect], scopes: ['openid', 'profile', 'certs:read', 'certs:revoke'], firstParty: true })).secret!;
}, 60_000);

afterAll(async () => {
  ocspResponder?.kill();
  await listener?.close();
  await t?.close();
});

/** The login page of a new authorization request, and its certificate link's first hop. */
async function startLogin() {
  const config = await discover(t.url, portal.id, portal.secret);
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
  const browser = new Browser();
  const { page } = await browser.follow(url);
  const link = /<a\b[^>]*data-method="certificate"[^>]*href="([^"]+)"|<a\b[^>]*href="([^"]+)"[^>]*data-method="certificate"/.exec(page!.body);
  expect(link).not.toBeNull();
  const uid = interactionUid(page!);
  return { config, verifier, browser, uid, certificatePath: `/interaction/${uid}/certificate` };
}

/**
 * curl as the browser's TLS client on the mutual-TLS listener: status, Location and body. Run
 * asynchronously: the listener answers from this very process.
 */
async function curl(url: string, cert?: { certFile: string; keyFile: string }, headers: string[] = []) {
  const args = ['-sS', '--max-time', '20', '--cacert', serverCert, '-o', join(dir, 'body.html'), '-w', '%{http_code} %{redirect_url}', ...(cert ? ['--cert', cert.certFile, '--key', cert.keyFile] : []), ...headers.flatMap((h) => ['-H', h]), url];
  const [status, location] = (await promisify(execFile)('curl', args)).stdout.split(' ');
  return { status: Number(status), location, body: textOf(readFileSync(join(dir, 'body.html'), 'utf8')) };
}

async function mtlsLogin(cert?: { certFile: string; keyFile: string }) {
  const s = await startLogin();
  const toTls = await s.browser.get(`${t.url}${s.certificatePath}`);
  expect(toTls.status).toBe(303);
  expect(toTls.location!.origin).toBe(new URL(listener.url).origin);
  const tls = await curl(toTls.location!.href, cert);
  return { ...s, tls };
}

async function finish(s: Awaited<ReturnType<typeof mtlsLogin>>, location: string) {
  const { stoppedAt } = await s.browser.follow(location, portal.redirect);
  expect(stoppedAt).toBeDefined();
  return client.authorizationCodeGrant(s.config, stoppedAt!, { pkceCodeVerifier: s.verifier, idTokenExpected: true });
}

const failures = async (reason: string) => (await t.service.audit.list({ action: 'login.failure', limit: 100 })).filter((e) => e.details.method === 'sc' && e.details.reason === reason);

describeWithCurl(`certificate login (${db})`, () => {
  it('a certificate issued by our CA logs in over mutual TLS: amr sc, acr high (acceptance 3)', async () => {
    const official = await createOfficial(t, { nationalId: '094190005001' });
    const cert = await issueOfficialCertificate('good', '094190005001');
    const s = await mtlsLogin(cert);
    expect(s.tls.status).toBe(303);
    expect(s.tls.location).toMatch(new RegExp(`^${t.url}/interaction/${s.uid}/certificate/complete\\?result=`));
    const tokens = await finish(s, s.tls.location);
    expect(tokens.claims()).toMatchObject({ sub: official.account.id, acr: ACR.high, amr: ['sc'] });
    const [success] = (await t.service.audit.list({ action: 'login.success', target: `account:${official.account.id}` })).filter((e) => e.details.method === 'sc');
    expect(success.details).toMatchObject({ via: 'mtls', serial: cert.serial });
  });

  it.each([
    ['revoked', async (serial: string) => t.service.certificates.ca.changeStatus({ actor: 'ra-officer', serial, action: 'revoke', reason: 'keyCompromise' }), /revoked .*keyCompromise/],
    ['hold', async (serial: string) => t.service.certificates.ca.changeStatus({ actor: 'ra-officer', serial, action: 'hold' }), /on hold/],
  ])('a %s certificate is refused with the reason', async (reason, change, message) => {
    const cccd = reason === 'revoked' ? '094190005002' : '094190005003';
    await createOfficial(t, { nationalId: cccd });
    const cert = await issueOfficialCertificate(reason, cccd);
    await change(cert.serial);
    const s = await mtlsLogin(cert);
    expect(s.tls.status).toBe(403);
    expect(s.tls.body).toMatch(message);
    expect(s.tls.body).toContain(reason);
    expect((await failures(reason)).map((e) => e.details.serial)).toContain(cert.serial);
  });

  it('a certificate of an untrusted CA (same subject, same CCCD) is refused', async () => {
    await createOfficial(t, { nationalId: '094190005004' });
    // Another CA made with OpenSSL, issuing a look-alike certificate.
    const caKey = join(dir, 'rogue-ca.key');
    const caCert = join(dir, 'rogue-ca.pem');
    run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '30', '-subj', '/CN=Rogue Issuing CA/O=Not the province']);
    const { keyFile } = keyAndCsr('rogue-leaf');
    const csrFile = writeFile(dir, 'rogue.csr', run('openssl', ['req', '-new', '-key', keyFile, '-utf8', '-subj', '/C=VN/O=SỞ TÀI CHÍNH/CN=Nguyễn Văn Giả/UID=CCCD:094190005004']).out);
    const certFile = join(dir, 'rogue-leaf.pem');
    run('openssl', ['x509', '-req', '-in', csrFile, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '10', '-out', certFile, '-extfile', writeFile(dir, 'rogue.ext', 'extendedKeyUsage=clientAuth\n')]);
    const s = await mtlsLogin({ certFile, keyFile });
    expect(s.tls.status).toBe(403);
    expect(s.tls.body).toMatch(/not issued by a trusted certification authority/);
    expect(s.tls.body).toContain('untrusted');
    expect(await failures('untrusted')).not.toHaveLength(0);
  });

  it('no client certificate: 401 with the reason; a forged or foreign hand-over token is refused', async () => {
    const s = await mtlsLogin();
    expect(s.tls.status).toBe(401);
    expect(s.tls.body).toMatch(/no client certificate/);
    const forged = await curl(`${listener.url}/certificate-login?ticket=eyJraW5kIjoidGlja2V0In0.AAAA`);
    expect(forged.status).toBe(403);
    // A result token for another interaction does not complete this one.
    const official = await createOfficial(t, { nationalId: '094190005005' });
    const cert = await issueOfficialCertificate('other', '094190005005');
    const a = await mtlsLogin(cert);
    const b = await startLogin();
    const stolen = new URL(a.tls.location);
    const replayed = await b.browser.get(`${t.url}/interaction/${b.uid}/certificate/complete${stolen.search}`);
    expect(replayed.status).toBe(403);
    void official;
  });

  it('the mutual-TLS listener believes no X-Forwarded-For: it terminates TLS itself, so a client wrote it', async () => {
    const spoofed = await curl(`${listener.url}/certificate-login?ticket=x`, undefined, ['X-Forwarded-For: 203.0.113.9', 'X-Forwarded-Proto: http']);
    expect(spoofed.status).toBe(400); // the ticket is no ticket; the line of the request is what is checked
    const line = t.logs.filter((l) => (l.req as { path?: string } | undefined)?.path === '/certificate-login').at(-1);
    expect(line?.req).toMatchObject({ ip: '127.0.0.1' });
    expect(JSON.stringify(t.logs)).not.toContain('203.0.113.9');
  });

  it('behind a TLS-terminating proxy: the certificate header is believed from the configured proxy only', async () => {
    const official = await createOfficial(t, { nationalId: '094190005006' });
    const cert = await issueOfficialCertificate('proxied', '094190005006');
    const header = encodeURIComponent(readFileSync(cert.certFile, 'utf8')); // nginx $ssl_client_escaped_cert
    const s = await startLogin();
    // From an address that is not a configured proxy: refused, whatever the header says.
    const direct = await s.browser.get(`${t.url}${s.certificatePath}`, { 'x-ssl-client-cert': header });
    expect(direct.status).toBe(403);
    expect(JSON.parse(direct.body).detail).toMatch(/only from the configured reverse proxies/);
    // From the proxy's address (127.0.0.2): accepted.
    const viaProxy = await new Promise<{ status: number; location: string; setCookie: string[] }>((resolve, reject) => {
      const target = new URL(`${t.url}${s.certificatePath}`);
      const req = httpRequest(target, { localAddress: '127.0.0.2', headers: { cookie: s.browser.jar.header(target), 'x-ssl-client-cert': header } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, location: res.headers.location ?? '', setCookie: res.headers['set-cookie'] ?? [] });
      });
      req.on('error', reject);
      req.end();
    });
    expect(viaProxy.status).toBe(303);
    const tokens = await finish({ ...s, tls: { status: 0, location: '', body: '' } }, new URL(viaProxy.location, t.url).href);
    expect(tokens.claims()).toMatchObject({ sub: official.account.id, acr: ACR.high, amr: ['sc'] });
  });

  it('a certificate answers a step-up for certs:revoke after a password login; the token carries the scope', async () => {
    const officer = await createOfficial(t, { nationalId: '094190005007', roles: ['ra-officer'] });
    const cert = await issueOfficialCertificate('officer', '094190005007');
    const config = await discover(t.url, portal.id, portal.secret);
    const browser = new Browser();
    const api = `${t.url}/api`;
    // Password first (low), then a request for certs:revoke: the step-up page offers the certificate.
    const first = client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    await authorize(browser, first, portal.redirect, officer);
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid certs:revoke', resource: api, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const { page } = await browser.follow(url);
    expect(page!.url.pathname).toMatch(/\/passkey$/);
    const href = /<a\b[^>]*href="([^"]+)"[^>]*data-method="certificate"/.exec(page!.body)![1];
    const toTls = await browser.get(new URL(href, page!.url));
    const tls = await curl(toTls.location!.href, cert);
    expect(tls.status).toBe(303);
    const callback = await authorize(browser, tls.location, portal.redirect);
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, idTokenExpected: true }, { resource: api });
    expect(tokens.claims()).toMatchObject({ sub: officer.account.id, acr: ACR.high, amr: ['pwd', 'sc', 'mfa'] });
    expect(decodeJwt(tokens.access_token).scope).toBe('certs:revoke');
  });

  it('a certificate registered to an account logs in as that account when its CCCD names no account', async () => {
    const official = await createOfficial(t, { nationalId: '094190005008' });
    const cert = await issueOfficialCertificate('registered', '094190005098'); // nobody's CCCD
    const refused = await mtlsLogin(cert);
    expect(refused.tls.status).toBe(403);
    expect(refused.tls.body).toMatch(/no account has the national ID CCCD:094190005098/);
    await t.service.certificateLogin.registerCertificate('test', official.account.id, readFileSync(cert.certFile, 'utf8'));
    await expect(t.service.certificateLogin.registerCertificate('test', official.account.id, readFileSync(cert.certFile, 'utf8'))).rejects.toThrow(/already registered/);
    const s = await mtlsLogin(cert);
    expect(s.tls.status).toBe(303);
    const tokens = await finish(s, s.tls.location);
    expect(tokens.claims()).toMatchObject({ sub: official.account.id, amr: ['sc'] });
    expect(await t.service.audit.list({ action: 'account.certificate_register', target: `account:${official.account.id}` })).toHaveLength(1);
  });

  it("another CA's certificate (the configured bundle) is checked by its own OCSP responder: good logs in, revoked and unreachable are refused", async () => {
    const good = await createOfficial(t, { nationalId: '094190006001' });
    await createOfficial(t, { nationalId: '094190006002' });
    await createOfficial(t, { nationalId: '094190006003' });
    const ok = await mtlsLogin(external.good);
    expect(`${ok.tls.status} ${ok.tls.body}`).toMatch(/^303/);
    const tokens = await finish(ok, ok.tls.location);
    expect(tokens.claims()).toMatchObject({ sub: good.account.id, acr: ACR.high, amr: ['sc'] });

    const revoked = await mtlsLogin(external.revoked);
    expect(revoked.tls.status).toBe(403);
    expect(revoked.tls.body).toMatch(/revoked on .*its issuer's OCSP responder/);

    const down = await mtlsLogin(external.unreachable);
    expect(down.tls.status).toBe(403);
    expect(down.tls.body).toMatch(/status could not be checked: the OCSP responder could not be reached/);
    expect(down.tls.body).toContain('status-unavailable');
  });
});
