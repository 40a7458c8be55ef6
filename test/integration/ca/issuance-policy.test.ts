import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { startTestService, type TestService } from '../../support/test-app.js';
import { apiClient, officialHolder, run, tlsHolder, tmp } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { encodePem } from '../../../ca/asn1/der.js';
import type { SigningKey } from '../../../ca/keys/key-store.js';
import { CertificateRequestRepository } from '../../../src/storage/certificate-request-repository.js';

/**
 * Issue 18, defects 1, 2 and 7 through the API (docs/ca.md, "Name policy" and "Blocked keys"):
 * on the previous release every refused request below was issued at once (201, approvalsRequired 0).
 */
let t: TestService;
let requester: Awaited<ReturnType<typeof apiClient>>;
let limited: Awaited<ReturnType<typeof apiClient>>;
let officer: Awaited<ReturnType<typeof apiClient>>;
let revoker: Awaited<ReturnType<typeof apiClient>>;
let dir: string;

type Problem = { status: number; body: { detail?: string; problems?: string[] } };
const detail = (res: { body: unknown }) => (res.body as Problem['body']).detail ?? '';

/** A key file and CSRs made from it by OpenSSL (a token tool), so one key can be asked for again. */
function keyFile(name: string): string {
  const key = join(dir, `${name}.key`);
  run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  return key;
}
function csrOf(key: string, extra: string[] = []): string {
  return run('openssl', ['req', '-new', '-key', key, '-subj', '/CN=token', ...extra]).out;
}

/** A CSR signed by one of the CA's own keys (as an insider or a thief of a key file would make it). */
async function csrWithKey(key: SigningKey): Promise<string> {
  const csr = new pkijs.CertificationRequest();
  csr.version = 0;
  csr.subject.typesAndValues.push(new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: 'leaf' }) }));
  csr.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(new Uint8Array(key.spki));
  await csr.sign(key.privateKey, 'SHA-256', new pkijs.CryptoEngine({ crypto: key.crypto, name: 'ca-key' }));
  return encodePem(new Uint8Array(csr.toSchema().toBER()), 'CERTIFICATE REQUEST');
}

const evidence = (name: string) => ({ name, method: 'dns-change', evidence: `TXT _tinnhiem.${name} = request token, seen by the officer` });

beforeAll(async () => {
  t = await startTestService({ env: { CA_REQUESTER_DNS_SUFFIXES: JSON.stringify({ 'client:portal-dichvucong': ['dichvucong.soctrang.gov.vn'] }) } });
  requester = await apiClient(t, 'ordinary-requester', ['certs:request', 'certs:read']);
  limited = await apiClient(t, 'portal-dichvucong', ['certs:request', 'certs:read']);
  officer = await apiClient(t, 'ra-officer-tls', ['certs:approve', 'certs:read']);
  revoker = await apiClient(t, 'revocation-desk', ['certs:revoke', 'certs:read']);
  dir = tmp();
});
afterAll(async () => {
  await t?.close();
});

