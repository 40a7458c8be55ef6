/**
 * The validation report as a PDF signed by the service (docs/verify.md): a small PDF writer (text
 * pages in Helvetica, one signature field) and a PAdES baseline B signature over its ByteRange
 * (ISO 32000-1 §12.8.1; ETSI EN 319 142-1 §6.3: SubFilter ETSI.CAdES.detached, a detached CMS
 * with contentType, messageDigest and signingCertificateV2, SHA-256, no signingTime: /M says
 * when). The PDF is built whole in memory; nothing is written anywhere.
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

/** The key and certificates that sign reports (the CA's validation-report signer). */
export interface ReportSigningKey {
  privateKey: CryptoKey;
  crypto: Crypto;
  /** The signer's certificate (DER) first, then its issuing CA's. */
  certificates: Uint8Array[];
}

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
};

/** Standard 14 fonts speak WinAnsi: Vietnamese letters are written without their marks (đ as d). */
export function pdfText(text: string): string {
  const plain = text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd').replace(/Đ/g, 'D');
  return plain.replace(/[^\x20-\x7e]/g, '?').replace(/[\\()]/g, (c) => `\\${c}`);
}

function wrap(line: string, width = 95): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > width) {
    const cut = rest.lastIndexOf(' ', width) > 20 ? rest.lastIndexOf(' ', width) : width;
    out.push(rest.slice(0, cut));
    rest = `    ${rest.slice(cut).trimStart()}`;
  }
  out.push(rest);
  return out;
}

const LINES_PER_PAGE = 60;
const PLACEHOLDER_BYTES = 12_288;

/** PDF date (ISO 32000-1 §7.9.4) in UTC. */
const pdfDate = (d: Date) => `D:${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

/** The unsigned PDF: pages of text, a signature field whose /Contents is a zero placeholder. */
function layoutPdf(title: string, lines: string[], at: Date): { pdf: Buffer; contentsAt: number } {
  const wrapped = lines.flatMap((l) => wrap(l));
  const pages: string[][] = [];
  for (let i = 0; i < wrapped.length || pages.length === 0; i += LINES_PER_PAGE) pages.push(wrapped.slice(i, i + LINES_PER_PAGE));
  // 1 catalog, 2 pages, 3 font, 4 widget, 5 signature, then a page and its content per page.
  const pageIds = pages.map((_, i) => 6 + i * 2);
  const objects = new Map<number, string>();
  objects.set(1, '<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 >> >>');
  objects.set(2, `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`);
  objects.set(3, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  objects.set(4, `<< /Type /Annot /Subtype /Widget /FT /Sig /T (report) /V 5 0 R /Rect [0 0 0 0] /F 132 /P ${pageIds[0]} 0 R >>`);
  objects.set(5, `<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 0000000000 0000000000 0000000000] /Contents <${'0'.repeat(PLACEHOLDER_BYTES * 2)}> /M (${pdfDate(at)}) /Reason (${pdfText(title)}) >>`);
  pages.forEach((pageLines, i) => {
    const text = pageLines.map((l, j) => `${j === 0 ? '' : '0 -12 Td '}(${pdfText(l)}) Tj`).join('\n');
    const stream = `BT /F1 9 Tf 40 800 Td\n${text}\nET`;
    objects.set(pageIds[i], `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents ${pageIds[i] + 1} 0 R /Resources << /Font << /F1 3 0 R >> >>${i === 0 ? ' /Annots [4 0 R]' : ''} >>`);
    objects.set(pageIds[i] + 1, `<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`);
  });
  let pdf = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1');
  const offsets: number[] = [];
  const count = objects.size;
  for (let n = 1; n <= count; n++) {
    offsets[n] = pdf.length;
    pdf = Buffer.concat([pdf, Buffer.from(`${n} 0 obj\n${objects.get(n)}\nendobj\n`, 'latin1')]);
  }
  const xref = pdf.length;
  const table = `xref\n0 ${count + 1}\n0000000000 65535 f \n${offsets.slice(1).map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  const id = createHash('sha256').update(pdf).digest('hex').slice(0, 32);
  pdf = Buffer.concat([pdf, Buffer.from(`${table}trailer\n<< /Size ${count + 1} /Root 1 0 R /ID [<${id}> <${id}>] >>\nstartxref\n${xref}\n%%EOF\n`, 'latin1')]);
  const contentsAt = pdf.indexOf(`/Contents <${'0'.repeat(16)}`, offsets[5]) + '/Contents '.length;
  return { pdf, contentsAt };
}

/** A detached CMS SignedData over `data` (CAdES: contentType, messageDigest, signingCertificateV2; SHA-256). */
export async function detachedCades(data: Uint8Array, key: ReportSigningKey): Promise<Uint8Array> {
  const engine = new pkijs.CryptoEngine({ name: 'report-signer', crypto: key.crypto, subtle: key.crypto.subtle });
  const certificates = key.certificates.map((der) => pkijs.Certificate.fromBER(new Uint8Array(der)));
  const signer = certificates[0];
  const digest = createHash('sha256').update(data).digest();
  const certHash = createHash('sha256').update(key.certificates[0]).digest();
  // RFC 5035 §5.4.1: ESSCertIDv2 with the default hash (SHA-256) left out.
  const signingCertificateV2 = new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: certHash })] })] })] });
  const signedData = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
    certificates,
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({ issuer: signer.issuer, serialNumber: signer.serialNumber }),
        signedAttrs: new pkijs.SignedAndUnsignedAttributes({
          type: 0,
          attributes: [
            new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
            new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: digest })] }),
            new pkijs.Attribute({ type: OID.signingCertificateV2, values: [signingCertificateV2] }),
          ],
        }),
      }),
    ],
  });
  // Explicit SHA-256: pkijs would default to SHA-1 (docs/architecture.md, convention 7).
  await signedData.sign(key.privateKey, 0, 'SHA-256', new Uint8Array(data), engine);
  return new Uint8Array(new pkijs.ContentInfo({ contentType: OID.signedData, content: signedData.toSchema(true) }).toSchema().toBER());
}

/** The report PDF, signed: `lines` on text pages, the signature over every byte but /Contents. */
export async function signedReportPdf(title: string, lines: string[], at: Date, key: ReportSigningKey): Promise<Buffer> {
  const { pdf, contentsAt } = layoutPdf(title, [title, '', ...lines], at);
  const gapEnd = contentsAt + PLACEHOLDER_BYTES * 2 + 2;
  const range = [0, contentsAt, gapEnd, pdf.length - gapEnd];
  const rangeText = `[${range.map((n, i) => (i === 0 ? '0' : String(n).padStart(10, '0'))).join(' ')}]`;
  pdf.write(rangeText, pdf.indexOf('[0 0000000000 0000000000 0000000000]'), 'latin1');
  const signed = Buffer.concat([pdf.subarray(0, contentsAt), pdf.subarray(gapEnd)]);
  const cms = Buffer.from(await detachedCades(signed, key)).toString('hex');
  if (cms.length > PLACEHOLDER_BYTES * 2) throw new Error(`the report signature (${cms.length / 2} bytes) does not fit its placeholder`);
  pdf.write(cms, contentsAt + 1, 'latin1');
  return pdf;
}
