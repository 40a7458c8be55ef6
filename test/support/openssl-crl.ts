import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * An ECDSA P-256 CA made by OpenSSL in a new folder under `dir`, and its `openssl ca -gencrl` CRL
 * over `count` revoked serials (0x100000 up; every seventh on hold, the rest keyCompromise, all
 * revoked at 2026-12-01 10:10:10 UTC). Returns the CRL's DER, the CA's SubjectPublicKeyInfo and
 * key and certificate files.
 */
export function opensslCrl(dir: string, count: number): { der: Uint8Array; spki: Uint8Array; key: string; cert: string } {
  const ossl = mkdtempSync(join(dir, 'ca-'));
  const sh = (...args: string[]) => execFileSync('openssl', args, { cwd: ossl, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  sh('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/C=VN/O=Nhà cung cấp/CN=CA ngoài', '-days', '30', '-utf8');
  const lines = Array.from({ length: count }, (_, i) => `R\t301231000000Z\t261201101010Z,${i % 7 ? 'keyCompromise' : 'certificateHold'}\t${(0x100000 + i).toString(16).toUpperCase()}\tunknown\t/CN=B${i}`);
  writeFileSync(join(ossl, 'index.txt'), lines.join('\n') + '\n');
  writeFileSync(join(ossl, 'crlnumber'), '1000\n');
  writeFileSync(join(ossl, 'ca.cnf'), '[ ca ]\ndefault_ca = t\n[ t ]\ndir = .\ndatabase = index.txt\ncrlnumber = crlnumber\ncertificate = ca.pem\nprivate_key = ca.key\ndefault_md = sha256\ndefault_crl_hours = 24\ncrl_extensions = ext\n[ ext ]\nauthorityKeyIdentifier = keyid:always\n');
  sh('ca', '-gencrl', '-config', 'ca.cnf', '-out', 'crl.pem');
  return {
    der: new Uint8Array(sh('crl', '-in', 'crl.pem', '-outform', 'DER')),
    spki: new Uint8Array(sh('pkey', '-in', 'ca.key', '-pubout', '-outform', 'DER')),
    key: join(ossl, 'ca.key'),
    cert: join(ossl, 'ca.pem'),
  };
}