describeWithProgram('openssl', 'openssl')('name policy at request and at issuance', () => {
  it.each([
    ['www.google.com', 'dns-suffix'],
    ['accounts.google.com', 'dns-suffix'],
    ['vietcombank.com.vn', 'dns-suffix'],
    ['dichvucong.gov.vn', 'dns-suffix'],
    ['*.gov.vn', 'dns-wildcard'],
    ['*.chinhphu.vn', 'dns-suffix'],
    ['*.com.vn', 'dns-wildcard'],
  ])('refuses %s at request (%s), storing nothing', async (name, rule) => {
    const before = (await requester.call('GET', '/api/v1/certificate-requests')).body as { items: unknown[] };
    const res = await requester.call('POST', '/api/v1/certificate-requests', { csr: csrOf(keyFile('refused')), profile: 'tls-server', subject: { C: 'VN' }, dnsNames: [name] });
    expect(res.status).toBe(400);
    expect((res.body as Problem['body']).problems).toEqual([expect.stringMatching(new RegExp(`^${rule}: "${name.replace(/[.*]/g, '\\$&')}"`))]);
    expect(((await requester.call('GET', '/api/v1/certificate-requests')).body as { items: unknown[] }).items).toHaveLength(before.items.length);
  });

  it('refuses IP addresses in a CSR', async () => {
    const res = await requester.call('POST', '/api/v1/certificate-requests', { csr: csrOf(keyFile('ip'), ['-addext', 'subjectAltName=IP:10.0.0.1']), profile: 'tls-server', subject: { C: 'VN', CN: 'a.soctrang.gov.vn' }, dnsNames: ['a.soctrang.gov.vn'] });
    expect(res.status).toBe(400);
    expect(detail(res)).toMatch(/^ip-address: no profile certifies IP addresses/);
  });

  it('tls-server waits for an officer, who records how control of each name was checked', async () => {
    const names = ['dichvucong.soctrang.gov.vn', '*.cong.soctrang.gov.vn'];
    const submitted = await requester.call('POST', '/api/v1/certificate-requests', { csr: csrOf(keyFile('tls')), profile: 'tls-server', subject: { C: 'VN', CN: names[0] }, dnsNames: names });
    expect(submitted.status).toBe(201);
    const request = (submitted.body as { request: { id: string; status: string; approvalsRequired: number }; certificate: unknown }).request;
    expect(request).toMatchObject({ status: 'pending', approvalsRequired: 1 });
    expect((submitted.body as { certificate: unknown }).certificate).toBeNull();

    const bare = await officer.call('POST', `/api/v1/certificate-requests/${request.id}/approve`);
    expect(bare.status).toBe(400);
    expect(detail(bare)).toMatch(/^name-control: record how control of dichvucong\.soctrang\.gov\.vn, \*\.cong\.soctrang\.gov\.vn was checked/);
    const partial = await officer.call('POST', `/api/v1/certificate-requests/${request.id}/approve`, { nameControl: [evidence(names[0])] });
    expect(partial.status).toBe(400);
    const unknownMethod = await officer.call('POST', `/api/v1/certificate-requests/${request.id}/approve`, { nameControl: names.map((n) => ({ ...evidence(n), method: 'trust-me' })) });
    expect(unknownMethod.status).toBe(400);

    const approved = await officer.call('POST', `/api/v1/certificate-requests/${request.id}/approve`, { nameControl: names.map(evidence) });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ request: { status: 'issued', approvals: [{ approver: 'client:ra-officer-tls', nameControl: names.map(evidence) }] }, certificate: { profile: 'tls-server' } });
    const audit = await t.service.audit.list({ action: 'certificate.approve', target: `request:${request.id}` });
    expect(JSON.stringify(audit)).toContain('TXT _tinnhiem.dichvucong.soctrang.gov.vn');
  });

  it('an approval cannot override the policy: a request that is refused now stays unissued', async () => {
    // A request stored before the policy existed (the previous release took it), or written around the RA.
    const store = new CertificateRequestRepository(t.service.db.knex);
    const issuer = await t.service.certificates.ca.defaultIssuer();
    for (const [requestedBy, name, rule] of [
      ['client:ordinary-requester', 'www.google.com', 'dns-suffix'],
      ['client:portal-dichvucong', 'cong.soctrang.gov.vn', 'dns-requester'],
    ]) {
      const csr = Buffer.from(csrOf(keyFile('stored')).replace(/-----[^-]+-----|\s+/g, ''), 'base64');
      const id = await t.service.db.withTransaction((trx) =>
        store.create(
          trx,
          {
            profileId: 'tls-server',
            issuerId: issuer.id,
            csr,
            holder: { subject: { C: 'VN', CN: name }, emails: [], dnsNames: [name] },
            subjectDn: `C=VN, CN=${name}`,
            publicKeyFingerprint: 'stored',
            requestedBy,
            approvalsRequired: 1,
            predecessorSerial: null,
          },
          t.service.clock.now(),
        ),
      );
      const res = await officer.call('POST', `/api/v1/certificate-requests/${id}/approve`, { nameControl: [evidence(name)] });
      expect(res.status).toBe(400);
      expect(detail(res)).toMatch(new RegExp(`^${rule}: "${name.replace(/\./g, '\\.')}"`));
      expect(((await officer.call('GET', `/api/v1/certificate-requests/${id}`)).body as { status: string; approvals: unknown[] })).toMatchObject({ status: 'pending', approvals: [] });
    }
  });

  it('a requester limited to a subset of the profile\'s zones gets only those', async () => {
    const outside = await limited.call('POST', '/api/v1/certificate-requests', { csr: csrOf(keyFile('limited')), profile: 'tls-server', ...tlsHolder('cong.soctrang.gov.vn') });
    expect(outside.status).toBe(400);
    expect(detail(outside)).toBe('dns-requester: "cong.soctrang.gov.vn" is outside the DNS suffixes client:portal-dichvucong may request (dichvucong.soctrang.gov.vn)');
    const inside = await limited.call('POST', '/api/v1/certificate-requests', { csr: csrOf(keyFile('limited')), profile: 'tls-server', ...tlsHolder('www.dichvucong.soctrang.gov.vn') });
    expect(inside.status).toBe(201);
  });

  it('nobody outside the CA commands gets an OCSP signing certificate', async () => {
    const res = await requester.call('POST', '/api/v1/certificate-requests', { csr: csrOf(keyFile('ocsp')), profile: 'ocsp-signer', subject: { C: 'VN', O: 'X', CN: 'OCSP' } });
    expect(res.status).toBe(400);
    expect(detail(res)).toMatch(/profile ocsp-signer is for the CA's own OCSP signers/);
  });
});

