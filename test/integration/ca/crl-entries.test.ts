import { afterAll, beforeAll, expect, it } from '@jest/globals';
import * as pkijs from 'pkijs';
import { startTestService, type TestService } from '../../support/test-app.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { hexFromInteger } from '../../../ca/asn1/der.js';
import { crlEntryDer } from '../../../ca/status/crl/crl.js';
import { issueLeaf, ocspFiles, type OcspFiles } from '../ocsp/ocsp-support.js';

/**
 * Full CRLs are made from the CRL entries each status change stored (docs/ca.md, "CRLs"): the
 * stored entry is the one the CRL lists, and a revoked row without one (revoked before the column
 * existed, or written by hand) is encoded, stored and listed with its reason and invalidity date.
 */
let t: TestService;
let files: OcspFiles;
beforeAll(async () => {
  t = await startTestService();
  files = await ocspFiles(t.service);
});
afterAll(async () => {
  await t?.close();
});

function entries(der: Uint8Array) {
  const crl = pkijs.CertificateRevocationList.fromBER(Uint8Array.from(der));
  return new Map((crl.revokedCertificates ?? []).map((r) => [hexFromInteger(r.userCertificate.valueBlock.valueHexView), Buffer.from(r.toSchema().toBER(false)).toString('hex')]));
}

describeWithProgram('openssl', 'openssl')('CRL entries kept with the revocation', () => {
  it('lists the stored entry, and encodes and stores a missing one', async () => {
    const ca = t.service.certificates.ca;
    const knex = t.service.db.knex;
    const held = await issueLeaf(t.service, files, 'entry-held');
    const revoked = await issueLeaf(t.service, files, 'entry-revoked');
    await ca.changeStatus({ actor: 'test:officer', serial: held.serial, action: 'hold' });
    const invalidityDate = new Date(Date.now() - 86_400_000);
    await ca.changeStatus({ actor: 'test:officer', serial: revoked.serial, action: 'revoke', reason: 'keyCompromise', invalidityDate });
    const row = async (serial: string) => (await knex('certificates').where({ issuer_id: files.issuerId, serial }).first('crl_entry', 'revoked_at')) as { crl_entry: Uint8Array | null; revoked_at: Date | string };
    const stored = Buffer.from((await row(revoked.serial)).crl_entry!).toString('hex');
    const expected = Buffer.from(crlEntryDer({ serial: revoked.serial, revokedAt: new Date((await row(revoked.serial)).revoked_at), reason: 'keyCompromise', invalidityDate })).toString('hex');
    expect(stored).toBe(expected);
    const first = entries((await ca.latestCrl(files.issuerId, 'full'))!.der);
    expect(first.get(revoked.serial)).toBe(stored);
    expect(first.get(held.serial)).toBe(Buffer.from((await row(held.serial)).crl_entry!).toString('hex'));

    // A row without its entry: encoded when the next CRL is made, and kept.
    await knex('certificates').where({ issuer_id: files.issuerId, serial: revoked.serial }).update({ crl_entry: null });
    await ca.generateCrls(files.issuerId, ['full'], { actor: 'test:officer', newBase: true });
    const second = entries((await ca.latestCrl(files.issuerId, 'full'))!.der);
    expect(second.get(revoked.serial)).toBe(expected);
    expect(Buffer.from((await row(revoked.serial)).crl_entry!).toString('hex')).toBe(expected);

    // Released from hold: off the full CRL, its entry gone from the row.
    await ca.changeStatus({ actor: 'test:officer', serial: held.serial, action: 'release' });
    expect(entries((await ca.latestCrl(files.issuerId, 'full'))!.der).has(held.serial)).toBe(false);
    expect((await row(held.serial)).crl_entry).toBeNull();
  });
});
