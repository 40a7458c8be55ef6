/** Shared fixtures for the CA unit tests: a throw-away key store, a root and an issuing CA, CSRs made by OpenSSL. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePem } from '../../../ca/asn1/der.js';
import type { SubjectFields } from '../../../ca/asn1/names.js';
import { createIssuingCertificate, createRootCertificate } from '../../../ca/issuance/ca-certificates.js';
import type { Issuer } from '../../../ca/issuance/issuer.js';
import { newSerial } from '../../../ca/issuance/serial.js';
import { FileKeyStore } from '../../../ca/keys/file-key-store.js';
import type { KeySpec, SigningKey } from '../../../ca/keys/key-store.js';
import { getProfile, loadProfiles, withOperatorSettings, type Profile, type Profiles } from '../../../ca/profiles/profile.js';

export const publicUrl = 'https://pki.soctrang.gov.vn';
/** Fixed times: the code under test never reads the clock. */
export const t0 = new Date('2025-07-01T08:00:00.000Z');

export function tempDir(prefix = 'tinnhiem-ca-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function keyStore(directory = join(tempDir(), 'keys')): FileKeyStore {
  // 1,000 PBKDF2 rounds keep the tests fast; the default is 600,000.
  return new FileKeyStore({ directory, passphrase: 'mật khẩu thử nghiệm dài', kdfIterations: 1000 });
}

export const caSubject = (cn: string): SubjectFields => ({ C: 'VN', O: 'Ủy ban nhân dân tỉnh Sóc Trăng', CN: cn });

export const officialSubject: SubjectFields = {
  C: 'VN',
  L: 'Sóc Trăng',
  O: 'Sở Thông tin và Truyền thông tỉnh Sóc Trăng',
  OU: ['Phòng Công nghệ thông tin'],
  CN: 'Nguyễn Thị Ánh Tuyết',
  UID: ['CCCD:094187001234', 'MST:0300588569'],
  E: 'ntatuyet@soctrang.gov.vn',
};

export const sealSubject: SubjectFields = {
  C: 'VN',
  L: 'Sóc Trăng',
  O: 'Ủy ban nhân dân tỉnh Sóc Trăng',
  CN: 'Văn phòng Ủy ban nhân dân tỉnh Sóc Trăng',
  UID: ['MNS:1234567', 'MST:0100109106'],
};

export interface Hierarchy {
  profiles: Profiles;
  profile(id: string): Profile;
  store: FileKeyStore;
  rootKey: SigningKey;
  root: Issuer;
  issuingKey: SigningKey;
  issuing: Issuer;
}

export interface HierarchyOptions {
  rootSpec?: KeySpec;
  issuingSpec?: KeySpec;
  /** Peer tests pass the real time: OpenSSL and GnuTLS check validity against their own clock. */
  now?: Date;
  /** CA_ISSUING_NAME_CONSTRAINTS: the issuing CA permits only the profiles' DNS zones. */
  issuingNameConstraints?: boolean;
}

export async function makeHierarchy({ rootSpec = { type: 'ec', curve: 'P-384' }, issuingSpec = { type: 'ec', curve: 'P-256' }, now = t0, issuingNameConstraints = false }: HierarchyOptions = {}): Promise<Hierarchy> {
  // The demo province's zone, as `serve --dev` configures it (docs/ca.md, "Name policy").
  const profiles = withOperatorSettings(await loadProfiles(), { dnsSuffixes: { 'tls-server': ['soctrang.gov.vn'] }, issuingNameConstraints });
  const store = keyStore();
  const rootKey = await store.generate(rootSpec, 'root');
  const root = await createRootCertificate({
    id: 'root',
    key: rootKey,
    subject: caSubject('Sóc Trăng Root CA'),
    profile: getProfile(profiles, 'root-ca'),
    now,
    serial: newSerial(),
    publicUrl,
  });
  const issuingKey = await store.generate(issuingSpec, 'issuing-1');
  const issuing = await createIssuingCertificate({
    id: 'issuing-1',
    key: issuingKey,
    subject: caSubject('Sóc Trăng Issuing CA 1'),
    profile: getProfile(profiles, 'issuing-ca'),
    parent: root.issuer,
    parentKey: rootKey,
    now,
    serial: newSerial(),
    publicUrl,
  });
  return { profiles, profile: (id) => getProfile(profiles, id), store, rootKey, root: root.issuer, issuingKey, issuing: issuing.issuer };
}

/** Runs a program; returns stdout (stderr folded in), throwing with its output on failure. */
export function run(program: string, args: string[], options: { input?: string } = {}): string {
  try {
    return execFileSync(program, args, { encoding: 'utf8', input: options.input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${program} ${args.join(' ')} failed: ${e.stdout ?? ''}${e.stderr ?? e.message}`, { cause: error });
  }
}

/** A CSR made by OpenSSL (`req -new -newkey <newkey>`), PEM. `extra` adds options such as `-addext`. */
export function opensslCsr(newkey: string[], subject = '/CN=test', extra: string[] = []): string {
  const dir = tempDir('tinnhiem-csr-');
  const [algorithm, ...options] = newkey;
  run('openssl', ['genpkey', '-algorithm', algorithm, ...options.flatMap((o) => ['-pkeyopt', o]), '-out', join(dir, 'key.pem')]);
  run('openssl', ['req', '-new', '-key', join(dir, 'key.pem'), '-subj', subject, '-utf8', ...extra, '-out', join(dir, 'csr.pem')]);
  return readFileSync(join(dir, 'csr.pem'), 'utf8');
}

export function writePem(dir: string, name: string, der: Uint8Array, label = 'CERTIFICATE'): string {
  const path = join(dir, name);
  writeFileSync(path, encodePem(der, label));
  return path;
}
