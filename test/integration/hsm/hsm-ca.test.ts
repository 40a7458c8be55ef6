/**
 * The CA with every key in a SoftHSM2 token (issue 11, acceptance 1 and 2): the hierarchy made in
 * the token, issuance, revocation, CRLs and OCSP through the same code paths as file keys, checked
 * by OpenSSL; pkcs11-tool shows the keys live in the token, sensitive and never extractable.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestService, type TestService } from '../../support/test-app.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { createSoftHsmToken, type SoftHsmToken } from '../../support/softhsm.js';
import { issueLeaf, type Leaf, ocspFiles, type OcspFiles, opensslQuery, run, statusLine } from '../ocsp/ocsp-support.js';
import type { IssuerRecord } from '../../../ca/records.js';

const describeSoftHsm = describeWithProgram('softhsm2-util', 'softhsm2');
const describeTools = describeWithProgram('pkcs11-tool', 'opensc');

let token: SoftHsmToken;
let t: TestService;
let files: OcspFiles;
let issuers: IssuerRecord[];
let good: Leaf;
let revoked: Leaf;

beforeAll(async () => {
  token = await createSoftHsmToken('tinnhiem-ca-test');
  t = await startTestService({ env: token.env });
  issuers = await t.service.certificates.ca.issuers();
  files = await ocspFiles(t.service);
  good = await issueLeaf(t.service, files, 'good');
  revoked = await issueLeaf(t.service, files, 'revoked');
  await t.service.certificates.ca.changeStatus({ actor: 'officer-a', serial: revoked.serial, action: 'revoke', reason: 'keyCompromise' });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describeSoftHsm('CA keys in a PKCS#11 token (SoftHSM2)', () => {
  it('made the root, issuing CA, OCSP signer and report signer keys in the token, none on disk', () => {
    expect(issuers.map((i) => i.role).sort()).toEqual(['issuing', 'ocsp-signer', 'report-signer', 'root']);
    for (const issuer of issuers) expect(issuer.keyUri).toBe(`pkcs11:token=tinnhiem-ca-test;object=${issuer.id}`);
    const keyDir = join(t.database.keyDir!, 'keys');
    expect(existsSync(keyDir) ? readdirSync(keyDir) : []).toEqual([]);
  });

  it('issues certificates and CRLs that openssl verifies, and the revoked one fails -crl_check', async () => {
    const crl = async (name: string) => {
      const res = await fetch(`${t.url}/crl/${name}.crl`);
      expect(res.status).toBe(200);
      const der = files.write(`${name}.crl`, Buffer.from(await res.arrayBuffer()));
      return files.write(`${name}-crl.pem`, (await run('openssl', ['crl', '-inform', 'DER', '-in', der])).output);
    };
    const rootCrl = await crl(issuers.find((i) => i.role === 'root')!.id);
    const issuingCrl = await crl(files.issuerId);
    const verify = (leaf: string) => run('openssl', ['verify', '-x509_strict', '-crl_check_all', '-CAfile', files.root, '-untrusted', files.issuing, '-CRLfile', rootCrl, '-CRLfile', issuingCrl, leaf]);
    const ok = await verify(good.path);
    expect(ok.output).toContain(`${good.path}: OK`);
    expect(ok.code).toBe(0);
    const bad = await verify(revoked.path);
    expect(bad.output).toContain('certificate revoked');
    expect(bad.code).not.toBe(0);
    // The CRL's signature, made in the token, checked by openssl against the issuing CA's certificate.
    const crlCheck = await run('openssl', ['crl', '-in', issuingCrl, '-CAfile', files.issuing, '-noout', '-text']);
    expect(crlCheck.output).toContain('verify OK');
    expect(crlCheck.output).toContain('Key Compromise');
  });

  it('answers OCSP from the token-held signer: live (nonce) and pre-signed, good and revoked', async () => {
    for (const extra of [[], ['-no_nonce']]) {
      const out = await opensslQuery(t.url, files, [good.path, revoked.path], extra);
      expect(out).toContain('Response verify OK');
      expect(statusLine(out, good.path)).toBe('good');
      expect(statusLine(out, revoked.path)).toBe('revoked');
      expect(out).toContain('Reason: keyCompromise');
    }
  });

  it('signs many OCSP answers at once through the session pool (no CKR_OPERATION_ACTIVE)', async () => {
    const outs = await Promise.all(Array.from({ length: 8 }, () => opensslQuery(t.url, files, [good.path])));
    for (const out of outs) expect(out).toContain('Response verify OK');
  });

  it('rotates the OCSP signer with a new key made in the same token', async () => {
    const signer = await t.service.certificates.setup.ensureOcspSigner('system', files.issuerId, true);
    expect(signer!.keyUri).toMatch(/^pkcs11:token=tinnhiem-ca-test;object=ocsp-/);
    expect(signer!.id).not.toBe(issuers.find((i) => i.role === 'ocsp-signer')!.id);
  });
});

describeTools('pkcs11-tool sees the keys in the token, not extractable', () => {
  it('lists every CA key as a sensitive, never-extractable private key object in the token', () => {
    const listing = token.pkcs11Tool(['--login', '--pin', token.pin, '--list-objects', '--type', 'privkey']);
    const objects = listing.split(/(?=Private Key Object)/).filter((o) => o.startsWith('Private Key Object'));
    const labels = objects.map((o) => /label:\s+(\S+)/.exec(o)![1]);
    for (const issuer of issuers) expect(labels).toContain(issuer.id);
    for (const object of objects) {
      expect(object).toMatch(/Access:\s+sensitive, always sensitive, never extractable, local/);
    }
  });

  it('refuses to export the issuing CA private key through the WebCrypto provider', async () => {
    const issuing = issuers.find((i) => i.role === 'issuing')!;
    const key = await t.service.certificates.ca.key(issuing.keyUri!);
    expect(key.privateKey.extractable).toBe(false);
    await expect(key.crypto.subtle.exportKey('pkcs8', key.privateKey)).rejects.toThrow(/not extractable/i);
  });
});
