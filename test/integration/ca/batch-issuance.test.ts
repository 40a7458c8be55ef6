import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { startTestService, TLS_AT_ONCE, type TestService } from '../../support/test-app.js';
import { apiClient, officialHolder, run, tlsHolder, tmp, writeFile } from '../../support/ca-helpers.js';
import { hasProgram } from '../../support/system-tools.js';
import { csrFor } from '../../../src/dev/seed-registry.js';
import { verifyChain } from '../../../src/audit/audit-chain.js';
import { halves, PIPELINE_FROM } from '../../../src/certificates/batch-requests.js';

/**
 * The RA officers' batch path (docs/ca.md, "Batch issuance"): per-item results, dual control per
 * item, keys checked across the batch, bounded size, scopes, crash recovery and concurrent officers.
 * Runs on the database of the test run.
 */
let t: TestService;
let requester: Awaited<ReturnType<typeof apiClient>>;
let officer1: Awaited<ReturnType<typeof apiClient>>;
let officer2: Awaited<ReturnType<typeof apiClient>>;
let reader: Awaited<ReturnType<typeof apiClient>>;

interface BatchBody {
  issued: number;
  failed: number;
  items: Array<{ index: number; ok: boolean; request?: { id: string; status: string; certificateSerial: string | null }; certificate?: { serial: string } | null; problem?: { status: number; type: string; detail: string } }>;
}

const cccd = (i: number) => `0941850${String(i).padStart(5, '0')}`;
const officials = async (n: number, from: number) => Promise.all(Array.from({ length: n }, async (_, i) => ({ csr: await csrFor(false), profile: 'official-signing', ...officialHolder(cccd(from + i)) })));

beforeAll(async () => {
  t = await startTestService({ env: TLS_AT_ONCE });
  requester = await apiClient(t, 'batch-portal', ['certs:request', 'certs:read']);
  officer1 = await apiClient(t, 'batch-officer-one', ['certs:approve', 'certs:read']);
  officer2 = await apiClient(t, 'batch-officer-two', ['certs:approve', 'certs:read']);
  reader = await apiClient(t, 'batch-reader', ['certs:read']);
});
afterAll(async () => {
  await t?.close();
});

/**
 * Batch-issued certificates verify with OpenSSL against the issuing CA and the root, strictly and
 * for their purpose (as ca-api.test.ts does for certificates issued one by one): a sample of each
 * batch, so a batch-only encoding slip (shared extension bytes, the TBS as reserved) shows here.
 */
