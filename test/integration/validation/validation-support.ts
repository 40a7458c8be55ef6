import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
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
  /** `-stream`: BER with indefinite lengths (the full parser's input, not the one-pass reader's). */
  stream?: boolean;
  /** Run `openssl cms -sign` under faketime at this UTC time ("2023-06-01 12:00:00"): a backdated signingTime. */
  faketime?: string;
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
  if (o.stream) args.push('-stream');
  if (o.faketime) run('env', ['TZ=UTC', 'faketime', '-f', o.faketime, 'openssl', ...args]);
  else run('openssl', args);
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
  policy: string;
  document: {
    indication: string;
    subIndication: string | null;
    certification: { signature: string; permissions: number } | null;
    changes: Array<{ kind: string; allowed: boolean; signedBy: string[]; afterSignatures: string[]; reason: string | null; objects: string[] }>;
    errors: string[];
  } | null;
  signatures: Array<{
    format: string;
    indication: string;
    subIndication: string | null;
    signer: { name: string; nationalId: string | null } | null;
    validationTimeSource: string;
    poe: { time: string; source: string } | null;
    claimedTimes: { signingTime: string | null; pdfSigningTime: string | null; requestedValidationTime: string | null };
    signedContent: { source: string; length: number | null; sha256: string | null; byteRange: number[] | null };
    counterSignatures: Array<{ indication: string; subIndication: string | null; signer: { name: string } | null; errors: string[] }>;
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

/** A small valid one-page PDF (classic xref table), as a document system would produce. */
export function minimalPdf(text = 'Quyet dinh so 123/QD-UBND'): Buffer {
  const content = Buffer.from(`BT /F1 18 Tf 72 760 Td (${text}) Tj ET`, 'latin1');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${content.length} >>\nstream\n${content.toString('latin1')}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1');
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out = Buffer.concat([out, Buffer.from(`${i + 1} 0 obj\n${o}\nendobj\n`, 'latin1')]);
  });
  const xref = out.length;
  const table = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  return Buffer.concat([out, Buffer.from(`${table}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`, 'latin1')]);
}

/** An NSS database holding the signer's key and certificate (pdfsig signs from NSS), and our root. */
export function nssDatabase(signer: Signer, nick: string, ca: { root: string; issuing: string }): string {
  const dir = tmp('tinnhiem-nss-');
  run('certutil', ['-N', '-d', `sql:${dir}`, '--empty-password']);
  const p12 = join(dir, 'signer.p12');
  run('openssl', ['pkcs12', '-export', '-in', signer.cert, '-inkey', signer.key, '-certfile', ca.issuing, '-name', nick, '-out', p12, '-passout', 'pass:']);
  run('pk12util', ['-i', p12, '-d', `sql:${dir}`, '-W', '']);
  run('certutil', ['-A', '-d', `sql:${dir}`, '-n', 'tinnhiem-root', '-t', 'CT,C,C', '-i', ca.root]);
  return dir;
}

/** `pdfsig -add-signature` (adbe.pkcs7.detached, incremental when the input is already signed). */
export function pdfsigSign(pdf: Buffer, nss: string, nick: string, field: string, reason?: string): Buffer {
  const dir = tmp('tinnhiem-pdfsig-');
  const input = writeFile(dir, 'in.pdf', pdf);
  const output = join(dir, 'out.pdf');
  run('pdfsig', ['-nssdir', `sql:${nss}`, '-add-signature', '-nick', nick, '-new-signature-field-name', field, ...(reason ? ['-reason', reason] : []), input, output]);
  return readFileSync(output);
}

export interface PdfsigVerdict {
  field: string;
  valid: boolean;
  total: boolean;
  line: string;
}

/**
 * pdfsig's own verdict per signature ("Signature is Valid.", "Total document signed"). Run
 * asynchronously: pdfsig asks our OCSP responder (in this very process) about the signer.
 */
