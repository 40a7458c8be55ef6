/**
 * Our registry held on the validation node (src/validation/registry-index.ts) in a running
 * service: the index answers for certificates it holds, the same report as the registry read;
 * a hold or revocation here, or on another node sharing the database, shows at the next
 * validation; a certificate issued elsewhere after the index was read is read from the registry.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { tmp } from '../../support/ca-helpers.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../../support/test-db.js';
import { issueSigner, opensslSign } from './validation-support.js';

const data = Buffer.from('Quyết định số 20/QĐ-UBND\n'.repeat(20));
const scrub = (report: unknown) => JSON.stringify(report).replace(/"\d{4}-\d\d-\d\dT[0-9:.]+Z"/g, '"T"');

async function loadedIndex(t: TestService) {
  const index = t.service.validation.registryIndex!;
  expect(index).not.toBeNull();
  await index.settled();
  return index;
}

describe('the registry index in a running service', () => {
  let t: TestService;
  let dir: string;
  beforeAll(async () => {
    t = await startTestService();
    dir = tmp('tinnhiem-index-');
  });
  afterAll(async () => t?.close());

  it('answers a certificate it holds with the same report as the registry read, and shows a hold and a revocation at once', async () => {
    const signer = await issueSigner(t, dir, 'held', 'ec', '094185000201');
    const signature = opensslSign(signer, data);
    const validate = () => t.service.validation.validator.validateSignature({ signature, document: data });
    // The first validation starts the index's first read (in the background) and reads the registry itself.
    const first = await validate();
    expect(first.indication).toBe('TOTAL_PASSED');
    const index = await loadedIndex(t);
    expect(index.lookup(signer.issuerId, signer.serial)).toMatchObject({ status: 'good' });
    // The same signature by a second signer, validated first from the index, then with the index silent (the registry read).
    const other = await issueSigner(t, dir, 'other', 'rsa', '094185000202');
    await t.service.ocsp.sync();
    index.refreshIfDue(1e15);
    await index.settled();
    expect(index.lookup(other.issuerId, other.serial)).toMatchObject({ status: 'good' });
    const otherSignature = opensslSign(other, data);
    const fromIndex = await t.service.validation.validator.validateSignature({ signature: otherSignature, document: data });
    const silent = jest.spyOn(index, 'lookup').mockReturnValue(undefined);
    const fromRegistry = await t.service.validation.validator.validateSignature({ signature: otherSignature, document: data });
    silent.mockRestore();
    expect(scrub(fromIndex)).toEqual(scrub(fromRegistry));
    expect(fromIndex.signatures[0].revocation[0]).toMatchObject({ source: 'registry', status: 'good' });

    await t.service.certificates.ca.changeStatus({ actor: 'test:officer', serial: signer.serial, issuerId: signer.issuerId, action: 'hold' });
    expect(index.lookup(signer.issuerId, signer.serial)).toBeUndefined();
    expect((await validate()).signatures[0].revocation[0].status).toBe('hold');
    await t.service.certificates.ca.changeStatus({ actor: 'test:officer', serial: signer.serial, issuerId: signer.issuerId, action: 'revoke', reason: 'keyCompromise' });
    const revoked = await validate();
    expect(revoked.signatures[0].revocation[0]).toMatchObject({ source: 'registry', status: 'revoked' });
    expect(revoked.signatures[0].indication).not.toBe('TOTAL_PASSED');
    // Read again, the index holds the revocation with the registry's times: the same report.
    await t.service.ocsp.sync();
    index.refreshIfDue(2e15);
    await index.settled();
    expect(index.lookup(signer.issuerId, signer.serial)).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    // The signature made before the revocation: the same verdict and report from the index as from the registry.
    const heldReport = await validate();
    const quiet = jest.spyOn(index, 'lookup').mockReturnValue(undefined);
    const readReport = await validate();
    quiet.mockRestore();
    expect(scrub(heldReport)).toEqual(scrub(readReport));
    expect(heldReport.signatures[0].revocation[0]).toMatchObject({ status: 'revoked', reason: 'keyCompromise' });
  });

  it('answers nothing while the node does not follow the change feed: the registry answers', async () => {
    const signer = await issueSigner(t, dir, 'outage', 'ec', '094185000203');
    const index = await loadedIndex(t);
    index.refreshIfDue(3e15);
    await index.settled();
    const follows = jest.spyOn(t.service.ocsp, 'followsFeed').mockReturnValue(false);
    try {
      expect(index.lookup(signer.issuerId, signer.serial)).toBeUndefined();
      // A revocation written without a feed entry (what an outage would hide): the registry read sees it.
      await t.service.db.knex('certificates').where({ issuer_id: signer.issuerId, serial: signer.serial }).update({ status: 'revoked', revoked_at: new Date(), revocation_reason: 'keyCompromise', status_changed_at: new Date() });
      const report = await t.service.validation.validator.validateSignature({ signature: opensslSign(signer, data), document: data });
      expect(report.signatures[0].revocation[0].status).toBe('revoked');
    } finally {
      follows.mockRestore();
    }
  });
});

// Reason: two nodes need one shared database; the embedded one serves a single process.
const describePostgres = usingPostgres() ? describe : describe.skip;
if (!usingPostgres()) process.stderr.write('skipping the two-node registry index test: set DATABASE_URL to run it on PostgreSQL\n');

describePostgres('the registry index across two nodes on one PostgreSQL', () => {
  let database: TestDatabase;
  let a: TestService;
  let b: TestService;
  let dir: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    a = await startTestService({ database });
    b = await startTestService({ database });
    dir = tmp('tinnhiem-index2-');
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await database?.destroy();
  });

  it('a revocation on the other node shows at the next validation once its call has returned; a certificate issued there since is read from the registry', async () => {
    const signer = await issueSigner(a, dir, 'two-a', 'ec', '094185000211');
    const signature = opensslSign(signer, data);
    const onB = () => b.service.validation.validator.validateSignature({ signature, document: data });
    expect((await onB()).indication).toBe('TOTAL_PASSED');
    const index = await loadedIndex(b);
    expect(index.lookup(signer.issuerId, signer.serial)).toMatchObject({ status: 'good' });
    expect((await onB()).signatures[0].revocation[0].status).toBe('good');

    await a.service.certificates.ca.changeStatus({ actor: 'test:officer', serial: signer.serial, issuerId: signer.issuerId, action: 'revoke', reason: 'keyCompromise' });
    // The call returned: node b has applied the feed entry (or fenced itself).
    expect(index.lookup(signer.issuerId, signer.serial)).toBeUndefined();
    expect((await onB()).signatures[0].revocation[0]).toMatchObject({ source: 'registry', status: 'revoked' });

    // Issued on a after b's index was read: b does not hold it and reads the registry.
    const late = await issueSigner(a, dir, 'two-late', 'rsa', '094185000212');
    expect(index.lookup(late.issuerId, late.serial)).toBeUndefined();
    const report = await b.service.validation.validator.validateSignature({ signature: opensslSign(late, data), document: data });
    expect(report.indication).toBe('TOTAL_PASSED');
    expect(report.signatures[0].revocation[0]).toMatchObject({ source: 'registry', status: 'good' });
  });
});
