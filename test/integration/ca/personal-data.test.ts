import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { apiClient, officialHolder, opensslCsr, sealHolder } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { maskIdentifier, maskSubject } from '../../../src/certificates/personal-data.js';

/**
 * Issue 18, defect 10 (docs/ca.md, "Personal data"): every holder of certs:read listed every
 * certificate with its holder's CCCD, and could find out by number whether a person holds one.
 */
let t: TestService;
let reader: Awaited<ReturnType<typeof apiClient>>;
let requester: Awaited<ReturnType<typeof apiClient>>;
let piiReader: Awaited<ReturnType<typeof apiClient>>;
let serial: string;
let sealSerial: string;
const CCCD = '094185000321';

beforeAll(async () => {
  t = await startTestService();
  requester = await apiClient(t, 'pii-requester', ['certs:request', 'certs:read']);
  const officer = await apiClient(t, 'pii-officer', ['certs:approve', 'certs:read']);
  const officer2 = await apiClient(t, 'pii-officer-2', ['certs:approve', 'certs:read']);
  reader = await apiClient(t, 'document-system', ['certs:read']);
  piiReader = await apiClient(t, 'ra-desk', ['certs:read', 'certs:read:pii']);
  const submitted = await requester.call('POST', '/api/v1/certificate-requests', { csr: opensslCsr(), profile: 'official-signing', ...officialHolder(CCCD) });
  const id = (submitted.body as { request: { id: string } }).request.id;
  serial = ((await officer.call('POST', `/api/v1/certificate-requests/${id}/approve`)).body as { certificate: { serial: string } }).certificate.serial;
  const seal = await requester.call('POST', '/api/v1/certificate-requests', { csr: opensslCsr(), profile: 'organisation-seal', ...sealHolder });
  const sealId = (seal.body as { request: { id: string } }).request.id;
  await officer.call('POST', `/api/v1/certificate-requests/${sealId}/approve`);
  sealSerial = ((await officer2.call('POST', `/api/v1/certificate-requests/${sealId}/approve`)).body as { certificate: { serial: string } }).certificate.serial;
});
afterAll(async () => {
  await t?.close();
});

describe('the masking rule', () => {
  it('keeps the last four digits behind eight stars, in fields and in subjects', () => {
    expect(maskIdentifier('094185000321')).toBe('********0321');
    expect(maskIdentifier('2200100076')).toBe('********0076');
    expect(maskSubject('UID=CCCD:094185000321+UID=BHXH:7912345678,CN=A,O=B,C=VN')).toBe('UID=CCCD:********0321+UID=BHXH:********5678,CN=A,O=B,C=VN');
  });
});

