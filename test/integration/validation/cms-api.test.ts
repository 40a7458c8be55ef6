import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { startTestService, type TestService } from '../../support/test-app.js';
import { apiClient, run, tmp } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { b64, caFiles, issueSigner, opensslSign, opensslTsa, opensslVerifies, withTimestamp, type ReportBody, type Signer } from './validation-support.js';

/**
 * Acceptance 1, 3 and 4 of issue 6: CMS signatures made by `openssl cms -sign` with certificates
 * of our own CA, validated through the API; our verdicts must agree with `openssl cms -verify`.
 */
let t: TestService;
let api: Awaited<ReturnType<typeof apiClient>>;
let reader: Awaited<ReturnType<typeof apiClient>>;
let dir: string;
let ca: { root: string; issuing: string; issuingPem: string };
let rsa: Signer;
let ec: Signer;
const data = Buffer.from('Quyết định số 123/QĐ-UBND về việc phê duyệt dự toán ngân sách năm 2026\n', 'utf8');

beforeAll(async () => {
  t = await startTestService();
  api = await apiClient(t, 'document-system', ['signatures:validate']);
  reader = await apiClient(t, 'registry-reader', ['certs:read']);
  dir = tmp('tinnhiem-validation-');
  ca = await caFiles(t, dir);
  rsa = await issueSigner(t, dir, 'rsa', 'rsa', '094185000001');
  ec = await issueSigner(t, dir, 'ec', 'ec', '094185000002');
});
afterAll(async () => {
  await t?.close();
});

async function validate(body: Record<string, unknown>): Promise<ReportBody> {
  const res = await api.call('POST', '/api/v1/signatures/validate', body);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as ReportBody;
}

/** A registry evidence's keys, in the order of the base record spread with source and status (before revocation.ts wrote them out). */
const EVIDENCE_KEYS = ['serial', 'subject', 'revokedAt', 'reason', 'producedAt', 'url', 'note', 'source', 'status'];

