/** OpenSSL as an independent OCSP client: its requests parse, our responses verify (`openssl ocsp`). */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import {
  type CertStatus,
  decodeGetPath,
  errorResponse,
  issuerFromCertificate,
  IssuerIndex,
  type OcspResponder,
  parseOcspRequest,
  prepareResponder,
  presignedKey,
  presignResponse,
  webCryptoSigner,
} from '../../../../ca/status/ocsp/index.js';
import { describeWithProgram } from '../../../support/system-tools.js';
import { createTestPki, type TestKeyKind, type TestPki } from '../../../support/test-pki.js';
import { answer, HOUR, readRequest, run } from './peer-support.js';

const describeOpenssl = describeWithProgram('openssl', 'openssl');

let pki: TestPki;
let index: IssuerIndex;
let responder: OcspResponder;
let statuses: Record<string, CertStatus>;
const revokedAt = new Date(Date.now() - 3 * HOUR);

beforeAll(async () => {
  pki = await createTestPki();
  index = new IssuerIndex([issuerFromCertificate('issuing', pki.issuing.der)]);
  responder = prepareResponder({ certificate: pki.signer.der, signer: webCryptoSigner(pki.signer.keys.privateKey) });
  statuses = {
    [pki.leaf('leaf-good').serialHex]: { status: 'good' },
    [pki.leaf('leaf-revoked').serialHex]: { status: 'revoked', revokedAt, reason: 'keyCompromise' },
    [pki.leaf('leaf-high').serialHex]: { status: 'revoked', revokedAt, reason: 'certificateHold' },
  };
});
afterAll(() => pki?.cleanup());

/** `openssl ocsp -reqout` for the given leaves. */
function opensslRequest(name: string, leaves: string[], extra: string[] = []): string {
  const out = `${pki.dir}/${name}`;
  // Options such as -sha256 must come before the -cert they apply to.
  const args = ['ocsp', ...extra, '-issuer', pki.issuing.path, ...leaves.flatMap((l) => ['-cert', pki.leaf(l).path]), '-reqout', out];
  const r = run('openssl', args);
  if (r.code !== 0) throw new Error(r.output);
  return out;
}

/** `openssl ocsp -respin` checking statuses of the given leaves, trusting only the root. */
function opensslCheck(respPath: string, leaves: string[], extra: string[] = []): string {
  const args = ['ocsp', ...extra, '-respin', respPath, '-issuer', pki.issuing.path, ...leaves.flatMap((l) => ['-cert', pki.leaf(l).path]), '-CAfile', pki.root.path, '-no_nonce', '-resp_text'];
  return run('openssl', args).output;
}

