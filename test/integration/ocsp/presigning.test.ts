/**
 * Pre-signing: the bulk warm-up (`presignAll`, a key-order walk of the registry in pages) and the
 * background job (`refreshDue`) sign exactly what is missing, past half-life or older than the
 * registry's status, and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { clearCaches } from '../../../ca/cache-registry.js';
import { startTestService, type TestService } from '../../support/test-app.js';
import { firstStatus, issueLeaf, ocspFiles, requestFor, type Leaf } from './ocsp-support.js';

let t: TestService;
let leaves: Leaf[];
let issuerId: string;
let issuerDer: Buffer;

const sha1Rows = async () => Number((await t.service.db.knex('ocsp_responses').where({ variant: 'sha1' }).count({ n: '*' }))[0].n);
const answerable = async () =>
  Number((await t.service.db.knex('certificates').whereIn('state', ['issued', 'imported']).where({ status_source: 'registry' }).where('not_after', '>', new Date()).count({ n: '*' }))[0].n);

beforeAll(async () => {
  // Pages of 3 so that the walk crosses several pages; the job's own timer stays out of the way.
  t = await startTestService({ env: { OCSP_REFRESH_BATCH: '3', OCSP_REFRESH_INTERVAL_SECONDS: '3600' } });
  const files = await ocspFiles(t.service);
  issuerId = files.issuerId;
  issuerDer = (await t.service.certificates.ca.issuers()).find((i) => i.id === issuerId)!.certificate!;
  leaves = [];
  for (let i = 0; i < 7; i++) leaves.push(await issueLeaf(t.service, files, `presign-${i}`));
});
afterAll(async () => {
  await t?.close();
});

describe('pre-signing', () => {
  it('the warm-up signs every answerable certificate once, across pages', async () => {
    await t.service.ocsp.presignAll();
    expect(await sha1Rows()).toBe(await answerable());
    expect(await t.service.ocsp.presignAll()).toBe(0);
  });

  it('signs again only what went missing', async () => {
    await t.service.db.knex('ocsp_responses').whereIn('serial', [leaves[1].serial, leaves[5].serial]).delete();
    expect(await t.service.ocsp.presignAll()).toBe(2);
    expect(await t.service.ocsp.presignAll()).toBe(0);
  });

  it('a response older than the registry status is re-signed with the new status', async () => {
    // As if the status changed behind the responder's back (the change feed is the usual path).
    await t.service.db.knex('certificates').where({ issuer_id: issuerId, serial: leaves[3].serial }).update({ status: 'revoked', revoked_at: new Date(), revocation_reason: 'keyCompromise', status_changed_at: new Date(Date.now() + 1000) });
    expect(await t.service.ocsp.presignAll()).toBe(1);
    const der = (await t.service.db.knex('ocsp_responses').where({ serial: leaves[3].serial, variant: 'sha1' }).first()).der as Uint8Array;
    expect(firstStatus(Buffer.from(der))).toBe('revoked');
    const res = await fetch(`${t.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: requestFor(issuerDer, leaves[3].serial) as BodyInit });
    expect(res.headers.get('x-ocsp-outcome')).toBe('revoked');
  });

  it('the job re-signs responses past half-life, a page at a time', async () => {
    await t.service.db.knex('ocsp_responses').whereIn('serial', leaves.slice(0, 5).map((l) => l.serial)).update({ refresh_at: new Date(Date.now() - 1000) });
    expect(await t.service.ocsp.refreshDue()).toBe(3);
    expect(await t.service.ocsp.refreshDue()).toBe(2);
    expect(await t.service.ocsp.refreshDue()).toBe(0);
  });
});

describe('the background sweep', () => {
  it('finds missing responses and responses older than their status, within the batch', async () => {
    await t.service.db.knex('ocsp_responses').whereIn('serial', [leaves[0].serial, leaves[2].serial, leaves[4].serial, leaves[6].serial]).delete();
    await t.service.db.knex('certificates').where({ issuer_id: issuerId, serial: leaves[5].serial }).update({ status: 'hold', revoked_at: new Date(), status_changed_at: new Date(Date.now() + 2000) });
    // Five to sign, three per run: the sweep goes on where the budget ran out.
    expect(await t.service.ocsp.refreshDue()).toBe(3);
    expect(await t.service.ocsp.refreshDue()).toBe(2);
    expect(await t.service.ocsp.refreshDue()).toBe(0);
    expect(await sha1Rows()).toBe(await answerable());
    const res = await fetch(`${t.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: requestFor(issuerDer, leaves[5].serial) as BodyInit });
    expect(res.headers.get('x-ocsp-outcome')).toBe('revoked');
  });
});

describe('the start-up warm-up (paced, beside the first requests)', () => {
  it('requests arriving before it reaches their serial get the current status, and what it loads does not replace them', async () => {
    const ask = async (serial: string) =>
      (await fetch(`${t.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: requestFor(issuerDer, serial) as BodyInit })).headers.get('x-ocsp-outcome');
    // Held earlier in this file: leaves[3] revoked, leaves[5] on hold (answered revoked), the others good.
    const expected = leaves.map((_, i) => (i === 3 || i === 5 ? 'revoked' : 'good'));
    clearCaches(); // the OCSP responses in memory with the rest: a node just started
    const warming = t.service.ocsp.warmCache(2); // pages of 2, a turn of the event loop between them
    const during = await Promise.all(leaves.map((l) => ask(l.serial)));
    expect(await warming).toBeGreaterThan(0);
    expect(during).toEqual(expected);
    expect(await Promise.all(leaves.map((l) => ask(l.serial)))).toEqual(expected);
  });
});
