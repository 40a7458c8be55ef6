/**
 * `openssl ocsp` as the client of the running service (acceptance 1): good, revoked (time and
 * reason), hold, unknown; with and without nonce; SHA-1 and SHA-256 CertIDs; POST and GET; the
 * RFC 5019 caching headers of GET.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { startTestService, type TestService } from '../../support/test-app.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { inspectResponse } from '../../unit/ca/ocsp/inspect-response.js';
import { etagOf } from '../../../ca/status/ocsp/response.js';
import { issueLeaf, type Leaf, ocspFiles, type OcspFiles, opensslQuery, run, statusLine } from './ocsp-support.js';

const describeOpenssl = describeWithProgram('openssl', 'openssl');

let t: TestService;
let files: OcspFiles;
let good: Leaf;
let revoked: Leaf;
let held: Leaf;
let revokedAt: Date;

beforeAll(async () => {
  t = await startTestService();
  files = await ocspFiles(t.service);
  good = await issueLeaf(t.service, files, 'good');
  revoked = await issueLeaf(t.service, files, 'revoked');
  held = await issueLeaf(t.service, files, 'held');
  const ca = t.service.certificates.ca;
  revokedAt = (await ca.changeStatus({ actor: 'officer-a', serial: revoked.serial, action: 'revoke', reason: 'keyCompromise' })).revokedAt!;
  await ca.changeStatus({ actor: 'officer-a', serial: held.serial, action: 'hold' });
});
afterAll(async () => {
  await t?.close();
});

/** openssl prints GeneralizedTime as "Nov 27 10:00:00 2026 GMT". */
const opensslTime = (d: Date) => {
  const m = d.toUTCString().match(/^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/)!;
  return `${m[2]} ${m[1].replace(/^0/, ' ')} ${m[4]} ${m[3]} GMT`;
};

