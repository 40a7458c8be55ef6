import { execFileSync } from 'node:child_process';
import type { HolderData } from '../../ca/issuance/request.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pkijs from 'pkijs';
import { hexFromInteger } from '../../ca/asn1/der.js';
import type { TestService } from './test-app.js';

export const tmp = (prefix = 'tinnhiem-ca-test-') => mkdtempSync(join(tmpdir(), prefix));

export function run(program: string, args: string[], options: { input?: string | Buffer; allowFailure?: boolean } = {}): { code: number; out: string } {
  try {
    const out = execFileSync(program, args, { input: options.input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
    return { code: 0, out };
  } catch (err) {
    const e = err as { status: number; stdout?: Buffer; stderr?: Buffer };
    if (!options.allowFailure) throw new Error(`${program} ${args.join(' ')} failed:\n${e.stderr?.toString()}${e.stdout?.toString()}`, { cause: err });
    return { code: e.status, out: `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}` };
  }
}

export type KeyKind = 'ec-p256' | 'ec-secp256k1' | 'rsa-2048' | 'rsa-1024';

/** A CSR made by OpenSSL (as a holder's token tool would), PEM. */
export function opensslCsr(kind: KeyKind = 'ec-p256', subject = '/CN=token'): string {
  const dir = tmp('tinnhiem-csr-');
  const key = join(dir, 'key.pem');
  const args: Record<KeyKind, string[]> = {
    'ec-p256': ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key],
    'ec-secp256k1': ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1', '-out', key],
    'rsa-2048': ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key],
    'rsa-1024': ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', key],
  };
  run('openssl', args[kind]);
  run('openssl', ['req', '-new', '-key', key, '-subj', subject, '-utf8', '-out', join(dir, 'csr.pem')]);
  return readFileSync(join(dir, 'csr.pem'), 'utf8');
}

export const officialHolder = (cccd: string, name = 'Nguyễn Thị Ánh Tuyết'): HolderData => ({
  subject: { C: 'VN', L: 'Sóc Trăng', O: 'SỞ TÀI CHÍNH TỈNH SÓC TRĂNG', OU: ['Phòng Quản lý ngân sách'], CN: name, UID: [`CCCD:${cccd}`] },
  emails: ['ntatuyet@soctrang.gov.vn'],
});

export const sealHolder: HolderData = {
  subject: { C: 'VN', L: 'Sóc Trăng', O: 'ỦY BAN NHÂN DÂN TỈNH SÓC TRĂNG', CN: 'SỞ TÀI CHÍNH TỈNH SÓC TRĂNG', UID: ['MST:2200100076'] },
};

export const tlsHolder = (host: string): HolderData => ({ subject: { C: 'VN', O: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG TỈNH SÓC TRĂNG', CN: host }, dnsNames: [host] });

/** Registers a machine client with `scopes` and returns a function that calls the API with its token. */
export async function apiClient(t: TestService, clientId: string, scopes: string[]) {
  const { secret } = await t.service.clients.add('test', { clientId, name: clientId, grantTypes: ['client_credentials'], authMethod: 'client_secret_basic', scopes });
  const res = await fetch(`${t.url}/oidc/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: scopes.join(' ') }),
  });
  const body = (await res.json()) as { access_token: string };
  if (!body.access_token) throw new Error(`no token for ${clientId}: ${JSON.stringify(body)}`);
  const call = async (method: string, path: string, json?: unknown): Promise<{ status: number; body: unknown; headers: Headers; raw: Buffer }> => {
    const r = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${body.access_token}`, ...(json !== undefined && { 'content-type': 'application/json' }) },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    const raw = Buffer.from(await r.arrayBuffer());
    const type = r.headers.get('content-type') ?? '';
    return { status: r.status, headers: r.headers, raw, body: /json/.test(type) ? JSON.parse(raw.toString('utf8')) : raw };
  };
  return { call, token: body.access_token };
}

export function writeFile(dir: string, name: string, data: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

/** The serials a CRL lists, as the registry writes them (canonical lower-case hex). */
export function crlSerials(der: Uint8Array): string[] {
  const crl = pkijs.CertificateRevocationList.fromBER(Uint8Array.from(der));
  return (crl.revokedCertificates ?? []).map((r) => hexFromInteger(r.userCertificate.valueBlock.valueHexView));
}
