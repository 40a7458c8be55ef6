import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePem } from '../../../ca/asn1/der.js';
import { certSummary, decodeCert } from '../../../src/validation/cert.js';
import { chainView } from '../../../src/validation/chain.js';

const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-cert-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sh = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const pemDer = (path: string) => new Uint8Array(decodePem(readFileSync(join(dir, path), 'utf8'), 'badCertificate')[0].der);

describe('what is computed once per certificate or per Name (cert.ts)', () => {
  it('gives every report its own summary, equal to the certificate\'s fields; an issuer\'s name reads as the issuer\'s subject', () => {
    sh('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-utf8', '-subj', '/C=VN/O=UBND tỉnh Sóc Trăng/CN=CA thử');
    sh('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'a.key', '-out', 'a.csr', '-utf8', '-subj', '/CN=Trần Thị A');
    sh('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'b.key', '-out', 'b.csr', '-utf8', '-subj', '/CN=Nguyễn Văn B');
    for (const n of ['a', 'b']) sh('x509', '-req', '-in', `${n}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '10', '-out', `${n}.pem`);
    const ca = decodeCert(pemDer('ca.pem'), 'der')!;
    const [a, b] = ['a.pem', 'b.pem'].map((p) => decodeCert(pemDer(p), 'der')!);
    // The second certificate of the same issuer gets the remembered text: the same as the first's, and the issuer's own subject.
    expect(a.issuerDn).toBe(ca.subjectDn);
    expect(b.issuerDn).toBe(ca.subjectDn);
    expect(decodeCert(pemDer('b.pem'), 'pkijs')!.issuerDn).toBe(ca.subjectDn);
    const first = certSummary(a);
    expect(first).toEqual({ subject: a.subjectDn, issuer: ca.subjectDn, serial: a.facts.serial, notBefore: a.facts.notBefore.toISOString(), notAfter: a.facts.notAfter.toISOString(), sha256: a.sha256, key: 'EC P-256', signatureAlgorithm: a.signatureAlgorithm });
    first.subject = 'changed by one report';
    expect(certSummary(a).subject).toBe(a.subjectDn);
    expect(certSummary(b).subject).toBe(b.subjectDn);
    expect(certSummary(b).serial).not.toBe(certSummary(a).serial);
  });

  it('shows a path as the summaries spread with source and anchor did: the same JSON, key order included, and each element the report\'s own', () => {
    const ca = decodeCert(pemDer('ca.pem'), 'der')!;
    const a = decodeCert(pemDer('a.pem'), 'der')!;
    const path = [{ cert: a, source: 'signature' as const, anchor: false }, { cert: ca, source: 'trust-store' as const, anchor: true }];
    // The reading chainView replaced (two spreads per element), compared byte for byte.
    const spread = path.map((c) => ({ ...certSummary(c.cert), source: c.source, trustAnchor: c.anchor }));
    const view = chainView(path);
    expect(JSON.stringify(view)).toBe(JSON.stringify(spread));
    view[0].subject = 'changed by one report';
    expect(chainView(path)[0].subject).toBe(a.subjectDn);
    expect(certSummary(a).subject).toBe(a.subjectDn);
  });
});
