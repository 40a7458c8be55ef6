import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePem } from '../../../ca/asn1/der.js';
import { parseName } from '../../../ca/asn1/names.js';
import { describePublicKey } from '../../../ca/asn1/public-key.js';
import { readCertificateDer } from '../../../src/validation/cert-der.js';
import { keyFacts, readNameDer } from '../../../src/validation/name-der.js';

const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-name-der-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sh = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const pemDer = (path: string) => new Uint8Array(decodePem(readFileSync(path, 'utf8'), 'badCertificate')[0].der);

/** describePublicKey's answer in the report's terms (the validator's words before name-der.ts). */
function described(spki: Uint8Array) {
  const key = describePublicKey(spki);
  return { description: key.type === 'rsa' ? `RSA-${key.bits}` : key.type === 'ec' ? `EC ${key.curveName}` : key.algorithm, weak: (key.type === 'rsa' && key.bits < 2048) || (key.type === 'ec' && key.curve === null) };
}

function certificates(): Array<[string, Uint8Array, boolean]> {
  const out: Array<[string, Uint8Array, boolean]> = [];
  const make = (name: string, usual: boolean, key: string[], subject: string, extra: string[] = []) => {
    const file = `${out.length}.pem`;
    sh('req', '-x509', ...key, '-nodes', '-keyout', `${out.length}.key`, '-out', file, '-days', '2', '-utf8', '-subj', subject, ...extra);
    out.push([name, pemDer(join(dir, file)), usual]);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  make('Vietnamese, every attribute our CA issues', true, ec, '/C=VN/ST=Sóc Trăng/L=Phường 1/O=UBND/OU=Văn phòng/OU=Tổ 2/CN=Trần Thị Ngọc Hân/UID=CCCD:094185000091/emailAddress=han@soctrang.gov.vn');
  make('multi-valued RDN, RSA-1024 (weak)', true, ['-newkey', 'rsa:1024'], '/O=UBND/CN=A+UID=B', ['-multivalue-rdn']);
  make('P-384', true, ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], '/CN=P-384');
  make('P-521', true, ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'], '/CN=P-521');
  make('secp256k1 (not ours: weak)', true, ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1'], '/CN=k1');
  make('explicit curve parameters', true, ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-pkeyopt', 'ec_param_enc:explicit'], '/CN=explicit');
  make('Ed25519, serialNumber and title (not ours)', false, ['-newkey', 'ed25519'], '/serialNumber=123/title=Chủ tịch/CN=x');
  make('RSA-PSS key', true, ['-newkey', 'rsa-pss', '-pkeyopt', 'rsa_keygen_bits:2048'], '/CN=pss');
  make('T61String or BMPString (string_mask=default)', false, ec, '/CN=Hân Trăng', ['-utf8', '-config', writeConfig('default')]);
  for (const f of readdirSync(new URL('../../fixtures/vgca/', import.meta.url).pathname).filter((n) => n.endsWith('.pem'))) {
    out.push([f, pemDer(new URL(`../../fixtures/vgca/${f}`, import.meta.url).pathname), true]);
  }
  return out;
}

function writeConfig(mask: string): string {
  const path = join(dir, `${mask}.cnf`);
  execFileSync('sh', ['-c', `printf '[req]\\ndistinguished_name=dn\\nstring_mask=${mask}\\n[dn]\\n' > ${path}`]);
  return path;
}

describe('the Name and key readers (name-der.ts) against parseName and describePublicKey', () => {
  it('read every name and key as before; names outside our attributes and encodings go to parseName', () => {
    let fast = 0;
    for (const [name, der] of certificates()) {
      const { facts } = readCertificateDer(der);
      for (const n of [facts.subject, facts.issuer]) {
        const read = readNameDer(n);
        if (read) {
          fast++;
          expect([name, read]).toEqual([name, parseName(n, 'badCertificate')]);
        }
      }
      expect([name, keyFacts(facts.spki)]).toEqual([name, described(facts.spki)]);
    }
    expect(fast).toBeGreaterThan(10);
  });

  it('leaves T61String and BMPString, unknown attributes and malformed names to parseName', () => {
    const all = certificates();
    for (const [name, der, usual] of all) {
      if (usual) continue;
      const { facts } = readCertificateDer(der);
      expect([name, readNameDer(facts.subject)]).toEqual([name, null]);
    }
    expect(readNameDer(Uint8Array.of(0x30, 0x03, 0x31, 0x01, 0x00))).toBeNull();
    expect(readNameDer(Uint8Array.of(0x30, 0x80, 0x00, 0x00))).toBeNull();
    // Invalid UTF-8 in a UTF8String.
    expect(readNameDer(Uint8Array.of(0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 0xff))).toBeNull();
    expect(readNameDer(Uint8Array.of(0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 0x41))).toEqual(parseName(Uint8Array.of(0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 0x41)));
  });
});
