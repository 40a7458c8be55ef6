import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestService } from '../../support/test-app.js';
import { officialHolder, run, tmp, writeFile } from '../../support/ca-helpers.js';

export interface Signer {
  key: string;
  cert: string;
  serial: string;
  issuerId: string;
  pem: string;
}

export type SignerKey = 'rsa' | 'ec';

/** A key made by OpenSSL and a certificate for it issued by the test service's own CA. */
export async function issueSigner(t: TestService, dir: string, name: string, key: SignerKey, cccd: string): Promise<Signer> {
  const keyPath = join(dir, `${name}.key`);
  run('openssl', key === 'rsa' ? ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyPath] : ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath]);
  const csr = run('openssl', ['req', '-new', '-key', keyPath, '-subj', '/CN=token', '-utf8']).out;
  const ra = t.service.certificates.ra;
  const submitted = await ra.submit('test:requester', { csr, profileId: 'official-signing', holder: officialHolder(cccd, `Người Ký ${name}`) as never });
  const approved = await ra.approve('test:officer', submitted.request.id);
  const record = await t.service.certificates.ca.certificate(approved.issued!.serial, approved.issued!.issuerId);
  const pem = t.service.certificates.pem(record);
  return { key: keyPath, cert: writeFile(dir, `${name}.pem`, pem), serial: record.serial, issuerId: record.issuerId, pem };
}

export async function caFiles(t: TestService, dir: string): Promise<{ root: string; issuing: string; issuingPem: string }> {
  const issuers = await t.service.certificates.ca.issuers();
  const root = issuers.find((i) => i.role === 'root')!;
  const issuing = issuers.find((i) => i.role === 'issuing')!;
  const issuingPem = (await t.service.certificates.caCertificate(issuing.id)).pem;
  return { root: writeFile(dir, 'root.pem', (await t.service.certificates.caCertificate(root.id)).pem), issuing: writeFile(dir, 'issuing.pem', issuingPem), issuingPem };
}

export interface CmsOptions {
  detached?: boolean;
  noattr?: boolean;
  pss?: boolean;
  md?: 'sha256' | 'sha384' | 'sha1';
  certfile?: string;
  cades?: boolean;
}

/** `openssl cms -sign` over `data`, DER. */
export function opensslSign(signer: Signer, data: Buffer, o: CmsOptions = {}): Buffer {
  const dir = tmp('tinnhiem-cms-');
  const input = writeFile(dir, 'data.bin', data);
  const out = join(dir, 'sig.der');
  const args = ['cms', '-sign', '-binary', '-in', input, '-signer', signer.cert, '-inkey', signer.key, '-outform', 'DER', '-out', out, '-md', o.md ?? 'sha256'];
  if (o.pss) args.push('-keyopt', 'rsa_padding_mode:pss');
  if (!o.detached) args.push('-nodetach');
  if (o.noattr) args.push('-noattr');
  if (o.certfile) args.push('-certfile', o.certfile);
  if (o.cades) args.push('-cades');
  run('openssl', args);
  return readFileSync(out);
}

/**
 * `openssl cms -verify` with our CA hierarchy (root and issuing CA: `cms -verify` in OpenSSL 3.0
 * has no -untrusted, and -certfile only finds signers) as its trust store.
 */
export function opensslVerifies(sig: Buffer, data: Buffer | null, ca: { root: string; issuing: string }): boolean {
  const dir = tmp('tinnhiem-cmsv-');
  const bundle = writeFile(dir, 'ca.pem', Buffer.concat([readFileSync(ca.root), readFileSync(ca.issuing)]));
  const args = ['cms', '-verify', '-binary', '-inform', 'DER', '-in', writeFile(dir, 'sig.der', sig), '-CAfile', bundle, '-out', join(dir, 'out.bin')];
  if (data) args.push('-content', writeFile(dir, 'data.bin', data));
  return run('openssl', args, { allowFailure: true }).code === 0;
}

export const b64 = (b: Buffer | Uint8Array) => Buffer.from(b).toString('base64');

export interface ReportBody {
  indication: string;
  documentType: string;
  signatures: Array<{
    indication: string;
    subIndication: string | null;
    signer: { name: string; nationalId: string | null } | null;
    validationTimeSource: string;
    chain: Array<{ subject: string; trustAnchor: boolean; source: string }>;
    revocation: Array<{ source: string; status: string; revokedAt: string | null }>;
    algorithms: { digest: string | null; signature: string | null; weak: boolean };
    signedAttributes: Record<string, unknown>;
    pdf: Record<string, unknown> | null;
    timestamp: Record<string, unknown> | null;
    errors: string[];
    warnings: string[];
  }>;
}