describeWithProgram('openssl', 'openssl')('CMS signatures agree with openssl cms -verify (acceptance 1)', () => {
  const cases: Array<{ name: string; key: 'rsa' | 'ec'; detached?: boolean; noattr?: boolean; pss?: boolean; md?: 'sha256' | 'sha384'; certfile?: boolean }> = [
    { name: 'RSA, attached, SHA-256', key: 'rsa' },
    { name: 'RSA, detached, SHA-384, with the chain', key: 'rsa', detached: true, md: 'sha384', certfile: true },
    { name: 'RSA, detached, -noattr', key: 'rsa', detached: true, noattr: true },
    { name: 'RSA, attached, -noattr, SHA-384', key: 'rsa', noattr: true, md: 'sha384' },
    { name: 'RSA-PSS, detached, SHA-256', key: 'rsa', detached: true, pss: true },
    { name: 'RSA-PSS, attached, SHA-384, -noattr, with the chain', key: 'rsa', pss: true, md: 'sha384', noattr: true, certfile: true },
    { name: 'ECDSA, attached, SHA-256, with the chain', key: 'ec', certfile: true },
    { name: 'ECDSA, detached, SHA-384', key: 'ec', detached: true, md: 'sha384' },
    { name: 'ECDSA, detached, -noattr', key: 'ec', detached: true, noattr: true },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const signer = c.key === 'rsa' ? rsa : ec;
      const sig = opensslSign(signer, data, { detached: c.detached, noattr: c.noattr, pss: c.pss, md: c.md, certfile: c.certfile ? ca.issuing : undefined });
      const good = await validate({ signature: b64(sig), ...(c.detached && { document: b64(data) }) });
      expect(opensslVerifies(sig, c.detached ? data : null, ca)).toBe(true);
      expect(good.signatures).toHaveLength(1);
      const [s] = good.signatures;
      expect({ indication: s.indication, sub: s.subIndication, errors: s.errors }).toEqual({ indication: 'TOTAL_PASSED', sub: null, errors: [] });
      expect(s.signer).toMatchObject({ name: `Người Ký ${c.key}`, nationalId: c.key === 'rsa' ? '094185000001' : '094185000002' });
      expect(s.chain.map((e) => e.trustAnchor)).toEqual([false, false, true]);
      expect(s.revocation[0]).toMatchObject({ source: 'registry', status: 'good' });
      // The evidence's fields in the order reports have always had them (revocation.ts writes them out).
      expect(Object.keys(s.revocation[0])).toEqual(EVIDENCE_KEYS);
      expect(s.algorithms.digest).toBe(c.md === 'sha384' ? 'SHA-384' : 'SHA-256');
      if (c.pss) expect(s.algorithms.signature).toMatch(/PSS/);
      // Without a time-stamp the certificates are checked now; the claimed signingTime is only reported.
      expect(s.validationTimeSource).toBe('current');
      expect(s.claimedTimes.signingTime === null).toBe(!!c.noattr);

      // The same signature over changed content: both refuse it, we say why.
      const tampered = Buffer.from(data);
      tampered[5] ^= 1;
      if (c.detached) {
        expect(opensslVerifies(sig, tampered, ca)).toBe(false);
        const bad = await validate({ signature: b64(sig), document: b64(tampered) });
        expect(bad.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: c.noattr && c.key === 'ec' || (c.noattr && c.pss) ? 'SIG_CRYPTO_FAILURE' : 'HASH_FAILURE' });
      } else {
        // Change one byte of the encapsulated content inside the DER.
        const at = sig.indexOf(data.subarray(0, 20));
        expect(at).toBeGreaterThan(0);
        const changed = Buffer.from(sig);
        changed[at + 5] ^= 1;
        expect(opensslVerifies(changed, null, ca)).toBe(false);
        const bad = await validate({ signature: b64(changed) });
        expect(bad.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: c.noattr && (c.key === 'ec' || c.pss) ? 'SIG_CRYPTO_FAILURE' : 'HASH_FAILURE' });
      }
    });
  }

  it('a changed signature value is SIG_CRYPTO_FAILURE, for openssl too', async () => {
    const sig = opensslSign(rsa, data, { detached: true });
    const changed = Buffer.from(sig);
    changed[changed.length - 10] ^= 0xff; // inside the signature value, the last field of SignerInfo
    expect(opensslVerifies(changed, data, ca)).toBe(false);
    const report = await validate({ signature: b64(changed), document: b64(data) });
    expect(report.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'SIG_CRYPTO_FAILURE' });
  });

  it('bytes appended after a signature file are refused (RFC 5652 §3), zero padding is not', async () => {
    // DER read in one pass, attached and detached; BER with indefinite lengths read by pkijs.
    for (const { detached, stream } of [{ detached: false, stream: false }, { detached: true, stream: false }, { detached: false, stream: true }]) {
      const sig = opensslSign(ec, data, { detached, stream });
      if (stream) expect(sig[1]).toBe(0x80);
      const doc = detached ? { document: b64(data) } : {};
      for (const tail of [Buffer.from([7]), Buffer.from('<script>alert(1)</script>'), Buffer.from([0, 0, 1])]) {
        const res = await api.call('POST', '/api/v1/signatures/validate', { signature: b64(Buffer.concat([sig, tail])), ...doc });
        expect(res.status).toBe(400);
        expect((res.body as { detail: string }).detail).toBe(`signature: ${tail.length} byte(s) follow the CMS structure; a signature file is one ContentInfo (RFC 5652 §3)`);
      }
      // Zeros after the structure (a PDF's /Contents taken out as it is) carry nothing: validated.
      const padded = await validate({ signature: b64(Buffer.concat([sig, Buffer.alloc(64)])), ...doc });
      expect(padded.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED' });
    }
  });

  it('a signature with only the digest of the detached content', async () => {
    const sig = opensslSign(ec, data, { detached: true, md: 'sha384' });
    const { createHash } = await import('node:crypto');
    const report = await validate({ signature: b64(sig), digest: { algorithm: 'sha384', value: createHash('sha384').update(data).digest('hex') } });
    expect(report.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', signedAttributes: { messageDigest: 'match' } });
    const missing = await validate({ signature: b64(sig) });
    expect(missing.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'SIGNED_DATA_NOT_FOUND' });
  });

  it('a raw signature with data and certificate', async () => {
    const sigPath = join(dir, 'raw.sig');
    const dataPath = join(dir, 'raw.bin');
    const { writeFileSync, readFileSync } = await import('node:fs');
    writeFileSync(dataPath, data);
    run('openssl', ['dgst', '-sha256', '-sign', ec.key, '-out', sigPath, dataPath]);
    const report = await validate({ signature: b64(readFileSync(sigPath)), document: b64(data), certificate: ec.pem });
    expect(report).toMatchObject({ documentType: 'raw', indication: 'TOTAL_PASSED' });
    const bad = await validate({ signature: b64(readFileSync(sigPath)), document: b64(Buffer.from('other')), certificate: ec.pem });
    expect(bad.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'SIG_CRYPTO_FAILURE' });
  });
});

