import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { startTestService, type TestService } from '../../support/test-app.js';
import { apiClient, officialHolder, opensslCsr, run, sealHolder, tlsHolder, tmp, writeFile } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';

/**
 * The CA and registry through the REST API, as applications and RA officers use it, checked with
 * OpenSSL and GnuTLS as independent verifiers. Runs on the database of the test run.
 */
let t: TestService;
let requester: Awaited<ReturnType<typeof apiClient>>;
let officer1: Awaited<ReturnType<typeof apiClient>>;
let officer2: Awaited<ReturnType<typeof apiClient>>;
let revoker: Awaited<ReturnType<typeof apiClient>>;
let reader: Awaited<ReturnType<typeof apiClient>>;
let dir: string;
let rootPem: string;
let issuingPem: string;
let issuerId: string;
let openapi: { components: { schemas: Record<string, unknown> } };
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);

/** Every API response these tests look at must match the OpenAPI document's schema. */
function conforms(schemaName: string, body: unknown): void {
  const validate = ajv.getSchema(`#/components/schemas/${schemaName}`) ?? ajv.compile({ $ref: `openapi.json#/components/schemas/${schemaName}` });
  if (!validate(body)) throw new Error(`${schemaName}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
}

beforeAll(async () => {
  t = await startTestService();
  requester = await apiClient(t, 'ra-portal', ['certs:request', 'certs:read']);
  // RA officers read identifiers in full (certs:read:pii); the document system sees them masked.
  officer1 = await apiClient(t, 'officer-one', ['certs:approve', 'certs:read', 'certs:read:pii']);
  officer2 = await apiClient(t, 'officer-two', ['certs:approve', 'certs:read', 'certs:read:pii']);
  revoker = await apiClient(t, 'revocation-desk', ['certs:revoke', 'certs:read']);
  reader = await apiClient(t, 'document-system', ['certs:read']);
  dir = tmp();
  const issuers = await t.service.certificates.ca.issuers();
  const root = issuers.find((i) => i.role === 'root')!;
  const issuing = issuers.find((i) => i.role === 'issuing')!;
  issuerId = issuing.id;
  rootPem = writeFile(dir, 'root.pem', (await t.service.certificates.caCertificate(root.id)).pem);
  issuingPem = writeFile(dir, 'issuing.pem', (await t.service.certificates.caCertificate(issuing.id)).pem);
  openapi = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as typeof openapi;
  ajv.addSchema({ ...openapi, $id: 'openapi.json' });
});
afterAll(async () => {
  await t?.close();
});

async function issueOfficial(cccd: string) {
  const submitted = await requester.call('POST', '/api/v1/certificate-requests', { csr: opensslCsr(), profile: 'official-signing', ...officialHolder(cccd) });
  expect(submitted.status).toBe(201);
  const id = (submitted.body as { request: { id: string } }).request.id;
  const approved = await officer1.call('POST', `/api/v1/certificate-requests/${id}/approve`);
  expect(approved.status).toBe(200);
  const cert = (approved.body as { certificate: { serial: string } }).certificate;
  expect(cert).not.toBeNull();
  return cert.serial;
}

async function pemOf(serial: string): Promise<string> {
  // A file that names its holder by number is downloaded with certs:read:pii (docs/ca.md, "Personal data").
  const res = await officer1.call('GET', `/api/v1/certificates/${serial}.pem`);
  expect(res.status).toBe(200);
  return writeFile(dir, `${serial}.pem`, res.raw);
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(openapi);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('describes the audit log\'s answers as the API gives them', async () => {
    const paths = (openapi as unknown as { paths: Record<string, unknown> }).paths;
    expect(Object.keys(paths)).toEqual(expect.arrayContaining(['/api/v1/audit/events', '/api/v1/audit/verification']));
    const admin = await apiClient(t, 'openapi-audit-admin', ['admin']);
    const page = await admin.call('GET', '/api/v1/audit/events?limit=5');
    expect(page.status).toBe(200);
    conforms('AuditEventsPage', page.body);
    expect((page.body as { events: unknown[]; next: string | null }).next).toMatch(/^\/api\/v1\/audit\/events\?before=\d+&limit=5$/);
    const verification = await admin.call('GET', '/api/v1/audit/verification');
    expect(verification.status).toBe(200);
    conforms('AuditVerification', verification.body);
    expect(verification.body).toMatchObject({ ok: true });
    // An answer the schema must refuse, so the check above can fail.
    expect(() => conforms('AuditEventsPage', { events: [{ seq: 0, hash: 'x' }], next: null })).toThrow();
    // Bad input: a precise 400.
    expect((await admin.call('GET', '/api/v1/audit/events?limit=0')).status).toBe(400);
  });
});

describe('issuance under each profile', () => {
  it('issues an official signing certificate after one approval', async () => {
    const submitted = await requester.call('POST', '/api/v1/certificate-requests', { csr: opensslCsr('rsa-2048'), profile: 'official-signing', ...officialHolder('094185000321') });
    expect(submitted.status).toBe(201);
    conforms('CertificateRequest', (submitted.body as { request: unknown }).request);
    const request = (submitted.body as { request: { id: string; status: string; approvalsRequired: number } }).request;
    expect(request).toMatchObject({ status: 'pending', approvalsRequired: 1 });

    const approved = await officer1.call('POST', `/api/v1/certificate-requests/${request.id}/approve`);
    expect(approved.status).toBe(200);
    const cert = (approved.body as { certificate: Record<string, unknown> }).certificate;
    conforms('Certificate', cert);
    expect(cert).toMatchObject({ status: 'good', profile: 'official-signing', nationalId: '094185000321', holderName: 'Nguyễn Thị Ánh Tuyết', agency: 'SỞ TÀI CHÍNH TỈNH SÓC TRĂNG' });

    const leaf = await pemOf(String(cert.serial));
    expect(run('openssl', ['verify', '-x509_strict', '-purpose', 'smimesign', '-CAfile', rootPem, '-untrusted', issuingPem, leaf]).out).toContain(': OK');
    const text = run('openssl', ['x509', '-in', leaf, '-noout', '-text', '-nameopt', 'utf8,sep_comma_plus_space']).out;
    expect(text).toContain('CN=Nguyễn Thị Ánh Tuyết');
    expect(text).toContain('O=SỞ TÀI CHÍNH TỈNH SÓC TRĂNG');
    expect(text).toContain('UID=CCCD:094185000321');
    expect(text).toContain(`URI:${t.url}/crl/${issuerId}.crl`);
    expect(text).toContain(`OCSP - URI:${t.url}/ocsp`);
    expect(text).toContain(`CA Issuers - URI:${t.url}/ca/${issuerId}.crt`);
    expect(text).toContain('email:ntatuyet@soctrang.gov.vn');
    expect(text).toMatch(/Digital Signature, Non Repudiation/);
  });

  it('issues an organisation seal only after two distinct officers, never the requester', async () => {
    const submitted = await requester.call('POST', '/api/v1/certificate-requests', { csr: opensslCsr(), profile: 'organisation-seal', ...sealHolder });
    const id = (submitted.body as { request: { id: string } }).request.id;

    // The requester cannot approve: same client, and the scope is missing anyway.
    expect((await requester.call('POST', `/api/v1/certificate-requests/${id}/approve`)).status).toBe(403);
    const first = await officer1.call('POST', `/api/v1/certificate-requests/${id}/approve`);
    expect(first.body).toMatchObject({ request: { status: 'pending', approvals: [expect.objectContaining({ approver: 'client:officer-one' })] }, certificate: null });
    const twice = await officer1.call('POST', `/api/v1/certificate-requests/${id}/approve`);
    expect(twice.status).toBe(409);
    expect((twice.body as { detail: string }).detail).toMatch(/already approved/);
    expect((await t.service.certificates.search({ text: 'SỞ TÀI CHÍNH TỈNH SÓC TRĂNG', profileId: 'organisation-seal' })).total).toBe(0);

    const second = await officer2.call('POST', `/api/v1/certificate-requests/${id}/approve`);
    expect(second.status).toBe(200);
    const cert = (second.body as { certificate: { serial: string; taxCode: string } }).certificate;
    expect(cert.taxCode).toBe('2200100076');
    const leaf = await pemOf(cert.serial);
    expect(run('openssl', ['verify', '-x509_strict', '-CAfile', rootPem, '-untrusted', issuingPem, leaf]).out).toContain(': OK');
  });

  it('refuses an officer approving their own request (dual control)', async () => {
    const both = await apiClient(t, 'officer-and-requester', ['certs:request', 'certs:approve']);
    const submitted = await both.call('POST', '/api/v1/certificate-requests', { csr: opensslCsr(), profile: 'official-signing', ...officialHolder('094185000777') });
    const id = (submitted.body as { request: { id: string } }).request.id;
    const own = await both.call('POST', `/api/v1/certificate-requests/${id}/approve`);
    expect(own.status).toBe(403);
    expect((own.body as { detail: string }).detail).toContain('nobody approves their own request');
  });

  it('issues a TLS server certificate after an officer checked control of the name, and serves its chain as PKCS#7', async () => {
    const submitted = await requester.call('POST', '/api/v1/certificate-requests', { csr: opensslCsr(), profile: 'tls-server', ...tlsHolder('dichvucong.soctrang.gov.vn') });
    expect(submitted.status).toBe(201);
    const id = (submitted.body as { request: { id: string } }).request.id;
    const nameControl = [{ name: 'dichvucong.soctrang.gov.vn', method: 'agency-zone-record', evidence: 'zone soctrang.gov.vn delegated to the department, ticket 2026-118' }];
    const approved = await officer1.call('POST', `/api/v1/certificate-requests/${id}/approve`, { nameControl });
    expect(approved.status).toBe(200);
    conforms('CertificateRequest', (approved.body as { request: unknown }).request);
    const cert = (approved.body as { certificate: { serial: string } }).certificate;
    const leaf = await pemOf(cert.serial);
    expect(run('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', rootPem, '-untrusted', issuingPem, leaf]).out).toContain(': OK');
    const chain = await reader.call('GET', `/api/v1/certificates/${cert.serial}/chain`);
    expect(chain.headers.get('content-type')).toBe('application/pkcs7-mime');
    const printed = run('openssl', ['pkcs7', '-inform', 'DER', '-print_certs', '-noout'], { input: chain.raw }).out;
    expect(printed.match(/subject=/g)).toHaveLength(3);
    const der = await reader.call('GET', `/api/v1/certificates/${cert.serial}.der`);
    expect(run('openssl', ['x509', '-inform', 'DER', '-noout', '-serial'], { input: der.raw }).out.trim().toLowerCase()).toBe(`serial=${cert.serial}`);
  });
});

describeWithProgram('certtool', 'gnutls-bin')('GnuTLS', () => {
  it('certtool --verify-chain accepts certificates of every profile', async () => {
    const serials = (await t.service.certificates.search({ issuerId, limit: 100 })).items.filter((c) => c.profileId !== 'ocsp-signer').map((c) => c.serial);
    expect(serials.length).toBeGreaterThanOrEqual(3);
    for (const serial of serials) {
      const chain = writeFile(dir, `chain-${serial}.pem`, Buffer.concat([readFileSync(await pemOf(serial)), readFileSync(issuingPem), readFileSync(rootPem)]));
      const out = run('certtool', ['--verify-chain', '--infile', chain]).out;
      expect(out).toContain('Chain verification output: Verified');
    }
  });
});

describe('bad requests get a precise 400 and leave nothing behind', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['a CSR with a bad signature', () => ({ csr: tamper(opensslCsr()), profile: 'official-signing', ...officialHolder('094185000001') }), /signature/i],
    ['RSA-1024', () => ({ csr: opensslCsr('rsa-1024'), profile: 'official-signing', ...officialHolder('094185000002') }), /1024/],
    ['an unknown curve (secp256k1)', () => ({ csr: opensslCsr('ec-secp256k1'), profile: 'official-signing', ...officialHolder('094185000003') }), /secp256k1|curve/i],
    ['a missing required attribute (no CCCD)', () => ({ csr: opensslCsr(), profile: 'official-signing', subject: { ...officialHolder('1').subject, UID: [] } }), /CCCD|UID/],
    ['an invalid CCCD', () => ({ csr: opensslCsr(), profile: 'official-signing', ...officialHolder('12345') }), /CCCD/],
    ['malformed DER', () => ({ csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIIBAAAA\n-----END CERTIFICATE REQUEST-----\n', profile: 'official-signing' }), /CSR|DER|ASN/i],
    ['a PEM of another type', () => ({ csr: readFileSync(issuingPem, 'utf8'), profile: 'official-signing' }), /CERTIFICATE/],
    ['an unknown profile', () => ({ csr: opensslCsr(), profile: 'no-such-profile' }), /no-such-profile/],
  ];
  it.each(cases)('%s', async (_name, body, cause) => {
    const before = await t.service.certificates.ra.list(undefined, 1000);
    const res = await requester.call('POST', '/api/v1/certificate-requests', body());
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    conforms('Problem', res.body);
    expect((res.body as { detail: string }).detail).toMatch(cause);
    expect(await t.service.certificates.ra.list(undefined, 1000)).toHaveLength(before.length);
  });

  it('refuses a JSON body that is not JSON, a wrong content type and unknown fields', async () => {
    const r1 = await fetch(`${t.url}/api/v1/certificate-requests`, { method: 'POST', headers: { authorization: `Bearer ${requester.token}`, 'content-type': 'application/json' }, body: '{"csr":' });
    expect(r1.status).toBe(400);
    const r2 = await fetch(`${t.url}/api/v1/certificate-requests`, { method: 'POST', headers: { authorization: `Bearer ${requester.token}`, 'content-type': 'text/plain' }, body: 'x' });
    expect(r2.status).toBe(415);
    const r3 = await requester.call('POST', '/api/v1/certificate-requests', { csr: 'x', profile: 'official-signing', admin: true });
    expect(r3.status).toBe(400);
  });

  it('needs the right scope for each operation', async () => {
    expect((await reader.call('POST', '/api/v1/certificate-requests', { csr: 'x', profile: 'y' })).status).toBe(403);
    expect((await reader.call('POST', '/api/v1/certificates/00ff/revoke', {})).status).toBe(403);
    const anonymous = await fetch(`${t.url}/api/v1/certificates`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="tinnhiem"');
  });

  it('answers 404 for an unknown serial', async () => {
    const res = await reader.call('GET', '/api/v1/certificates/0123456789abcdef');
    expect(res.status).toBe(404);
    expect((await revoker.call('POST', '/api/v1/certificates/0123456789abcdef/revoke', { reason: 'keyCompromise' })).status).toBe(404);
  });
});

function tamper(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 5] ^= 0x01; // inside the signature
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
}

describe('revocation, hold and release as relying parties see them', () => {
  async function crlCheck(leaf: string): Promise<{ ok: boolean; out: string }> {
    const full = await fetch(`${t.url}/crl/${issuerId}.crl`);
    expect(full.headers.get('content-type')).toBe('application/pkix-crl');
    expect(full.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const crl = writeFile(dir, 'issuing.crl', Buffer.from(await full.arrayBuffer()));
    const crlPem = writeFile(dir, 'issuing-crl.pem', run('openssl', ['crl', '-inform', 'DER', '-in', crl]).out);
    const r = run('openssl', ['verify', '-crl_check', '-CAfile', rootPem, '-untrusted', issuingPem, '-CRLfile', crlPem, leaf], { allowFailure: true });
    return { ok: r.code === 0, out: r.out };
  }

  it('follows revoke → hold → release through the served CRLs', async () => {
    const held = await issueOfficial('094185000500');
    const leaf = await pemOf(held);
    expect((await crlCheck(leaf)).ok).toBe(true);

    const hold = await revoker.call('POST', `/api/v1/certificates/${held}/hold`, { comment: 'thẻ bị mất' });
    expect(hold.status).toBe(200);
    conforms('Certificate', hold.body);
    expect(hold.body).toMatchObject({ status: 'hold', revocationReason: 'certificateHold' });
    const onHold = await crlCheck(leaf);
    expect(onHold.ok).toBe(false);
    expect(onHold.out).toContain('certificate revoked');

    const deltaOf = async () => run('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], { input: Buffer.from(await (await fetch(`${t.url}/crl/${issuerId}-delta.crl`)).arrayBuffer()) }).out;
    // The delta CRL (against the scheduled base) already lists the hold.
    const deltaOnHold = await deltaOf();
    expect(deltaOnHold).toMatch(/Delta CRL Indicator: critical/);
    expect(deltaOnHold).toMatch(new RegExp(`Serial Number: (00)?${held.toUpperCase()}\\b`));
    expect(deltaOnHold).toContain('Certificate Hold');

    // The schedule makes a new base CRL (it lists the hold); then the hold is released.
    await t.service.certificates.ca.generateCrls(issuerId, ['full', 'delta'], { newBase: true });
    const release = await revoker.call('POST', `/api/v1/certificates/${held}/release`, {});
    expect(release.body).toMatchObject({ status: 'good', revocationReason: null });
    expect((await crlCheck(leaf)).ok).toBe(true);
    // The delta tells caches holding that base that the hold ended: removeFromCRL (RFC 5280 §5.3.1).
    const deltaText = await deltaOf();
    expect(deltaText).toMatch(new RegExp(`Serial Number: (00)?${held.toUpperCase()}\\b`));
    expect(deltaText).toContain('Remove From CRL');

    const revoke = await revoker.call('POST', `/api/v1/certificates/${held}/revoke`, { reason: 'keyCompromise', invalidityDate: new Date(Date.now() - 3_600_000).toISOString() });
    expect(revoke.body).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    expect((await crlCheck(leaf)).out).toContain('certificate revoked');
    const deltaAfter = await deltaOf();
    expect(deltaAfter).toContain('Key Compromise');
    expect(deltaAfter).toContain('Invalidity Date');

    // A revoked certificate stays revoked.
    expect((await revoker.call('POST', `/api/v1/certificates/${held}/release`, {})).status).toBe(409);
    expect((await revoker.call('POST', `/api/v1/certificates/${held}/revoke`, { reason: 'superseded' })).status).toBe(409);

    // (less the reads of its file with certs:read:pii, audited as such: docs/ca.md, "Personal data")
    const actions = (await t.service.audit.list({ target: `certificate:${held}` })).map((e) => e.action).filter((a) => a !== 'certificate.read_pii').reverse();
    expect(actions).toEqual(['certificate.issue', 'certificate.hold', 'certificate.release', 'certificate.revoke', 'key.block']);
  });

  it('finds holders folded (no diacritics, NFD, any case) and pages by cursor', async () => {
    await issueOfficial('094185000603');
    await issueOfficial('094185000604');
    const folded = await reader.call('GET', `/api/v1/certificates?q=${encodeURIComponent('nguyen thi anh tuyet')}&limit=1`);
    expect(folded.status).toBe(200);
    conforms('CertificatePage', folded.body);
    const first = folded.body as { items: Array<{ serial: string; holderName: string }>; total: number; totalExact: boolean; nextCursor: string | null };
    expect(first).toMatchObject({ totalExact: true, items: [{ holderName: 'Nguyễn Thị Ánh Tuyết' }] });
    expect(first.total).toBeGreaterThanOrEqual(2);
    const nfd = await reader.call('GET', `/api/v1/certificates?q=${encodeURIComponent('ÁNH TUYẾT'.normalize('NFD'))}&limit=1`);
    expect((nfd.body as { total: number }).total).toBe(first.total);
    const next = await reader.call('GET', `/api/v1/certificates?q=${encodeURIComponent('nguyen thi anh tuyet')}&limit=1&cursor=${first.nextCursor}`);
    expect((next.body as { items: Array<{ serial: string }> }).items[0].serial).not.toBe(first.items[0].serial);
    expect((await reader.call('GET', '/api/v1/certificates?cursor=bm90LWEtY3Vyc29y')).status).toBe(400);
  });

  it('revokes every certificate of an agency in bulk, the agency named in any case or normal form', async () => {
    await issueOfficial('094185000601');
    await issueOfficial('094185000602');
    // Issue 21: an agency search finds by a case or NFD variant revoked nothing before (200 {"revoked":[]}).
    const res = await revoker.call('POST', '/api/v1/certificates/bulk-revoke', { agency: 'Sở Tài chính tỉnh Sóc Trăng'.normalize('NFD'), reason: 'affiliationChanged' });
    expect(res.status).toBe(200);
    expect((res.body as { revoked: string[] }).revoked.length).toBeGreaterThanOrEqual(2);
    const left = await reader.call('GET', `/api/v1/certificates?agency=${encodeURIComponent('SỞ TÀI CHÍNH TỈNH SÓC TRĂNG')}&status=good`);
    conforms('CertificatePage', left.body);
    expect((left.body as { total: number }).total).toBe(0);
  });

  it('serves the CA certificates at the AIA URL', async () => {
    const res = await fetch(`${t.url}/ca/${issuerId}.crt`);
    expect(res.headers.get('content-type')).toBe('application/pkix-cert');
    const der = Buffer.from(await res.arrayBuffer());
    expect(run('openssl', ['x509', '-inform', 'DER', '-noout', '-subject'], { input: der }).out).toContain('Issuing CA');
  });
});

describe('the registry', () => {
  it('searches by national ID, status and expiry window, paginated', async () => {
    const serial = await issueOfficial('094185000901');
    expect((await reader.call('GET', '/api/v1/certificates?nationalId=094185000901')).status).toBe(403);
    const byId = await officer1.call('GET', '/api/v1/certificates?nationalId=094185000901');
    expect((byId.body as { items: Array<{ serial: string }> }).items.map((c) => c.serial)).toEqual([serial]);
    const soon = await reader.call('GET', '/api/v1/certificates?expiresWithinDays=40');
    // Only the 30-day OCSP signer expires that soon.
    expect((soon.body as { items: Array<{ profile: string }> }).items.every((c) => c.profile === 'ocsp-signer')).toBe(true);
    const page = await reader.call('GET', '/api/v1/certificates?limit=2&offset=1');
    expect((page.body as { items: unknown[] }).items).toHaveLength(2);
    const bad = await reader.call('GET', '/api/v1/certificates?limit=100000');
    expect(bad.status).toBe(400);
  });

  it('imports certificates of other CAs and records where their status comes from', async () => {
    const vgca = readFileSync(join(process.cwd(), 'test/fixtures/vgca/vgca-g1-chinh-phu-subca.pem'), 'utf8');
    const result = await t.service.certificates.importCertificates('test', vgca);
    expect(result.imported).toHaveLength(1);
    expect(result.imported[0].statusSource).toMatch(/^(ocsp|crl):http|^none$/);
    const again = await t.service.certificates.importCertificates('test', vgca);
    expect(again.skipped).toHaveLength(1);
  });
});