describeOpenssl('openssl ocsp as the client', () => {
  it('parses its requests: nonce by default, -no_nonce, -sha256, several certificates', () => {
    const withNonce = readRequest(opensslRequest('n.der', ['leaf-good']));
    expect(withNonce.nonce?.value).toHaveLength(16);
    expect(withNonce.certIds.map((c) => [c.hash, c.hashParams, c.serialHex])).toEqual([['sha1', 'null', pki.leaf('leaf-good').serialHex]]);

    expect(readRequest(opensslRequest('nn.der', ['leaf-good'], ['-no_nonce'])).nonce).toBeUndefined();

    const sha256 = readRequest(opensslRequest('s.der', ['leaf-good', 'leaf-high'], ['-sha256', '-no_nonce']));
    expect(sha256.certIds.map((c) => [c.hash, c.serialHex])).toEqual([
      ['sha256', pki.leaf('leaf-good').serialHex],
      ['sha256', 'c3a1b2c3d4e5f60718293a4b5c6d7e8f'],
    ]);
    expect(sha256.certIds.every((c) => index.find(c)?.id === 'issuing')).toBe(true);
  });

  it('parses a request sent as GET (RFC 6960 appendix A.1)', () => {
    const der = readFileSync(opensslRequest('g.der', ['leaf-good', 'leaf-revoked']));
    const decoded = decodeGetPath(encodeURIComponent(der.toString('base64')));
    expect(decoded.ok && decoded.der.equals(der)).toBe(true);
  });

  it('verifies good, revoked with time and reason, hold, and unknown (delegated signer, SHA-1 CertIDs)', async () => {
    {
      const req = readRequest(opensslRequest('all.der', ['leaf-good', 'leaf-revoked', 'leaf-high'], ['-no_nonce']));
      const resp = await answer(req, index, responder, statuses);
      const path = pki.write('all-resp.der', resp.der);
      const out = opensslCheck(path, ['leaf-good', 'leaf-revoked', 'leaf-high']);
      expect(out).toContain('Response verify OK');
      expect(out).toMatch(/leaf-good\.pem: good/);
      expect(out).toMatch(/leaf-revoked\.pem: revoked[\s\S]*?Reason: keyCompromise/);
      expect(out).toMatch(/leaf-high\.pem: revoked[\s\S]*?Reason: certificateHold/);
      const month = revokedAt.toUTCString().split(' ')[2];
      expect(out).toMatch(new RegExp(`Revocation Time: ${month}\\s+${revokedAt.getUTCDate()} `));
      // unknown: answer with an empty status table.
      const unknown = await answer(req, index, responder, {});
      const unknownOut = opensslCheck(pki.write('unknown-resp.der', unknown.der), ['leaf-good']);
      expect(unknownOut).toContain('Response verify OK');
      expect(unknownOut).toMatch(/leaf-good\.pem: unknown/);
    }
  });

  it('echoes the nonce: openssl checks it against its request', async () => {
    const reqPath = opensslRequest('nonce.der', ['leaf-good']);
    const req = readRequest(reqPath);
    const resp = await answer(req, index, responder, statuses);
    const respPath = pki.write('nonce-resp.der', resp.der);
    // -reqin with -no_nonce: openssl adds no nonce of its own and compares the file's with the response's.
    const ok = run('openssl', ['ocsp', '-reqin', reqPath, '-respin', respPath, '-CAfile', pki.root.path, '-verify_other', pki.issuing.path, '-no_nonce']);
    expect(ok.output).toContain('Response verify OK');
    expect(ok.output).not.toMatch(/Nonce Verify error|no nonce/);

    const other = readRequest(opensslRequest('nonce2.der', ['leaf-good']));
    const wrong = await answer(other, index, responder, statuses);
    const bad = run('openssl', ['ocsp', '-reqin', reqPath, '-respin', pki.write('nonce-wrong.der', wrong.der), '-CAfile', pki.root.path, '-verify_other', pki.issuing.path, '-no_nonce']);
    expect(bad.output).toContain('Nonce Verify error');
  });

  it('echoes SHA-256 CertIDs so openssl -sha256 finds its statuses', async () => {
    const req = readRequest(opensslRequest('sha256.der', ['leaf-good', 'leaf-revoked'], ['-sha256', '-no_nonce']));
    const resp = await answer(req, index, responder, statuses);
    const path = pki.write('sha256-resp.der', resp.der);
    const out = opensslCheck(path, ['leaf-good', 'leaf-revoked'], ['-sha256']);
    expect(out).toContain('Response verify OK');
    expect(out).toMatch(/leaf-good\.pem: good/);
    expect(out).toMatch(/leaf-revoked\.pem: revoked/);
    // The same response does not answer SHA-1 CertIDs.
    expect(opensslCheck(path, ['leaf-good'])).toMatch(/No Status found/);
  });
});

