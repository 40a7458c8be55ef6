import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { run, tmp, writeFile } from '../../support/ca-helpers.js';
import { opensslSign, type Signer } from './validation-support.js';

const signedDataOf = (cms: Buffer) => new pkijs.SignedData({ schema: new pkijs.ContentInfo({ schema: asn1js.fromBER(cms).result }).content });
const encode = (sd: pkijs.SignedData) => Buffer.from(new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: sd.toSchema(true) }).toSchema().toBER(false));

/** The first SignerInfo's signature value (what a signature time-stamp or a countersignature covers). */
export const signatureValueOf = (cms: Buffer): Buffer => Buffer.from(signedDataOf(cms).signerInfos[0].signature.valueBlock.valueHexView);

/** An RFC 3161 token from `openssl ts -reply` over `value` (optionally under faketime). */
export function timestampToken(value: Buffer, tsa: { dir: string }, faketime?: string): Buffer {
  const p = (n: string) => join(tsa.dir, n);
  writeFileSync(p('value.bin'), value);
  run('openssl', ['ts', '-query', '-data', p('value.bin'), '-sha256', '-cert', '-out', p('q.tsq')]);
  const reply = ['ts', '-reply', '-config', p('tsa.cnf'), '-queryfile', p('q.tsq'), '-signer', p('tsa.pem'), '-inkey', p('tsa.key'), '-token_out', '-out', p('token.der')];
  if (faketime) run('env', ['TZ=UTC', 'faketime', '-f', faketime, 'openssl', ...reply]);
  else run('openssl', reply);
  return readFileSync(p('token.der'));
}

/**
 * RFC 5652 §11.4 countersignature made by OpenSSL: `openssl cms -sign -noattr` over the parent's
 * signature value (no signed attributes, so no contentType), its SignerInfo added as the
 * parent's unsigned countersignature attribute, the countersigner's certificate embedded.
 */
export function withCounterSignature(cms: Buffer, counter: Signer, tamper = false): Buffer {
  const counterCms = opensslSign(counter, signatureValueOf(cms), { detached: true, noattr: true });
  const counterSd = signedDataOf(counterCms);
  const info = counterSd.signerInfos[0];
  if (tamper) {
    const sig = Buffer.from(info.signature.valueBlock.valueHexView);
    sig[sig.length - 5] ^= 0xff;
    info.signature = new asn1js.OctetString({ valueHex: sig });
  }
  const sd = signedDataOf(cms);
  sd.signerInfos[0].unsignedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 1, attributes: [new pkijs.Attribute({ type: '1.2.840.113549.1.9.6', values: [info.toSchema()] })] });
  sd.certificates = [...(sd.certificates ?? []), ...(counterSd.certificates ?? [])];
  return encode(sd);
}

/** A root and a leaf made by OpenSSL under faketime: a certificate that was valid only in the past. */
export function pastCertificate(rootAt: string, leafAt: string, leafDays: number): { root: string; signer: Signer } {
  const dir = tmp('tinnhiem-past-');
  const p = (n: string) => join(dir, n);
  const ft = (args: string[]) => run('env', ['TZ=UTC', 'faketime', ...args]);
  ft([rootAt, 'openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('root.key'), '-out', p('root.pem'), '-days', '7300', '-subj', '/C=VN/O=Past/CN=Past Root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('leaf.key'), '-out', p('leaf.csr'), '-subj', '/C=VN/CN=Nguoi Ky Cu']);
  writeFile(dir, 'ext.cnf', 'keyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=emailProtection\n');
  ft([leafAt, 'openssl', 'x509', '-req', '-in', p('leaf.csr'), '-CA', p('root.pem'), '-CAkey', p('root.key'), '-CAcreateserial', '-out', p('leaf.pem'), '-days', String(leafDays), '-extfile', p('ext.cnf')]);
  return { root: p('root.pem'), signer: { key: p('leaf.key'), cert: p('leaf.pem'), serial: '', issuerId: '', pem: readFileSync(p('leaf.pem'), 'utf8') } };
}

/** An incremental update (ISO 32000-1 §7.5.6) appending `objects` to `pdf`, with a classic xref section. */
export function appendUpdate(pdf: Buffer, objects: Array<[number, string]>, size: number): Buffer {
  const prev = Number(/startxref\s+(\d+)\s+%%EOF\s*$/.exec(pdf.toString('latin1'))![1]);
  let out = Buffer.from(pdf);
  if (out[out.length - 1] !== 0x0a) out = Buffer.concat([out, Buffer.from('\n')]);
  const offsets: Array<[number, number]> = [];
  for (const [n, body] of objects) {
    offsets.push([n, out.length]);
    out = Buffer.concat([out, Buffer.from(`${n} 0 obj\n${body}\nendobj\n`, 'latin1')]);
  }
  const xref = out.length;
  const table = `xref\n0 1\n0000000000 65535 f \n${offsets.sort((a, b) => a[0] - b[0]).map(([n, o]) => `${n} 1\n${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  // The root is object 1 in the fixtures (minimalPdf, cadesPdf, pdfsig keep it).
  return Buffer.concat([out, Buffer.from(`${table}trailer\n<< /Size ${size} /Root 1 0 R /Prev ${prev} >>\nstartxref\n${xref}\n%%EOF\n`, 'latin1')]);
}

/** `qpdf --check`: the file is a readable PDF (0: clean, 3: warnings only). */
export function qpdfReadable(pdf: Buffer): boolean {
  const file = writeFile(tmp('tinnhiem-qpdf-'), 'doc.pdf', pdf);
  const code = run('qpdf', ['--check', file], { allowFailure: true }).code;
  return code === 0 || code === 3;
}

/** `qpdf --show-object=N --filtered-stream-data`: what a reader sees in object N now. */
export function qpdfObject(pdf: Buffer, object: string, stream = false): string {
  const file = writeFile(tmp('tinnhiem-qpdf-'), 'doc.pdf', pdf);
  return run('qpdf', [`--show-object=${object}`, ...(stream ? ['--filtered-stream-data'] : []), file], { allowFailure: true }).out;
}
