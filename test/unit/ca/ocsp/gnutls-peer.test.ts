/** GnuTLS `ocsptool` as a second, independent OCSP implementation: its requests parse, it verifies our responses. */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import {
  type CertStatus,
  errorResponse,
  issuerFromCertificate,
  IssuerIndex,
  type OcspResponder,
  parseOcspRequest,
  prepareResponder,
  webCryptoSigner,
} from '../../../../ca/status/ocsp/index.js';
import { describeWithProgram } from '../../../support/system-tools.js';
import { createTestPki, type TestPki } from '../../../support/test-pki.js';
import { answer, HOUR, readRequest, run } from './peer-support.js';
import { nonceExtension, requestDer } from './request-builder.js';

const describeOcsptool = describeWithProgram('ocsptool', 'gnutls-bin');

let pki: TestPki;
let index: IssuerIndex;
let responder: OcspResponder;
let statuses: Record<string, CertStatus>;

beforeAll(async () => {
  pki = await createTestPki({ label: 'GnuTLS' });
  index = new IssuerIndex([issuerFromCertificate('issuing', pki.issuing.der)]);
  responder = prepareResponder({ certificate: pki.signer.der, signer: webCryptoSigner(pki.signer.keys.privateKey) });
  statuses = {
    [pki.leaf('leaf-good').serialHex]: { status: 'good' },
    [pki.leaf('leaf-revoked').serialHex]: { status: 'revoked', revokedAt: new Date(Date.now() - 2 * HOUR), reason: 'certificateHold' },
  };
});
afterAll(() => pki?.cleanup());

/** `ocsptool --generate-request`: GnuTLS as the client (3.7 adds a nonce only when it sends the request itself, with --ask). */
function gnutlsRequest(name: string, leaf: string): string {
  const out = `${pki.dir}/${name}`;
  const r = run('ocsptool', ['--generate-request', '--load-issuer', pki.issuing.path, '--load-cert', pki.leaf(leaf).path, '--outfile', out]);
  if (r.code !== 0) throw new Error(r.output);
  return out;
}

describeOcsptool('GnuTLS ocsptool', () => {
  it('parses its requests', () => {
    const req = readRequest(gnutlsRequest('g-n.der', 'leaf-high'));
    expect(req.certIds.map((c) => [c.hash, c.serialHex])).toEqual([['sha1', pki.leaf('leaf-high').serialHex]]);
    expect(index.find(req.certIds[0])?.id).toBe('issuing');
    expect(req.nonce).toBeUndefined();
  });

  it('prints and verifies a good response with the nonce echoed (delegated signer)', async () => {
    // GnuTLS made this request without a nonce: add one (32 octets, RFC 8954's size) the way a client would.
    const nonce = randomBytes(32);
    const parsed = parseOcspRequest(requestDer({ certIds: [{ issuerDer: pki.issuing.der, serial: pki.leaf('leaf-good').serialHex }], extensions: [nonceExtension(nonce)] }));
    if (!parsed.ok) throw new Error(parsed.reason);
    const req = parsed.request;
    const resp = await answer(req, index, responder, statuses);
    const path = pki.write('g-good-resp.der', resp.der);
    const info = run('ocsptool', ['--response-info', '--load-response', path]).output;
    expect(info).toContain('Response Status: Successful');
    expect(info).toContain('Certificate Status: good');
    expect(info).toContain(`Nonce: ${nonce.toString('hex')}`);
    expect(info).toContain(`Responder Key ID: ${responder.keyHash.toString('hex')}`);

    const bySigner = run('ocsptool', ['--verify-response', '--load-signer', pki.signer.path, '--load-response', path]);
    expect(bySigner.output).toContain('Verifying OCSP Response: Success.');
    // Trusting the issuing CA: GnuTLS checks the included signer certificate chains to it and carries id-kp-OCSPSigning.
    const byTrust = run('ocsptool', ['--verify-response', '--load-trust', pki.issuing.path, '--load-response', path]);
    expect(byTrust.output).toContain('Verifying OCSP Response: Success.');
  });

  it('shows a hold as revoked, and unknown', async () => {
    const revokedReq = readRequest(gnutlsRequest('g-rev.der', 'leaf-revoked'));
    const revoked = await answer(revokedReq, index, responder, statuses);
    const revokedPath = pki.write('g-rev-resp.der', revoked.der);
    const info = run('ocsptool', ['--response-info', '--load-response', revokedPath]).output;
    expect(info).toContain('Certificate Status: revoked');
    expect(info).toMatch(/Revocation time: /);
    expect(run('ocsptool', ['--verify-response', '--load-signer', pki.signer.path, '--load-response', revokedPath]).output).toContain('Verifying OCSP Response: Success.');

    const unknown = await answer(readRequest(gnutlsRequest('g-unk.der', 'leaf-high')), index, responder, {});
    const unknownInfo = run('ocsptool', ['--response-info', '--load-response', pki.write('g-unk-resp.der', unknown.der)]).output;
    expect(unknownInfo).toContain('Certificate Status: unknown');
  });

  it('verifies a response signed by the CA itself', async () => {
    const caResponder = prepareResponder({ certificate: pki.issuing.der, signer: webCryptoSigner(pki.issuing.keys.privateKey) });
    const resp = await answer(readRequest(gnutlsRequest('g-ca.der', 'leaf-good')), index, caResponder, statuses, { includeCerts: false });
    const out = run('ocsptool', ['--verify-response', '--load-signer', pki.issuing.path, '--load-response', pki.write('g-ca-resp.der', resp.der)]).output;
    expect(out).toContain('Verifying OCSP Response: Success.');
  });

  it('rejects a response whose signer it does not trust', async () => {
    const resp = await answer(readRequest(gnutlsRequest('g-x.der', 'leaf-good')), index, responder, statuses);
    const out = run('ocsptool', ['--verify-response', '--load-trust', pki.root.path, '--load-response', pki.write('g-x-resp.der', resp.der)]).output;
    expect(out).toMatch(/Verifying OCSP Response: Failure/);
  });

  it('reads error responses', () => {
    const out = run('ocsptool', ['--response-info', '--load-response', pki.write('g-err.der', errorResponse('unauthorized'))]).output;
    expect(out).toMatch(/unauthorized/i);
  });
});
