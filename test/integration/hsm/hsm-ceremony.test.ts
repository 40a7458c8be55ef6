/**
 * Root key ceremonies with the keys in a SoftHSM2 token: a new root, an issuing CA signed by it
 * (served beside the first one), and the root's public material exported; each step audited, the
 * results checked by openssl.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestService, type TestService } from '../../support/test-app.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { createSoftHsmToken } from '../../support/softhsm.js';
import { tmp } from '../../support/ca-helpers.js';
import { issueLeaf, ocspFiles, opensslQuery, run, statusLine } from '../ocsp/ocsp-support.js';
import { encodePem } from '../../../ca/asn1/der.js';

const describeSoftHsm = describeWithProgram('softhsm2-util', 'softhsm2');

let t: TestService;

beforeAll(async () => {
  const token = await createSoftHsmToken('tinnhiem-ceremony');
  t = await startTestService({ env: token.env });
}, 180_000);
afterAll(async () => {
  await t?.close();
});

describeSoftHsm('root key ceremonies in the token', () => {
  it('generates a root, signs a new issuing CA with it, exports the public material, each audited', async () => {
    const setup = t.service.certificates.setup;
    const first = await ocspFiles(t.service);
    const before = await issueLeaf(t.service, first, 'before-ceremony');
    const root = await setup.createRoot('officer-ceremony');
    expect(root.keyUri).toBe(`pkcs11:token=tinnhiem-ceremony;object=${root.id}`);
    const issuing = await setup.createIssuing('officer-ceremony', root.id);
    expect(issuing.keyUri).toBe(`pkcs11:token=tinnhiem-ceremony;object=${issuing.id}`);
    expect(issuing.parentId).toBe(root.id);
    const exported = await setup.exportRoot('officer-ceremony', root.id);
    expect(exported.crlDer).not.toBeNull();

    const dir = tmp('tinnhiem-ceremony-');
    const rootPem = join(dir, 'root.pem');
    writeFileSync(rootPem, exported.certificatePem);
    writeFileSync(join(dir, 'root.crl'), exported.crlDer!);
    const issuingPem = join(dir, 'issuing.pem');
    writeFileSync(issuingPem, encodePem(issuing.certificate!, 'CERTIFICATE'));
    const rootCrlPem = join(dir, 'root-crl.pem');
    writeFileSync(rootCrlPem, (await run('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'root.crl')])).output);
    const verified = await run('openssl', ['verify', '-x509_strict', '-crl_check', '-CAfile', rootPem, '-CRLfile', rootCrlPem, issuingPem]);
    expect(verified.output).toContain(`${issuingPem}: OK`);
    const fingerprint = (await run('openssl', ['x509', '-in', rootPem, '-noout', '-fingerprint', '-sha256'])).output;
    expect(fingerprint.replace(/[^0-9A-F=]/gi, '').split('=').pop()!.toLowerCase()).toBe(exported.certificateSha256);

    // New certificates come from the new issuing CA; the first one still answers OCSP.
    expect((await t.service.certificates.ca.defaultIssuer()).id).toBe(issuing.id);
    // Every node's responder picks new issuers up within a minute; this one is told at once.
    await t.service.ocsp.reloadIssuers();
    const files = { ...first, issuerId: issuing.id, issuing: issuingPem, root: rootPem };
    const leaf = await issueLeaf(t.service, files, 'after-ceremony');
    const out = await opensslQuery(t.url, files, [leaf.path]);
    expect(out).toContain('Response verify OK');
    expect(statusLine(out, leaf.path)).toBe('good');
    const old = await opensslQuery(t.url, first, [before.path]);
    expect(old).toContain('Response verify OK');
    expect(statusLine(old, before.path)).toBe('good');

    const actions = (await t.service.audit.list({ actor: 'officer-ceremony', limit: 50 })).map((e) => `${e.action} ${e.target}`);
    expect(actions).toEqual(expect.arrayContaining([`ca.root.create issuer:${root.id}`, `ca.issuing.create issuer:${issuing.id}`, `ca.root.export issuer:${root.id}`]));
    expect(actions.some((a) => a.startsWith('ca.ocsp_signer.create'))).toBe(true);
  }, 300_000);
});
