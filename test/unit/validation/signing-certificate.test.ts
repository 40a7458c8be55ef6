import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCert } from '../../../src/validation/cert.js';
import { parseCms } from '../../../src/validation/cms.js';
import { verifySigners } from '../../../src/validation/cms-signers.js';

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * RFC 5035 §5.4: the signingCertificateV2 attribute binds the signature to one certificate by its
 * SHA-256. The signer certificate's own SHA-256 (its identity, hashed once on the way in) is what
 * the attribute is compared with: a second certificate of the same key, issuer and serial (which the
 * SignerIdentifier cannot tell apart) must not pass for the one that was signed.
 */
describe('signingCertificateV2 against the certificate that verifies (RFC 5035)', () => {
  it('matches the certificate signed for, and not another of the same key, issuer and serial', () => {
    const dir = mkdtempSync(join(tmpdir(), 'signing-cert-'));
    try {
      const key = join(dir, 'k.pem');
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
      for (const [name, days] of [['a', '30'], ['b', '60']]) {
        openssl(['req', '-new', '-x509', '-key', key, '-subj', '/CN=Signer', '-set_serial', '7', '-days', days, '-out', join(dir, `${name}.pem`)]);
      }
      writeFileSync(join(dir, 'doc'), 'văn bản');
      openssl(['cms', '-sign', '-binary', '-cades', '-nocerts', '-in', join(dir, 'doc'), '-signer', join(dir, 'a.pem'), '-inkey', key, '-outform', 'DER', '-out', join(dir, 's.der'), '-md', 'sha256']);
      const cms = parseCms(new Uint8Array(readFileSync(join(dir, 's.der'))));
      const data = new Uint8Array(readFileSync(join(dir, 'doc')));
      const [signed] = verifySigners(cms, { data }, [loadCert(readFileSync(join(dir, 'a.pem'), 'utf8'))]);
      expect(signed.signedAttributes.signingCertificate).toBe('match');
      expect(signed.verdict).toBeNull();
      const [other] = verifySigners(cms, { data }, [loadCert(readFileSync(join(dir, 'b.pem'), 'utf8'))]);
      // The signature verifies with b's key (the same key): only the attribute tells the two apart.
      expect(other.errors).toContain('the signingCertificate attribute does not identify the certificate that verifies the signature (RFC 5035)');
      expect(other.signedAttributes.signingCertificate).toBe('mismatch');
      expect(other.verdict).toEqual({ indication: 'INDETERMINATE', subIndication: 'NO_SIGNING_CERTIFICATE_FOUND' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