describeWithProgram('openssl', 'openssl')('sub-indications (acceptance 3)', () => {
  it('a root nobody trusts: NO_CERTIFICATE_CHAIN_FOUND, and openssl refuses it too', async () => {
    const foreign = tmp('tinnhiem-foreign-');
    const caKey = join(foreign, 'ca.key');
    const caCert = join(foreign, 'ca.pem');
    run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caCert, '-subj', '/C=VN/O=Foreign/CN=Foreign Root', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    const key = join(foreign, 'leaf.key');
    run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', join(foreign, 'leaf.csr'), '-subj', '/C=VN/CN=Someone Else']);
    const ext = join(foreign, 'ext.cnf');
    (await import('node:fs')).writeFileSync(ext, 'keyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=emailProtection\n');
    run('openssl', ['x509', '-req', '-in', join(foreign, 'leaf.csr'), '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-out', join(foreign, 'leaf.pem'), '-days', '10', '-extfile', ext]);
    const signer: Signer = { key, cert: join(foreign, 'leaf.pem'), serial: '', issuerId: '', pem: '' };
    const sig = opensslSign(signer, data, { certfile: caCert });
    expect(opensslVerifies(sig, null, ca)).toBe(false);
    const report = await validate({ signature: b64(sig) });
    expect(report.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'NO_CERTIFICATE_CHAIN_FOUND', signer: { name: 'Someone Else' } });
    expect(report.signatures[0].errors.join(' ')).toMatch(/Foreign Root.*not a trust anchor/);

    // Once the operator trusts that root, the same signature passes; removed, it fails again.
    const [added] = await t.service.validation.trust.add('test:operator', (await import('node:fs')).readFileSync(caCert), 'anchor', 'foreign test root');
    const trusted = await validate({ signature: b64(sig) });
    expect(trusted.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'TRY_LATER' }); // it names no OCSP/CRL
    expect(trusted.signatures[0].chain.map((c) => c.source)).toEqual(['signature', 'trust-store']);
    expect(trusted.signatures[0].revocation[0]).toMatchObject({ source: 'none', status: 'unavailable' });
    await t.service.validation.trust.remove('test:operator', added.sha256);
    expect((await validate({ signature: b64(sig) })).signatures[0].subIndication).toBe('NO_CERTIFICATE_CHAIN_FOUND');
  });

  it('a caller\'s validationTime is a claim for signatures; the certificate endpoint answers at it (EXPIRED, NOT_YET_VALID)', async () => {
    const sig = opensslSign(rsa, data);
    const report = await validate({ signature: b64(sig), validationTime: '2045-01-01T00:00:00Z' });
    expect(report.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', validationTimeSource: 'current', claimedTimes: { requestedValidationTime: '2045-01-01T00:00:00.000Z' } });
    const cert = await api.call('POST', '/api/v1/certificates/validate', { certificate: rsa.pem, validationTime: '2045-01-01T00:00:00Z' });
    expect(cert.status).toBe(200);
    expect(cert.body).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'EXPIRED' });
    const early = await api.call('POST', '/api/v1/certificates/validate', { certificate: rsa.pem, validationTime: '2001-01-01T00:00:00Z' });
    expect(early.body).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'NOT_YET_VALID' });
    const now = await api.call('POST', '/api/v1/certificates/validate', { certificate: rsa.pem });
    expect(now.body).toMatchObject({ indication: 'TOTAL_PASSED', holder: { nationalId: '094185000001' } });
  });

  it('revoked, with no time-stamp: REVOKED_NO_POE whether the claimed signing time is before or after the revocation', async () => {
    const early = await issueSigner(t, dir, 'revoked-early', 'rsa', '094185000003');
    await t.service.certificates.ca.changeStatus({ actor: 'test:officer', serial: early.serial, issuerId: early.issuerId, action: 'revoke', reason: 'keyCompromise' });
    await new Promise((r) => setTimeout(r, 1100));
    const afterRevocation = opensslSign(early, data);
    const revoked = await validate({ signature: b64(afterRevocation) });
    expect(revoked.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'REVOKED_NO_POE' });
    expect(revoked.signatures[0].revocation[0]).toMatchObject({ source: 'registry', status: 'revoked', reason: 'keyCompromise', url: null });
    expect(Object.keys(revoked.signatures[0].revocation[0])).toEqual(EVIDENCE_KEYS);

    const late = await issueSigner(t, dir, 'revoked-late', 'ec', '094185000004');
    const beforeRevocation = opensslSign(late, data);
    await new Promise((r) => setTimeout(r, 1100));
    await t.service.certificates.ca.changeStatus({ actor: 'test:officer', serial: late.serial, issuerId: late.issuerId, action: 'revoke', reason: 'superseded' });
    const claimedBefore = await validate({ signature: b64(beforeRevocation) });
    // The signingTime says "before the revocation", but nothing proves it (issue 19, defect 2).
    expect(claimedBefore.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'REVOKED_NO_POE', validationTimeSource: 'current' });
    expect(claimedBefore.signatures[0].errors.join(' ')).toMatch(/no time-stamp proves/);
    // Asked about now, the same certificate is revoked.
    const now = await api.call('POST', '/api/v1/certificates/validate', { certificate: late.pem });
    expect(now.body).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'REVOKED' });
  });

  it('a status change shows at the next validation of the same signature: this node\'s change and another node\'s through the change feed', async () => {
    const signer = await issueSigner(t, dir, 'cached', 'ec', '094185000005');
    const sig = b64(opensslSign(signer, data));
    const status = async () => (await validate({ signature: sig })).signatures[0].revocation[0].status;
    expect(await status()).toBe('good'); // the registry record is cached now
    await t.service.certificates.ca.changeStatus({ actor: 'test:officer', serial: signer.serial, issuerId: signer.issuerId, action: 'hold' });
    expect(await status()).toBe('hold');
    await t.service.certificates.ca.changeStatus({ actor: 'test:officer', serial: signer.serial, issuerId: signer.issuerId, action: 'release' });
    expect(await status()).toBe('good');
    // This node's own feed entries (hold, release) are followed asynchronously and drop the record
    // when they arrive: follow them now, then read once more, so the record is cached for good.
    await t.service.ocsp.sync();
    expect(await status()).toBe('good');
    // Another node revokes: its row and its change-feed entry, nothing in this node's memory.
    const knex = t.service.db.knex;
    const now = new Date();
    await knex('certificates').where({ issuer_id: signer.issuerId, serial: signer.serial }).update({ status: 'revoked', revoked_at: now, revocation_reason: 'keyCompromise', status_changed_at: now });
    expect(await status()).toBe('good'); // cached: the other node's change is not known here yet
    await knex('ocsp_changes').insert({ issuer_id: signer.issuerId, serial: signer.serial, created_at: now });
    await t.service.ocsp.sync();
    expect(await status()).toBe('revoked');
  });

  it('an RFC 3161 signature time-stamp becomes the validation time once its TSA is trusted for time-stamping', async () => {
    const tsa = opensslTsa();
    const sig = await withTimestamp(opensslSign(rsa, data, { detached: true }), tsa);
    expect(opensslVerifies(sig, data, ca)).toBe(true); // the unsigned attribute does not disturb the signature
    const untrusted = await validate({ signature: b64(sig), document: b64(data) });
    expect(untrusted.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', validationTimeSource: 'current', timestamp: { indication: 'INDETERMINATE', subIndication: 'NO_CERTIFICATE_CHAIN_FOUND', messageImprintMatches: true } });
    const { readFileSync } = await import('node:fs');
    // Its root trusted as an ordinary anchor: not for time-stamping, the time is unused.
    const [plainRoot] = await t.service.validation.trust.add('test:operator', readFileSync(tsa.root), 'anchor', 'test TSA root');
    const plain = await validate({ signature: b64(sig), document: b64(data) });
    expect(plain.signatures[0]).toMatchObject({ validationTimeSource: 'current', timestamp: { indication: 'INDETERMINATE', subIndication: 'NO_CERTIFICATE_CHAIN_FOUND' } });
    await t.service.validation.trust.remove('test:operator', plainRoot.sha256);
    // Trusted for time-stamping, the TSA certificate names no OCSP/CRL: its status is unknown, the time unused.
    const [rootEntry] = await t.service.validation.trust.add('test:operator', readFileSync(tsa.root), 'anchor', 'test TSA root', true);
    const noStatus = await validate({ signature: b64(sig), document: b64(data) });
    expect(noStatus.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', validationTimeSource: 'current', timestamp: { indication: 'INDETERMINATE', subIndication: 'TRY_LATER' } });
    expect((noStatus.signatures[0].timestamp?.errors as string[]).join(' ')).toMatch(/no revocation status/);
    await t.service.validation.trust.remove('test:operator', rootEntry.sha256);
    // The TSA certificate itself pinned as an anchor trusted for time-stamping: the time-stamp is used.
    await expect(t.service.validation.trust.add('test:operator', readFileSync(join(tsa.dir, 'tsa.pem')), 'anchor', 'pinned test TSA')).rejects.toThrow(/not a CA certificate/);
    const [added] = await t.service.validation.trust.add('test:operator', readFileSync(join(tsa.dir, 'tsa.pem')), 'anchor', 'pinned test TSA', true);
    const trusted = await validate({ signature: b64(sig), document: b64(data) });
    expect(trusted.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', validationTimeSource: 'timestamp', timestamp: { indication: 'TOTAL_PASSED', tsa: expect.stringContaining('Test TSA') } });
    expect(trusted.signatures[0].timestamp?.chain).toHaveLength(1);
    // A token over something else is not this signature's time-stamp.
    const foreign = await withTimestamp(opensslSign(rsa, data, { detached: true }), tsa, Buffer.from('another signature'));
    const mismatch = await validate({ signature: b64(foreign), document: b64(data) });
    expect(mismatch.signatures[0]).toMatchObject({ validationTimeSource: 'current', timestamp: { indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE', messageImprintMatches: false } });
    await t.service.validation.trust.remove('test:operator', added.sha256);
  });

  it('the real VGCA G1 sub-CA certificates parse and have no chain without their root', async () => {
    const { readFileSync } = await import('node:fs');
    for (const file of ['vgca-g1-chinh-phu-subca.pem', 'vgca-g1-dang-cong-san-subca.pem']) {
      const pem = readFileSync(join(import.meta.dirname, '../../fixtures/vgca', file), 'utf8');
      const res = await api.call('POST', '/api/v1/certificates/validate', { certificate: pem });
      expect(res.status).toBe(200);
      const body = res.body as { indication: string; subIndication: string; warnings: string[]; certificate: { signatureAlgorithm: string } };
      expect(body).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'NO_CERTIFICATE_CHAIN_FOUND' });
      expect(body.certificate.signatureAlgorithm).toBe('sha1WithRSAEncryption');
      expect(body.warnings.join(' ')).toMatch(/SHA-1/);
    }
  });
});

describe('the published report schema', () => {
  it('the OpenAPI document stays valid and the reports conform to it', async () => {
    // The HTTP calls first: the schema compilation below blocks the event loop for a while, and a
    // keep-alive socket the server closes meanwhile would be reset under the next request.
    const openapi = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    const reports: Array<[string, unknown]> = [
      ['SignatureValidationReport', await validate({ signature: b64(opensslSign(ec, data, { certfile: ca.issuing })) })],
      ['SignatureValidationReport', await validate({ signature: b64(opensslSign(rsa, data, { detached: true })), document: b64(Buffer.from('x')) })],
      ['CertificateValidationReport', (await api.call('POST', '/api/v1/certificates/validate', { certificate: rsa.pem })).body],
    ];
    const result = await new Validator().validate(openapi as never);
    expect(result.errors ?? []).toEqual([]);
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/v1/signatures/validate', '/api/v1/certificates/validate']));
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    ajv.addSchema({ ...openapi, $id: 'openapi.json' } as never);
    for (const [name, body] of reports) {
      const v = ajv.compile({ $ref: `openapi.json#/components/schemas/${name}` });
      if (!v(body)) throw new Error(`${name}: ${ajv.errorsText(v.errors)}`);
    }
  });
});

describe('access and bad input (acceptance 4)', () => {
  it('no token: 401; a token without signatures:validate: 403', async () => {
    const anonymous = await fetch(`${t.url}/api/v1/signatures/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrongScope = await reader.call('POST', '/api/v1/signatures/validate', { signature: 'AAAA' });
    expect(wrongScope.status).toBe(403);
    expect(wrongScope.headers.get('www-authenticate')).toMatch(/insufficient_scope/);
    expect((await reader.call('POST', '/api/v1/certificates/validate', { certificate: rsa.pem })).status).toBe(403);
    const forged = await fetch(`${t.url}/api/v1/certificates/validate`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${api.token.slice(0, -4)}AAAA` }, body: '{}' });
    expect(forged.status).toBe(401);
  });

  it('garbage is a precise 400, never a 500', async () => {
    for (const body of [{ signature: b64(Buffer.from('not a signature at all, just text')) }, { signature: '%%%' }, { document: b64(Buffer.from('%PDF-1.7 nothing')) , kind: 'cms' }, {}]) {
      const res = await api.call('POST', '/api/v1/signatures/validate', body);
      expect([400]).toContain(res.status);
      expect((res.body as { type: string }).type).toMatch(/^urn:tinnhiem:problem:/);
    }
    const cert = await api.call('POST', '/api/v1/certificates/validate', { certificate: b64(Buffer.from('junk')) });
    expect(cert.status).toBe(400);
  });
});