describeWithProgram('openssl', 'openssl')('blocked keys', () => {
  async function issueOfficial(key: string, cccd: string): Promise<{ status: number; serial?: string; detail: string }> {
    const submitted = await requester.call('POST', '/api/v1/certificate-requests', { csr: csrOf(key), profile: 'official-signing', ...officialHolder(cccd) });
    if (submitted.status !== 201) return { status: submitted.status, detail: detail(submitted) };
    const id = (submitted.body as { request: { id: string } }).request.id;
    const approved = await officer.call('POST', `/api/v1/certificate-requests/${id}/approve`);
    return { status: approved.status, serial: (approved.body as { certificate?: { serial: string } }).certificate?.serial, detail: detail(approved) };
  }

  it.each(['keyCompromise', 'cACompromise'])('a key revoked for %s is never certified again', async (reason) => {
    const key = keyFile(`compromised-${reason}`);
    const first = await issueOfficial(key, '094185000101');
    expect(first.status).toBe(200);
    expect((await revoker.call('POST', `/api/v1/certificates/${first.serial}/revoke`, { reason })).status).toBe(200);
    const again = await issueOfficial(key, '094185000101');
    expect(again).toMatchObject({ status: 400, detail: expect.stringMatching(new RegExp(`^blocked-key: this public key was revoked for ${reason}`)) });
  });

  it('a reason raised to keyCompromise later blocks the key; the revocation date stays', async () => {
    const key = keyFile('raised');
    const first = await issueOfficial(key, '094185000202');
    const revoked = await revoker.call('POST', `/api/v1/certificates/${first.serial}/revoke`, { reason: 'superseded' });
    const revokedAt = (revoked.body as { revokedAt: string }).revokedAt;
    // Still allowed after a superseded revocation: the key was not compromised (as far as we know).
    const second = await issueOfficial(key, '094185000202');
    expect(second.status).toBe(200);
    const again = await revoker.call('POST', `/api/v1/certificates/${first.serial}/revoke`, { reason: 'unspecified' });
    expect(again.status).toBe(409);
    const raised = await revoker.call('POST', `/api/v1/certificates/${first.serial}/revoke`, { reason: 'keyCompromise', comment: 'private key found on a file share' });
    expect(raised.status).toBe(200);
    expect(raised.body).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise', revokedAt });
    expect((await revoker.call('POST', `/api/v1/certificates/${second.serial}/revoke`, { reason: 'superseded' })).status).toBe(200);
    expect(await issueOfficial(key, '094185000202')).toMatchObject({ status: 400, detail: expect.stringMatching(/^blocked-key: this public key was revoked for keyCompromise/) });
    const events = await t.service.audit.list({ action: 'key.block' });
    expect(events.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses the keys of the root, the issuing CA and the OCSP signer in a leaf CSR', async () => {
    const { ca } = t.service.certificates;
    for (const issuer of await ca.issuers()) {
      if (!issuer.keyUri) continue;
      const csr = await csrWithKey(await ca.key(issuer.keyUri));
      const res = await requester.call('POST', '/api/v1/certificate-requests', { csr, profile: 'official-signing', ...officialHolder('094185000303') });
      expect(res.status).toBe(400);
      expect(detail(res)).toMatch(new RegExp(`^blocked-key: this is the public key of (CA|OCSP signer) ${issuer.id}`));
    }
  });

  it('`cert block-key` blocks a key reported compromised without a certificate', async () => {
    const key = keyFile('reported');
    const pub = join(dir, 'reported.pub');
    run('openssl', ['pkey', '-in', key, '-pubout', '-out', pub]);
    const first = await t.service.certificates.blockKey('cli:test', new Uint8Array(readFileSync(pub)), 'reported by the holder');
    expect(first.blocked).toBe(true);
    expect((await t.service.certificates.blockKey('cli:test', new Uint8Array(readFileSync(pub)))).blocked).toBe(false);
    expect(await issueOfficial(key, '094185000404')).toMatchObject({ status: 400, detail: 'blocked-key: this public key was reported compromised and is never certified again' });
  });
});