describeWithProgram('openssl', 'openssl')('registry answers', () => {
  it('a reader without certs:read:pii sees identifiers masked in the detail, the list and the subject', async () => {
    const detail = (await reader.call('GET', `/api/v1/certificates/${serial}`)).body as Record<string, string>;
    expect(detail.nationalId).toBe('********0321');
    expect(detail.subject).toContain('UID=CCCD:********0321');
    expect(JSON.stringify(detail)).not.toContain(CCCD);
    const seal = (await reader.call('GET', `/api/v1/certificates/${sealSerial}`)).body as Record<string, string>;
    expect(seal.taxCode).toBe('********0076');
    const list = await reader.call('GET', '/api/v1/certificates?limit=500');
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(CCCD);
    expect(JSON.stringify(list.body)).not.toContain('2200100076');
    const requests = await reader.call('GET', '/api/v1/certificate-requests');
    expect(JSON.stringify(requests.body)).not.toContain(CCCD);
  });

  it('a reader without certs:read:pii cannot find a person by number', async () => {
    for (const query of [`nationalId=${CCCD}`, 'taxCode=2200100076', `q=${CCCD}`, 'q=CCCD:0941850']) {
      const res = await reader.call('GET', `/api/v1/certificates?${query}`);
      expect(res.status).toBe(403);
      expect((res.body as { detail: string }).detail).toMatch(/needs the scope certs:read:pii/);
    }
    // A serial is not an identifier.
    expect((await reader.call('GET', `/api/v1/certificates?q=${serial}`)).status).toBe(200);
  });

  it('a reader without certs:read:pii cannot take the numbers from the certificate files either', async () => {
    for (const path of [`${serial}.pem`, `${serial}.der`, `${serial}/chain`]) {
      const res = await reader.call('GET', `/api/v1/certificates/${path}`);
      expect(`${path} ${res.status}`).toBe(`${path} 403`);
      expect(res.body).toMatchObject({ error: 'insufficient_scope', requiredScopes: ['certs:read:pii'] });
    }
    // An organisation's seal is public (the verification pages serve it too).
    expect((await reader.call('GET', `/api/v1/certificates/${sealSerial}.der`)).status).toBe(200);
    // Whoever submitted the request gave the numbers: it takes the certificate it asked for.
    expect((await requester.call('GET', `/api/v1/certificates/${serial}.pem`)).status).toBe(200);
    const before = (await t.service.audit.list({ action: 'certificate.read_pii' })).length;
    const der = await piiReader.call('GET', `/api/v1/certificates/${serial}.der`);
    expect(der.status).toBe(200);
    const [event] = await t.service.audit.list({ action: 'certificate.read_pii' });
    expect((await t.service.audit.list({ action: 'certificate.read_pii' })).length).toBe(before + 1);
    expect(event).toMatchObject({ actor: 'client:ra-desk', target: `certificate:${serial}` });
  });

  it('the audit log over the API masks subjects\' numbers without certs:read:pii, as the console does', async () => {
    const admin = await apiClient(t, 'audit-admin', ['admin']);
    const fullAdmin = await apiClient(t, 'audit-admin-pii', ['admin', 'certs:read:pii']);
    const masked = await admin.call('GET', '/api/v1/audit/events?limit=500');
    expect(masked.status).toBe(200);
    expect(JSON.stringify(masked.body)).toContain('CCCD:********0321');
    expect(JSON.stringify(masked.body)).not.toContain(CCCD);
    const before = await t.service.audit.list({ action: 'certificate.read_pii', actor: 'client:audit-admin-pii' });
    expect(before).toEqual([]);
    const full = (await fullAdmin.call('GET', '/api/v1/audit/events?limit=500')).body as { events: Array<{ seq: number; details: unknown }> };
    expect(JSON.stringify(full)).toContain(`CCCD:${CCCD}`);
    // The read that showed the number in full is itself audited: which events, with what filter.
    const [read] = await t.service.audit.list({ action: 'certificate.read_pii', actor: 'client:audit-admin-pii' });
    const shown = full.events.filter((e) => JSON.stringify(e.details).includes(`CCCD:${CCCD}`)).map((e) => e.seq);
    expect(shown.length).toBeGreaterThan(0);
    expect(read.details).toMatchObject({ serials: [], auditEvents: expect.arrayContaining(shown), query: { } });
    expect(read.target).toBeNull();
    // The masked reader's reads write nothing; a page that shows no number writes nothing either.
    expect(await t.service.audit.list({ action: 'certificate.read_pii', actor: 'client:audit-admin' })).toEqual([]);
    expect((await fullAdmin.call('GET', '/api/v1/audit/events?action=client.create')).status).toBe(200);
    expect(await t.service.audit.list({ action: 'certificate.read_pii', actor: 'client:audit-admin-pii' })).toHaveLength(1);
  });

  it("certificate requests' subjects show numbers only with certs:read:pii, and those reads are audited", async () => {
    const before = (await t.service.audit.list({ action: 'certificate.read_pii', actor: 'client:ra-desk' })).length;
    const list = (await piiReader.call('GET', '/api/v1/certificate-requests')).body as { items: Array<{ id: string; subject: string }> };
    const personal = list.items.find((r) => r.subject.includes(`CCCD:${CCCD}`))!;
    expect(personal).toBeDefined();
    const [listed] = await t.service.audit.list({ action: 'certificate.read_pii', actor: 'client:ra-desk' });
    expect(listed.details.requests).toEqual(expect.arrayContaining([personal.id]));
    expect(((await piiReader.call('GET', `/api/v1/certificate-requests/${personal.id}`)).body as { subject: string }).subject).toContain(`CCCD:${CCCD}`);
    const [one] = await t.service.audit.list({ action: 'certificate.read_pii', actor: 'client:ra-desk' });
    expect(one).toMatchObject({ target: `request:${personal.id}`, details: { serials: [], requests: [personal.id] } });
    expect(await t.service.audit.list({ action: 'certificate.read_pii', actor: 'client:ra-desk' })).toHaveLength(before + 2);
    // Without the scope: masked, and nothing recorded.
    expect(((await reader.call('GET', `/api/v1/certificate-requests/${personal.id}`)).body as { subject: string }).subject).toContain('CCCD:********0321');
    expect(await t.service.audit.list({ action: 'certificate.read_pii', actor: 'client:document-system' })).toEqual([]);
  });

  it('with certs:read:pii the numbers are shown, and each such read is audited', async () => {
    const before = (await t.service.audit.list({ action: 'certificate.read_pii' })).length;
    const found = await piiReader.call('GET', `/api/v1/certificates?nationalId=${CCCD}`);
    expect(found.status).toBe(200);
    expect((found.body as { items: Array<{ nationalId: string }> }).items.map((c) => c.nationalId)).toEqual([CCCD]);
    expect(((await piiReader.call('GET', `/api/v1/certificates/${serial}`)).body as { nationalId: string }).nationalId).toBe(CCCD);
    const events = await t.service.audit.list({ action: 'certificate.read_pii' });
    expect(events.length).toBe(before + 2);
    expect(events.map((e) => e.actor)).toEqual(expect.arrayContaining(['client:ra-desk']));
    expect(events[0]).toMatchObject({ target: `certificate:${serial}` });
    expect(events[1].details).toMatchObject({ serials: [serial], query: { nationalId: CCCD } });
  });
});
