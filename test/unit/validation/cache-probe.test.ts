import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coldCacheProbe } from '../../../src/validation/cache-probe.js';
import { sha256Hex } from '../../../src/validation/cert.js';
import { signedBy } from '../../../src/validation/chain.js';
import { parseCms } from '../../../src/validation/cms.js';

/** A self-signed P-256 certificate and a detached CMS signature it made, by openssl (never seen by the validator). */
function fresh(): { signature: Uint8Array; certSha256: string; spki: Uint8Array } {
  const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-probe-'));
  try {
    const sh = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=probe', '-days', '2']);
    writeFileSync(join(dir, 'd.bin'), 'a document');
    sh(['cms', '-sign', '-binary', '-in', join(dir, 'd.bin'), '-signer', join(dir, 'c.pem'), '-inkey', join(dir, 'k.pem'), '-outform', 'DER', '-out', join(dir, 's.der'), '-md', 'sha256']);
    const x509 = new X509Certificate(readFileSync(join(dir, 'c.pem')));
    return { signature: new Uint8Array(readFileSync(join(dir, 's.der'))), certSha256: sha256Hex(new Uint8Array(x509.raw)), spki: new Uint8Array(x509.publicKey.export({ type: 'spki', format: 'der' })) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the validator's cache probe (cache-probe.ts, the validation bench's cold check)", () => {
  it('finds nothing of a signer never seen, and asking does not fill a cache', () => {
    const s = fresh();
    const probe = { ...s, issuerSha256: s.certSha256 };
    expect(coldCacheProbe(probe)).toEqual([]);
    expect(coldCacheProbe(probe)).toEqual([]);
  });

  it('sees the certificate, its key, the parsed signature and the chain link once the validator has met them', () => {
    const s = fresh();
    const probe = { ...s, issuerSha256: s.certSha256 };
    const cms = parseCms(s.signature);
    expect(coldCacheProbe(probe)).toEqual(['certificate', 'key', 'signature']);
    const cert = cms.certificates[0];
    expect(signedBy(cert, cert)).toBe(true);
    expect(coldCacheProbe(probe)).toEqual(['certificate', 'key', 'signature', 'chain link']);
    // Another signer stays unseen.
    const other = fresh();
    expect(coldCacheProbe({ ...other, issuerSha256: s.certSha256 })).toEqual([]);
  });
});