describeOpenssl('openssl ocsp against the running service', () => {
  it('good, with a nonce (signed live) and without (pre-signed), SHA-1 and SHA-256 CertIDs', async () => {
    for (const extra of [[], ['-no_nonce'], ['-sha256'], ['-sha256', '-no_nonce']]) {
      const out = await opensslQuery(t.url, files, [good.path], extra);
      expect(out).toContain('Response verify OK');
      expect(statusLine(out, good.path)).toBe('good');
      expect(out).toContain('Next Update:');
      if (extra.includes('-sha256')) expect(out).toContain('Hash Algorithm: sha256');
      else expect(out).toContain('Hash Algorithm: sha1');
      if (extra.includes('-no_nonce')) expect(out).not.toContain('OCSP Nonce');
      else expect(out).toContain('OCSP Nonce');
      // Delegated signer: responder ID by key, its certificate included.
      expect(out).toContain('Responder Id: ');
      expect(out).toMatch(/Certificate:\s+Data:/);
    }
  });

  it('revoked with time and reason; a hold is revoked with reason certificateHold', async () => {
    for (const extra of [[], ['-no_nonce'], ['-sha256', '-no_nonce']]) {
      const out = await opensslQuery(t.url, files, [revoked.path, held.path], extra);
      expect(out).toContain('Response verify OK');
      expect(statusLine(out, revoked.path)).toBe('revoked');
      expect(statusLine(out, held.path)).toBe('revoked');
      expect(out).toContain('Reason: keyCompromise');
      expect(out).toContain('Reason: certificateHold');
      expect(out).toContain(`Revocation Time: ${opensslTime(revokedAt)}`);
    }
    const single = await opensslQuery(t.url, files, [revoked.path], ['-no_nonce']);
    expect(statusLine(single, revoked.path)).toBe('revoked');
    expect(single).toContain('Reason: keyCompromise');
  });

  it('unknown for a serial never issued, by our issuer', async () => {
    for (const extra of [[], ['-no_nonce'], ['-sha256', '-no_nonce']]) {
      const out = (await run('openssl', ['ocsp', ...extra, '-issuer', files.issuing, '-serial', '0x7e57c0ffee', '-url', `${t.url}/ocsp`, '-CAfile', files.root, '-resp_text'])).output;
      expect(out).toContain('Response verify OK');
      expect(out).toMatch(/0x7e57c0ffee: unknown/i);
      expect(out).not.toContain('Next Update:');
    }
  });

  it('answers a request made with -reqout and sent as GET, with RFC 5019 caching headers', async () => {
    for (const extra of [['-no_nonce'], ['-no_nonce', '-sha256']]) {
      const reqPath = files.write(`get-${extra.length}.der`, '');
      expect((await run('openssl', ['ocsp', ...extra, '-issuer', files.issuing, '-cert', revoked.path, '-reqout', reqPath])).code).toBe(0);
      const b64 = readFileSync(reqPath).toString('base64');
      const res = await fetch(`${t.url}/ocsp/${encodeURIComponent(b64)}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/ocsp-response');
      const cc = res.headers.get('cache-control')!;
      expect(cc).toMatch(/^max-age=\d+, public, no-transform, must-revalidate$/);
      const maxAge = Number(/max-age=(\d+)/.exec(cc)![1]);
      expect(maxAge).toBeGreaterThan(0);
      expect(maxAge).toBeLessThanOrEqual(3600);
      const der = Buffer.from(await res.arrayBuffer());
      const inspected = inspectResponse(der);
      expect(new Date(res.headers.get('last-modified')!).getTime()).toBe(Math.floor(inspected.responses[0].thisUpdate.getTime() / 1000) * 1000);
      expect(new Date(res.headers.get('expires')!).getTime()).toBe(Math.floor(inspected.responses[0].nextUpdate!.getTime() / 1000) * 1000);
      const etag = res.headers.get('etag')!;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
      // The answer may be re-signed between the two requests (the pre-signing job catching up with
      // the revocations of beforeAll, first on the embedded database under load): then the bytes
      // and the ETag change, and a 200 with the new ETag is the right answer. A matching ETag
      // must get its 304 either way.
      let current = etag;
      let again = await fetch(`${t.url}/ocsp/${encodeURIComponent(b64)}`, { headers: { 'if-none-match': current } });
      if (again.status === 200) {
        expect(again.headers.get('etag')).not.toBe(etag);
        current = again.headers.get('etag')!;
        again = await fetch(`${t.url}/ocsp/${encodeURIComponent(b64)}`, { headers: { 'if-none-match': current } });
      }
      expect(again.status).toBe(304);

      const respPath = files.write(`get-${extra.length}-resp.der`, der);
      const out = (await run('openssl', ['ocsp', ...extra, '-respin', respPath, '-issuer', files.issuing, '-cert', revoked.path, '-CAfile', files.root, '-resp_text'])).output;
      expect(out).toContain('Response verify OK');
      expect(statusLine(out, revoked.path)).toBe('revoked');

      // Unencoded base64 in the path (slashes and all), as some clients send it: the same answer,
      // or, when the pre-signing job re-signed it meanwhile (openssl ran between the two, on a
      // loaded machine), a newer one for the same certificate, still revoked.
      const raw = Buffer.from(await (await fetch(`${t.url}/ocsp/${b64}`)).arrayBuffer());
      if (etagOf(raw) !== current) {
        const newer = inspectResponse(raw).responses[0];
        expect(newer.thisUpdate.getTime()).toBeGreaterThanOrEqual(inspected.responses[0].thisUpdate.getTime());
        const rawPath = files.write(`get-${extra.length}-raw.der`, raw);
        const rawOut = (await run('openssl', ['ocsp', ...extra, '-respin', rawPath, '-issuer', files.issuing, '-cert', revoked.path, '-CAfile', files.root, '-resp_text'])).output;
        expect(rawOut).toContain('Response verify OK');
        expect(statusLine(rawOut, revoked.path)).toBe('revoked');
      }
    }
  });

  it('a status change re-signs at once: release from hold answers good', async () => {
    await t.service.certificates.ca.changeStatus({ actor: 'officer-a', serial: held.serial, action: 'release' });
    const out = await opensslQuery(t.url, files, [held.path], ['-no_nonce']);
    expect(out).toContain('Response verify OK');
    expect(statusLine(out, held.path)).toBe('good');
  });
});