export async function pdfsigVerify(pdf: Buffer, nss: string): Promise<PdfsigVerdict[]> {
  const dir = tmp('tinnhiem-pdfsigv-');
  const out = await new Promise<string>((resolve) => {
    execFile('pdfsig', ['-nssdir', `sql:${nss}`, writeFile(dir, 'doc.pdf', pdf)], { timeout: 60_000 }, (_err, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
  return out.split(/^Signature #\d+:/m).slice(1).map((block) => ({
    field: /Signature Field Name: (.*)/.exec(block)?.[1]?.trim() ?? '',
    valid: /Signature Validation: Signature is Valid\./.test(block),
    total: /Total document signed/.test(block) && !/Not total document signed/.test(block),
    line: /Signature Validation: (.*)/.exec(block)?.[1] ?? '',
  }));
}

/**
 * An ETSI.CAdES.detached (PAdES baseline B) signature added as an incremental update: the
 * signature dictionary with a zero-filled /Contents, its ByteRange, then `openssl cms -sign
 * -cades` over exactly those ranges (pdfsig 22.12 cannot make -etsi signatures).
 */
export interface CadesPdfOptions {
  chain?: string;
  subFilter?: 'ETSI.CAdES.detached' | 'adbe.pkcs7.detached';
  /** A forgery: an attached CMS (`openssl cms -sign -nodetach`) over these bytes, or over the signed range itself ('range'). */
  attached?: Buffer | 'range';
  /** Extra entries of the signature dictionary, e.g. a DocMDP /Reference. */
  extra?: string;
  /** The ByteRange stops this many bytes short of the end of the revision. */
  shortBy?: number;
}

export function cadesPdf(base: Buffer, signer: Signer, field: string, options: CadesPdfOptions = {}): Buffer {
  const prevXref = Number(/startxref\s+(\d+)\s+%%EOF\s*$/.exec(base.toString('latin1'))![1]);
  const placeholder = 16_384;
  const objects: Array<[number, string]> = [
    [6, `<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /${options.subFilter ?? 'ETSI.CAdES.detached'} /ByteRange [0 0000000000 0000000000 0000000000] /Contents <${'0'.repeat(placeholder)}> /M (D:${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z) /Reason (PAdES test)${options.extra ?? ''} >>`],
    [7, `<< /Type /Annot /Subtype /Widget /FT /Sig /T (${field}) /V 6 0 R /Rect [0 0 0 0] /F 132 /P 3 0 R >>`],
    [1, '<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [7 0 R] /SigFlags 3 >> >>'],
    [3, '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> /Annots [7 0 R] >>'],
  ];
  let out = Buffer.from(base);
  const offsets = new Map<number, number>();
  for (const [n, body] of objects) {
    offsets.set(n, out.length);
    out = Buffer.concat([out, Buffer.from(`${n} 0 obj\n${body}\nendobj\n`, 'latin1')]);
  }
  const xref = out.length;
  const sorted = [...offsets.keys()].sort((a, b) => a - b);
  const table = `xref\n0 1\n0000000000 65535 f \n${sorted.map((n) => `${n} 1\n${String(offsets.get(n)).padStart(10, '0')} 00000 n \n`).join('')}`;
  out = Buffer.concat([out, Buffer.from(`${table}trailer\n<< /Size 8 /Root 1 0 R /Prev ${prevXref} >>\nstartxref\n${xref}\n%%EOF\n`, 'latin1')]);
  const contentsAt = out.indexOf(`/Contents <${'0'.repeat(16)}`, offsets.get(6)) + '/Contents '.length;
  const gapEnd = contentsAt + placeholder + 2;
  const range = [0, contentsAt, gapEnd, out.length - gapEnd - (options.shortBy ?? 0)];
  const rangeText = `[${range.map((n, i) => (i === 0 ? '0' : String(n).padStart(10, '0'))).join(' ')}]`;
  const rangeAt = out.indexOf('[0 0000000000 0000000000 0000000000]', offsets.get(6));
  out.write(rangeText, rangeAt, 'latin1');
  const signed = Buffer.concat([out.subarray(0, contentsAt), out.subarray(gapEnd, gapEnd + range[3])]);
  const cms = options.attached
    ? opensslSign(signer, options.attached === 'range' ? signed : options.attached, { cades: true, certfile: options.chain })
    : opensslSign(signer, signed, { detached: true, cades: options.subFilter !== 'adbe.pkcs7.detached', certfile: options.chain });
  const hex = cms.toString('hex');
  out.write(hex, contentsAt + 1, 'latin1');
  return out;
}

/** A time-stamping unit made by OpenSSL: its own root, a TSA certificate (critical id-kp-timeStamping). */
export function opensslTsa(): { dir: string; root: string } {
  const dir = tmp('tinnhiem-tsa-');
  const p = (n: string) => join(dir, n);
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('root.key'), '-out', p('root.pem'), '-days', '30', '-subj', '/C=VN/CN=TSA Root (test)', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('tsa.key'), '-out', p('tsa.csr'), '-subj', '/C=VN/CN=Test TSA']);
  writeFileSync(p('ext.cnf'), 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n');
  run('openssl', ['x509', '-req', '-in', p('tsa.csr'), '-CA', p('root.pem'), '-CAkey', p('root.key'), '-CAcreateserial', '-out', p('tsa.pem'), '-days', '10', '-extfile', p('ext.cnf')]);
  writeFileSync(p('serial'), '01\n');
  writeFileSync(p('tsa.cnf'), `[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = ${p('serial')}\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\nordering = no\ntsa_name = yes\n`);
  return { dir, root: p('root.pem') };
}

/** Adds an RFC 3161 signature time-stamp (`openssl ts -reply`) over `stamped` (default: the signature value). */
export async function withTimestamp(cms: Buffer, tsa: { dir: string }, stamped?: Buffer): Promise<Buffer> {
  const asn1js = await import('asn1js');
  const pkijs = await import('pkijs');
  const info = new pkijs.ContentInfo({ schema: asn1js.fromBER(cms).result });
  const sd = new pkijs.SignedData({ schema: info.content });
  const signer = sd.signerInfos[0];
  const p = (n: string) => join(tsa.dir, n);
  writeFileSync(p('value.bin'), stamped ?? Buffer.from(signer.signature.valueBlock.valueHexView));
  run('openssl', ['ts', '-query', '-data', p('value.bin'), '-sha256', '-cert', '-out', p('q.tsq')]);
  run('openssl', ['ts', '-reply', '-config', p('tsa.cnf'), '-queryfile', p('q.tsq'), '-signer', p('tsa.pem'), '-inkey', p('tsa.key'), '-token_out', '-out', p('token.der')]);
  const token = asn1js.fromBER(readFileSync(p('token.der'))).result;
  signer.unsignedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 1, attributes: [new pkijs.Attribute({ type: '1.2.840.113549.1.9.16.2.14', values: [token] })] });
  return Buffer.from(new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: sd.toSchema(true) }).toSchema().toBER(false));
}