describeOpenssl('openssl ocsp verifying other signers and pre-signed answers', () => {
  it('verifies a response signed by the CA itself, without certificates', async () => {
    const caResponder = prepareResponder({ certificate: pki.issuing.der, signer: webCryptoSigner(pki.issuing.keys.privateKey) });
    const req = readRequest(opensslRequest('ca.der', ['leaf-good'], ['-no_nonce']));
    const resp = await answer(req, index, caResponder, statuses, { includeCerts: false });
    const out = opensslCheck(pki.write('ca-resp.der', resp.der), ['leaf-good'], ['-VAfile', pki.issuing.path]);
    expect(out).toContain('Response verify OK');
    expect(out).toMatch(/leaf-good\.pem: good/);
    // Also through the chain: trusting the root, with the issuing CA named by -issuer (-verify_other).
    const chained = opensslCheck(pki.write('ca-resp.der', resp.der), ['leaf-good'], ['-verify_other', pki.issuing.path]);
    expect(chained).toContain('Response verify OK');
  });

  it.each<TestKeyKind>(['P-384', 'RSA', 'RSA-PSS', 'Ed25519'])('verifies a delegated %s signer', async (kind) => {
    const other = await createTestPki({ signerKey: kind, label: `Kind ${kind}` });
    try {
      const otherIndex = new IssuerIndex([issuerFromCertificate('issuing', other.issuing.der)]);
      const otherResponder = prepareResponder({ certificate: other.signer.der, signer: webCryptoSigner(other.signer.keys.privateKey) });
      const reqPath = `${other.dir}/req.der`;
      run('openssl', ['ocsp', '-issuer', other.issuing.path, '-cert', other.leaf('leaf-good').path, '-no_nonce', '-reqout', reqPath]);
      const resp = await answer(readRequest(reqPath), otherIndex, otherResponder, { [other.leaf('leaf-good').serialHex]: { status: 'good' } });
      const out = run('openssl', ['ocsp', '-respin', other.write('resp.der', resp.der), '-issuer', other.issuing.path, '-cert', other.leaf('leaf-good').path, '-CAfile', other.root.path, '-no_nonce', '-resp_text']).output;
      expect(out).toContain('Response verify OK');
      expect(out).toMatch(/leaf-good\.pem: good/);
      if (kind === 'RSA-PSS') expect(out).toMatch(/Signature Algorithm: rsassaPss[\s\S]*?Hash Algorithm: sha256[\s\S]*?Salt Length: 0x20/);
    } finally {
      other.cleanup();
    }
  });

  it('serves a pre-signed SHA-1 response to a plain openssl request', async () => {
    const req = readRequest(opensslRequest('pre.der', ['leaf-high'], ['-no_nonce']));
    const key = presignedKey(req, index);
    expect(key).toMatchObject({ issuerId: 'issuing', serialHex: pki.leaf('leaf-high').serialHex, variant: 'sha1' });
    const now = new Date();
    const resp = await presignResponse({
      responder,
      issuer: index.get(key!.issuerId)!,
      serial: key!.serialHex,
      status: statuses[key!.serialHex],
      thisUpdate: new Date(now.getTime() - HOUR),
      nextUpdate: new Date(now.getTime() + 24 * HOUR),
      producedAt: now,
    });
    const out = opensslCheck(pki.write('pre-resp.der', resp.der), ['leaf-high']);
    expect(out).toContain('Response verify OK');
    expect(out).toMatch(/leaf-high\.pem: revoked[\s\S]*?Reason: certificateHold/);
  });

  it('reads error responses and refuses a response from a foreign signer', async () => {
    for (const [status, text] of [
      ['malformedRequest', 'malformedrequest (1)'],
      ['internalError', 'internalerror (2)'],
      ['tryLater', 'trylater (3)'],
      ['unauthorized', 'unauthorized (6)'],
    ] as const) {
      const out = run('openssl', ['ocsp', '-respin', pki.write(`${status}.der`, errorResponse(status)), '-resp_text']).output;
      expect(out).toContain(`Responder Error: ${text}`);
    }
    const foreign = await createTestPki({ label: 'Foreign' });
    try {
      const foreignResponder = prepareResponder({ certificate: foreign.signer.der, signer: webCryptoSigner(foreign.signer.keys.privateKey) });
      const req = readRequest(opensslRequest('f.der', ['leaf-good'], ['-no_nonce']));
      const resp = await answer(req, index, foreignResponder, statuses);
      const out = opensslCheck(pki.write('foreign-resp.der', resp.der), ['leaf-good']);
      expect(out).not.toContain('Response verify OK');
      expect(out).toMatch(/Response Verify Failure/);
    } finally {
      foreign.cleanup();
    }
  });

  it('parses a request with a forced -nonce', () => {
    const parsed = parseOcspRequest(readFileSync(opensslRequest('forced.der', ['leaf-good'], ['-nonce'])));
    expect(parsed.ok && parsed.request.nonce?.value.length).toBe(16);
  });
});