async function expectOpensslVerifies(serials: string[], purpose: 'smimesign' | 'sslserver'): Promise<void> {
  if (!hasProgram('openssl')) return;
  const dir = tmp();
  const issuers = await t.service.certificates.ca.issuers();
  const pemOfIssuer = async (role: string) => (await t.service.certificates.caCertificate(issuers.find((i) => i.role === role)!.id)).pem;
  const rootPem = writeFile(dir, 'root.pem', await pemOfIssuer('root'));
  const issuingPem = writeFile(dir, 'issuing.pem', await pemOfIssuer('issuing'));
  expect(serials.length).toBeGreaterThan(0);
  for (const serial of serials) {
    // The submitter of their requests takes the files (docs/ca.md, "Personal data").
    const res = await requester.call('GET', `/api/v1/certificates/${serial}.pem`);
    expect(res.status).toBe(200);
    const leaf = writeFile(dir, `${serial}.pem`, res.raw);
    expect(run('openssl', ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', rootPem, '-untrusted', issuingPem, leaf]).out).toContain(': OK');
  }
}

describe(`batch issuance through the API (${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded'})`, () => {
  it('submits many, approves many: every certificate issued, audited, the chain whole', async () => {
    const submitted = await requester.call('POST', '/api/v1/certificate-requests/batch', { items: await officials(30, 0) });
    expect(submitted.status).toBe(200);
    const body = submitted.body as BatchBody;
    expect(body).toMatchObject({ issued: 0, failed: 0 });
    expect(body.items.every((i) => i.ok && i.request!.status === 'pending')).toBe(true);
    const approved = await officer1.call('POST', '/api/v1/certificate-requests/batch-approve', { items: body.items.map((i) => ({ id: i.request!.id })) });
    expect(approved.status).toBe(200);
    const result = approved.body as BatchBody;
    expect(result).toMatchObject({ issued: 30, failed: 0 });
    const serials = result.items.map((i) => i.certificate!.serial);
    expect(new Set(serials).size).toBe(30);
    for (const item of result.items) expect(item.request).toMatchObject({ status: 'issued', certificateSerial: item.certificate!.serial });
    // Its submitter takes the file (it gave the holders' numbers); a plain reader does not.
    const pem = await requester.call('GET', `/api/v1/certificates/${serials[0]}.pem`);
    expect(pem.raw.toString()).toContain('BEGIN CERTIFICATE');
    expect((await reader.call('GET', `/api/v1/certificates/${serials[0]}.pem`)).status).toBe(403);
    const events = await t.service.audit.list({ action: 'certificate.issue', limit: 500 });
    for (const serial of serials) expect(events.filter((e) => e.target === `certificate:${serial}`)).toHaveLength(1);
    expect((await t.service.audit.list({ action: 'certificate.approve', limit: 500 })).length).toBeGreaterThanOrEqual(30);
    expect((await verifyChain(t.service.audit.all())).ok).toBe(true);
    await expectOpensslVerifies(serials.filter((_, k) => k % 6 === 0), 'smimesign');
  });

  it('refuses self-approval per item and issues the rest', async () => {
    const both = await apiClient(t, 'batch-officer-and-requester', ['certs:request', 'certs:approve']);
    const own = ((await both.call('POST', '/api/v1/certificate-requests/batch', { items: await officials(1, 100) })).body as BatchBody).items[0].request!.id;
    const other = ((await requester.call('POST', '/api/v1/certificate-requests/batch', { items: await officials(1, 101) })).body as BatchBody).items[0].request!.id;
    const res = await both.call('POST', '/api/v1/certificate-requests/batch-approve', { items: [{ id: own }, { id: other }] });
    expect(res.status).toBe(200);
    const [mine, theirs] = (res.body as BatchBody).items;
    expect(mine).toMatchObject({ ok: false, problem: { status: 403 } });
    expect(mine.problem!.detail).toContain('nobody approves their own request');
    expect(theirs).toMatchObject({ ok: true, request: { status: 'issued' } });
    expect((await t.service.certificates.ra.get(own)).approvals).toHaveLength(0);
    // The same officer twice: a distinct officer is needed (organisation seals need two).
    const seal = { csr: await csrFor(false), profile: 'organisation-seal', subject: { C: 'VN', L: 'Sóc Trăng', O: 'ỦY BAN NHÂN DÂN TỈNH SÓC TRĂNG', CN: 'SỞ TÀI CHÍNH TỈNH SÓC TRĂNG', UID: ['MNS:1234567'] } };
    const sealId = ((await requester.call('POST', '/api/v1/certificate-requests/batch', { items: [seal] })).body as BatchBody).items[0].request!.id;
    expect(((await officer1.call('POST', '/api/v1/certificate-requests/batch-approve', { items: [{ id: sealId }] })).body as BatchBody).items[0]).toMatchObject({ ok: true, request: { status: 'pending' } });
    const again = ((await officer1.call('POST', '/api/v1/certificate-requests/batch-approve', { items: [{ id: sealId }] })).body as BatchBody).items[0];
    expect(again).toMatchObject({ ok: false, problem: { status: 409 } });
    expect(((await officer2.call('POST', '/api/v1/certificate-requests/batch-approve', { items: [{ id: sealId }, { id: sealId }] })).body as BatchBody).items.map((i) => i.ok)).toEqual([true, false]);
    expect((await t.service.certificates.ra.get(sealId)).status).toBe('issued');
  });

  it('refuses a key repeated within one batch, and a malformed CSR, each alone', async () => {
    const [a, b] = await officials(3, 200);
    const items = [a, { ...b, csr: a.csr }, { ...b, csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' }, b];
    const res = await requester.call('POST', '/api/v1/certificate-requests/batch', { items });
    expect(res.status).toBe(200);
    const out = (res.body as BatchBody).items;
    expect(out.map((i) => i.ok)).toEqual([true, false, false, true]);
    expect(out[1].problem).toMatchObject({ status: 400, type: 'urn:tinnhiem:problem:policy-violation' });
    expect(out[1].problem!.detail).toMatch(/key reuse/);
    expect(out[2].problem!.status).toBe(400);
    expect(out[2].problem!.type).toMatch(/bad-csr/);
    // Nothing half-written: exactly two requests stored.
    const requests = await t.service.certificates.ra.list('pending', 500);
    expect(requests.filter((r) => r.subjectDn.includes(cccd(200)) || r.subjectDn.includes(cccd(201)))).toHaveLength(2);
  });

  it('bounds the batch (400 beyond 1,000 items, 400 for none) and keeps the scopes', async () => {
    const one = (await officials(1, 300))[0];
    const tooMany = await requester.call('POST', '/api/v1/certificate-requests/batch', { items: Array.from({ length: 1001 }, () => one) });
    expect(tooMany.status).toBe(400);
    expect((await requester.call('POST', '/api/v1/certificate-requests/batch', { items: [] })).status).toBe(400);
    expect((await officer1.call('POST', '/api/v1/certificate-requests/batch-approve', { items: Array.from({ length: 1001 }, () => ({ id: '00000000-0000-4000-8000-000000000000' })) })).status).toBe(400);
    expect((await reader.call('POST', '/api/v1/certificate-requests/batch', { items: [one] })).status).toBe(403);
    expect((await requester.call('POST', '/api/v1/certificate-requests/batch-approve', { items: [{ id: '00000000-0000-4000-8000-000000000000' }] })).status).toBe(403);
    const unknown = await officer1.call('POST', '/api/v1/certificate-requests/batch-approve', { items: [{ id: '00000000-0000-4000-8000-000000000000' }] });
    expect((unknown.body as BatchBody).items[0].problem!.status).toBe(404);
  });

  it('checks the name policy per item: a DNS name outside the certified zones is refused alone', async () => {
    const [csr1, csr2] = [await csrFor(false), await csrFor(false)];
    const res = await requester.call('POST', '/api/v1/certificate-requests/batch', { items: [{ csr: csr1, profile: 'tls-server', ...tlsHolder('batch-a.soctrang.gov.vn') }, { csr: csr2, profile: 'tls-server', ...tlsHolder('batch-b.othercity.gov.vn') }] });
    const [ok, refused] = (res.body as BatchBody).items;
    expect(ok).toMatchObject({ ok: true, request: { status: 'issued' } });
    expect(refused).toMatchObject({ ok: false, problem: { status: 400, type: 'urn:tinnhiem:problem:policy-violation' } });
    await expectOpensslVerifies([ok.request!.certificateSerial!], 'sslserver');
  });
});

describe(`batch issuance: crash and concurrency (${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded'})`, () => {
  it('a failure between reserve and record (as a crash): finishUnfinished completes every certificate exactly once', async () => {
    const { batch, ca, ra } = t.service.certificates;
    const storage = (batch.issuance as unknown as { storage: { ledger: { recordMany: (...a: unknown[]) => Promise<void>; abandonMany: (...a: unknown[]) => Promise<void> } } }).storage;
    // The process "dies" after the reservations committed: recording fails, and so does the abandon (nobody is left to run it).
    const record = jest.spyOn(storage.ledger, 'recordMany').mockRejectedValueOnce(new Error('killed'));
    const abandon = jest.spyOn(storage.ledger, 'abandonMany').mockRejectedValueOnce(new Error('killed'));
    const items = await Promise.all(Array.from({ length: 12 }, async (_, i) => ({ csr: await csrFor(false), profileId: 'tls-server', holder: tlsHolder(`crash-${i}.soctrang.gov.vn`) })));
    await expect(batch.requests.submitMany('client:batch-portal', items)).rejects.toThrow('killed');
    record.mockRestore();
    abandon.mockRestore();
    const unfinished = await ca.finishUnfinished();
    expect(unfinished).toBe(12);
    expect(await ca.finishUnfinished()).toBe(0);
    const requests = (await ra.list('issued', 500)).filter((r) => /crash-\d+/.test(r.subjectDn));
    expect(requests).toHaveLength(12);
    const events = await t.service.audit.list({ action: 'certificate.issue', limit: 500 });
    for (const r of requests) {
      expect((await ca.certificate(r.certificateSerial!)).state).toBe('issued');
      expect(events.filter((e) => e.target === `certificate:${r.certificateSerial}`)).toHaveLength(1);
    }
    expect((await verifyChain(t.service.audit.all())).ok).toBe(true);
    // Signed after the "crash" from the TBSs as reserved: they verify like any other.
    await expectOpensslVerifies(requests.slice(0, 3).map((r) => r.certificateSerial!), 'sslserver');
  });

  it('two officers approving the same requests at once never issue one twice (each batch in two halves)', async () => {
    const { batch } = t.service.certificates;
    const submitted = await batch.requests.submitMany('client:batch-portal', (await officials(PIPELINE_FROM + 6, 400)).map((o) => ({ csr: o.csr, profileId: o.profile, holder: { subject: o.subject, emails: o.emails } })));
    const ids = submitted.map((o) => (o.ok ? o.value.request.id : ''));
    const [one, two] = await Promise.all([batch.requests.approveMany('client:batch-officer-one', ids.map((id) => ({ id }))), batch.requests.approveMany('client:batch-officer-two', [...ids].reverse().map((id) => ({ id })))]);
    const issued = [...one, ...two].filter((o) => o.ok && o.value.issued);
    expect(issued).toHaveLength(PIPELINE_FROM + 6);
    const serials = issued.map((o) => (o.ok ? o.value.issued!.serial : ''));
    expect(new Set(serials).size).toBe(PIPELINE_FROM + 6);
    for (const id of ids) {
      const r = await t.service.certificates.ra.get(id);
      expect(r.status).toBe('issued');
      expect(serials).toContain(r.certificateSerial);
    }
    const all = await t.service.certificates.search({ profileId: 'official-signing', limit: 500 });
    for (const id of ids) expect(all.items.filter((c) => c.requestId === id)).toHaveLength(1);
    expect((await verifyChain(t.service.audit.all())).ok).toBe(true);
  });
});

describe(`batch approval in two halves at once (${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded'})`, () => {
  const submit = async (n: number, from: number) => {
    const out = await t.service.certificates.batch.requests.submitMany('client:batch-portal', (await officials(n, from)).map((o) => ({ csr: o.csr, profileId: o.profile, holder: { subject: o.subject, emails: o.emails } })));
    return out.map((o) => (o.ok ? o.value.request.id : ''));
  };

  it('refuses a key repeated across the halves: the batch-wide key check comes before the cut', async () => {
    const ids = await submit(PIPELINE_FROM + 6, 600);
    // A second pending request for the key of the batch's first item (submission does not know the first is pending).
    const first = await t.service.certificates.ra.get(ids[0]);
    const twin = await t.service.certificates.batch.requests.submitMany('client:batch-portal', [{ csr: first.csr, profileId: 'official-signing', holder: { subject: officialHolder(cccd(700)).subject, emails: officialHolder(cccd(700)).emails } }]);
    expect(twin[0].ok).toBe(true);
    const order = [...ids, twin[0].ok ? twin[0].value.request.id : ''];
    const out = await t.service.certificates.batch.requests.approveMany('client:batch-officer-one', order.map((id) => ({ id })));
    expect(halves(order).length).toBe(2);
    expect(out.slice(0, -1).every((o) => o.ok && o.value.issued)).toBe(true);
    const last = out.at(-1)!;
    expect(last.ok).toBe(false);
    expect(last.ok ? '' : last.error.message).toMatch(/earlier item of this batch \(key reuse\)/);
    expect((await verifyChain(t.service.audit.all())).ok).toBe(true);
  });

  it('a failure in one half is answered once the other half is recorded, audited and whole', async () => {
    const { batch, ca } = t.service.certificates;
    const ids = await submit(PIPELINE_FROM + 10, 800);
    const storage = (batch.issuance as unknown as { storage: { ledger: { recordMany: (...a: unknown[]) => Promise<void> } } }).storage;
    const record = jest.spyOn(storage.ledger, 'recordMany').mockRejectedValueOnce(new Error('the database went away'));
    await expect(batch.requests.approveMany('client:batch-officer-one', ids.map((id) => ({ id })))).rejects.toThrow('the database went away');
    record.mockRestore();
    // At the moment the caller hears of the failure, the other half is done, nothing is in flight.
    const requests = await Promise.all(ids.map((id) => t.service.certificates.ra.get(id)));
    const issued = requests.filter((r) => r.status === 'issued');
    expect(halves(ids).map((h) => h.length)).toContain(issued.length);
    expect(requests.filter((r) => r.status === 'approved')).toHaveLength(ids.length - issued.length);
    const events = await t.service.audit.list({ action: 'certificate.issue', limit: 500 });
    for (const r of issued) expect(events.filter((e) => e.target === `certificate:${r.certificateSerial}`)).toHaveLength(1);
    // The failed half's reservations were abandoned while we were alive to know: nothing to finish later.
    expect(await ca.finishUnfinished()).toBe(0);
    expect((await verifyChain(t.service.audit.all())).ok).toBe(true);
  });
});

describe(`batch approval of DNS names (${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded'})`, () => {
  let u: TestService;
  beforeAll(async () => {
    u = await startTestService({ env: { CA_DNS_SUFFIXES: '{"tls-server":["soctrang.gov.vn"]}', CA_PROFILE_APPROVALS: '{"tls-server":1}' } });
  });
  afterAll(async () => {
    await u?.close();
  });

  it('wants name-control evidence for every DNS name, per item', async () => {
    const { batch, ra } = u.service.certificates;
    const hosts = ['nc-a.soctrang.gov.vn', 'nc-b.soctrang.gov.vn'];
    const submitted = await batch.requests.submitMany('client:nc-portal', await Promise.all(hosts.map(async (h) => ({ csr: await csrFor(false), profileId: 'tls-server', holder: tlsHolder(h) }))));
    const [a, b] = submitted.map((o) => (o.ok ? o.value.request.id : ''));
    const evidence = { name: hosts[0], method: 'dns-change' as const, evidence: 'TXT _tinnhiem-challenge seen 2026-12-04' };
    const out = await batch.requests.approveMany('client:nc-officer', [{ id: a, nameControl: [evidence] }, { id: b }]);
    expect(out[0]).toMatchObject({ ok: true, value: { request: { status: 'issued' } } });
    expect(out[1].ok).toBe(false);
    if (!out[1].ok) expect(out[1].error.detail).toMatch(/name-control: record how control of nc-b\.soctrang\.gov\.vn/);
    expect((await ra.get(b)).approvals).toHaveLength(0);
    expect((await ra.get(a)).approvals[0].nameControl).toEqual([evidence]);
  });
});
