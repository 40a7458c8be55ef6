/**
 * Acceptance 2 (GnuTLS `ocsptool` asks the running service and verifies its answers), the CA as
 * signer (OCSP_SIGNER=ca), and a node started with role `ocsp` (responder and health routes only).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startTestService, TEST_PASSPHRASE, type TestService } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { startServerProcess } from '../../support/serve-process.js';
import { issueLeaf, type Leaf, ocspFiles, type OcspFiles, opensslQuery, run, statusLine } from './ocsp-support.js';

const describeOcsptool = describeWithProgram('ocsptool', 'gnutls-bin');
const describeOpenssl = describeWithProgram('openssl', 'openssl');

describeOcsptool('GnuTLS ocsptool against the running service', () => {
  let t: TestService;
  let files: OcspFiles;
  let good: Leaf;
  let revoked: Leaf;
  beforeAll(async () => {
    t = await startTestService();
    files = await ocspFiles(t.service);
    good = await issueLeaf(t.service, files, 'g-good');
    revoked = await issueLeaf(t.service, files, 'g-revoked');
    await t.service.certificates.ca.changeStatus({ actor: 'officer-a', serial: revoked.serial, action: 'revoke', reason: 'superseded' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('asks with and without a nonce, and verifies the responses (delegated signer chained to the issuing CA)', async () => {
    for (const nonce of ['--nonce', '--no-nonce']) {
      for (const [leaf, expected] of [
        [good, 'Certificate Status: good'],
        [revoked, 'Certificate Status: revoked'],
      ] as const) {
        const out = files.write(`g-${leaf.serial}${nonce}.der`, '');
        const asked = await run('ocsptool', [`--ask=${t.url}/ocsp`, nonce, '--load-issuer', files.issuing, '--load-cert', leaf.path, '--outfile', out]);
        expect(asked.output).toContain(expected);
        const verified = await run('ocsptool', ['--verify-response', '--load-trust', files.issuing, '--load-response', out]);
        expect(verified.output).toContain('Verifying OCSP Response: Success.');
      }
    }
  });
});

describeOpenssl('OCSP_SIGNER=ca', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ env: { OCSP_SIGNER: 'ca' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('signs with the issuing CA key, without a certificate in the response', async () => {
    const files = await ocspFiles(t.service);
    const leaf = await issueLeaf(t.service, files, 'ca-signed');
    for (const extra of [[], ['-no_nonce']]) {
      const out = await opensslQuery(t.url, files, [leaf.path], extra);
      expect(out).toContain('Response verify OK');
      expect(statusLine(out, leaf.path)).toBe('good');
      expect(out).not.toMatch(/Certificate:\s+Data:/);
    }
    expect(t.service.ocsp.describe()).toEqual([expect.objectContaining({ issuer: files.issuerId, signer: files.issuerId })]);
  });
});

describeOpenssl('tinnhiem serve --role ocsp', () => {
  let database: TestDatabase;
  let files: OcspFiles;
  let leaf: Leaf;
  beforeAll(async () => {
    // A full node initialises the installation and the CA and issues a certificate, then stops.
    database = await createTestDatabase();
    await database.close();
    const full = await startTestService({ database });
    files = await ocspFiles(full.service);
    leaf = await issueLeaf(full.service, files, 'fleet');
    await full.service.certificates.ca.changeStatus({ actor: 'officer-a', serial: leaf.serial, action: 'hold' });
    await full.close();
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it('answers OCSP and health, and nothing else', async () => {
    const server = await startServerProcess({ ...database.env, DATA_DIR: database.keyDir!, MASTER_PASSPHRASE: TEST_PASSPHRASE }, { args: ['--role', 'ocsp'] });
    try {
      const out = await opensslQuery(server.url, files, [leaf.path], ['-no_nonce']);
      expect(out).toContain('Response verify OK');
      expect(statusLine(out, leaf.path)).toBe('revoked');
      expect(out).toContain('Reason: certificateHold');
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      for (const path of ['/oidc/.well-known/openid-configuration', '/api/v1/certificates', '/crl/x.crl', '/interaction/x']) {
        expect((await fetch(`${server.url}${path}`)).status).toBe(404);
      }
    } finally {
      await server.stop();
    }
  });
});
