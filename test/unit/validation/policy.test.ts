import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { loadCert } from '../../../src/validation/cert.js';
import { cryptoConstraints, POLICIES } from '../../../src/validation/policy.js';
import { describeWithProgram } from '../../support/system-tools.js';

/** A self-signed certificate made by OpenSSL with the given RSA size and digest. */
function opensslCert(bits: number, md: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-policy-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', `rsa:${bits}`, `-${md}`, '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=policy test', '-days', '2'], { stdio: 'pipe' });
  return loadCert(readFileSync(join(dir, 'c.pem')));
}

describeWithProgram('openssl', 'openssl')('validation policies', () => {
  it('default: an RSA-1024 signer is CRYPTO_CONSTRAINTS_FAILURE_NO_POE unless a POE predates the sunset; legacy warns', () => {
    const weak = opensslCert(1024, 'sha256');
    const check = { digest: 'sha256' as const, signatureAlgorithm: 'sha256WithRSAEncryption' };
    expect(cryptoConstraints(POLICIES.default, check, weak, null, null)).toMatchObject({ verdict: { indication: 'INDETERMINATE', subIndication: 'CRYPTO_CONSTRAINTS_FAILURE_NO_POE' } });
    const proven = cryptoConstraints(POLICIES.default, check, weak, null, new Date('2015-06-01T00:00:00Z'));
    expect(proven.verdict).toBeNull();
    expect(proven.warnings.join(' ')).toMatch(/RSA-1024.*a time-stamp proves/);
    expect(cryptoConstraints(POLICIES.default, check, weak, null, new Date('2017-01-01T00:00:00Z')).verdict?.subIndication).toBe('CRYPTO_CONSTRAINTS_FAILURE_NO_POE');
    expect(cryptoConstraints(POLICIES.legacy, check, weak, null, null)).toMatchObject({ verdict: null, warnings: [expect.stringMatching(/RSA-1024: weak/)] });
  });

  it('default: SHA-1 in the signature or in a CA certificate of the chain (not the anchor) counts', () => {
    const good = opensslCert(2048, 'sha256');
    const sha1Ca = opensslCert(2048, 'sha1');
    const check = { digest: 'sha256' as const, signatureAlgorithm: 'sha256WithRSAEncryption' };
    expect(cryptoConstraints(POLICIES.default, check, good, null, null).verdict).toBeNull();
    expect(cryptoConstraints(POLICIES.default, { digest: 'sha1', signatureAlgorithm: 'sha1WithRSAEncryption' }, good, null, null).verdict?.subIndication).toBe('CRYPTO_CONSTRAINTS_FAILURE_NO_POE');
    const path = [{ cert: good, source: 'signature' as const, anchor: false }, { cert: sha1Ca, source: 'trust-store' as const, anchor: false }, { cert: good, source: 'trust-store' as const, anchor: true }];
    expect(cryptoConstraints(POLICIES.default, check, good, path, null).errors.join(' ')).toMatch(/CA certificate "CN=policy test" is signed with SHA-1/);
    const anchored = [{ cert: good, source: 'signature' as const, anchor: false }, { cert: sha1Ca, source: 'trust-store' as const, anchor: true }];
    expect(cryptoConstraints(POLICIES.default, check, good, anchored, null).verdict).toBeNull();
  });
});

describe('policy names', () => {
  it('every named policy describes itself', () => {
    for (const p of Object.values(POLICIES)) expect(p.description.length).toBeGreaterThan(20);
  });
});
