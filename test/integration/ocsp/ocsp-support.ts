/** Shared pieces of the OCSP integration tests: leaves issued through the RA, PEM files for the peers, openssl runs. */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Service } from '../../../src/service/service.js';
import { encodePem } from '../../../ca/asn1/der.js';
import { inspectResponse } from '../../unit/ca/ocsp/inspect-response.js';
import { nonceExtension, requestDer } from '../../unit/ca/ocsp/request-builder.js';

export interface Leaf {
  serial: string;
  path: string;
  der: Buffer;
}

export interface OcspFiles {
  dir: string;
  root: string;
  issuing: string;
  issuerId: string;
  write(name: string, data: string | Uint8Array): string;
}

export async function ocspFiles(service: Service): Promise<OcspFiles> {
  const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-ocsp-'));
  const issuers = await service.certificates.ca.issuers();
  const issuing = issuers.find((i) => i.role === 'issuing' && i.status === 'active')!;
  const root = issuers.find((i) => i.id === issuing.parentId)!;
  const write = (name: string, data: string | Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, data);
    return path;
  };
  return {
    dir,
    issuerId: issuing.id,
    root: write('root.pem', encodePem(root.certificate!, 'CERTIFICATE')),
    issuing: write('issuing.pem', encodePem(issuing.certificate!, 'CERTIFICATE')),
    write,
  };
}

let counter = 0;

/** An official's signing certificate: an OpenSSL CSR, submitted by one officer and approved by another. */
export async function issueLeaf(service: Service, files: OcspFiles, name: string): Promise<Leaf> {
  const key = join(files.dir, `${name}.key`);
  const csr = join(files.dir, `${name}.csr`);
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=token'], { stdio: 'ignore' });
  const cccd = `0941870${String(10_000 + ++counter + Math.floor(Math.random() * 80_000)).padStart(5, '0')}`;
  const holder = {
    subject: { C: 'VN', L: 'Sóc Trăng', O: 'SỞ TÀI CHÍNH TỈNH SÓC TRĂNG', OU: ['Phòng Quản lý ngân sách'], CN: 'Nguyễn Thị Ánh Tuyết', UID: [`CCCD:${cccd}`] },
  };
  const { request } = await service.certificates.ra.submit('officer-a', { csr: readFileSync(csr, 'utf8'), profileId: 'official-signing', holder });
  const { issued } = await service.certificates.ra.approve('officer-b', request.id);
  const der = Buffer.from(issued!.der);
  return { serial: issued!.serial, der, path: files.write(`${name}.pem`, encodePem(der, 'CERTIFICATE')) };
}

/** Runs a program without blocking the event loop (the service under test runs in this process). */
export function run(program: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** `openssl ocsp` against the running responder, trusting only the root; extra options come first (-sha256 before -cert). */
export async function opensslQuery(url: string, files: OcspFiles, certs: string[], extra: string[] = []): Promise<string> {
  const args = ['ocsp', ...extra, '-issuer', files.issuing, ...certs.flatMap((c) => ['-cert', c]), '-url', `${url}/ocsp`, '-CAfile', files.root, '-resp_text'];
  return (await run('openssl', args)).output;
}

/** The single certStatus openssl printed for `path`. */
export function statusLine(output: string, path: string): string {
  const line = output.split('\n').find((l) => l.startsWith(`${path}: `));
  return line ? line.slice(path.length + 2).trim() : '(none)';
}

/** The status of the first SingleResponse, read by pkijs (an independent decoder), or `error:N`. */
export function firstStatus(der: Uint8Array): string {
  const r = inspectResponse(der);
  return r.status !== 0 ? `error:${r.status}` : (r.responses[0]?.status ?? 'none');
}

/** DER INTEGER content of a registry serial: a leading 00 keeps one with its top bit set positive. */
export const integerContent = (serial: string): string => (Number.parseInt(serial.slice(0, 2), 16) & 0x80 ? `00${serial}` : serial);

/** An OCSP request for `serial` under the issuer, as a client builds it (SHA-1 CertID, no nonce unless given). */
export function requestFor(issuerDer: Uint8Array, serial: string, options: { nonce?: Uint8Array; hash?: 'sha1' | 'sha256' } = {}): Buffer {
  return requestDer({ certIds: [{ issuerDer, serial: integerContent(serial), hash: options.hash }], extensions: options.nonce ? [nonceExtension(options.nonce)] : undefined });
}
