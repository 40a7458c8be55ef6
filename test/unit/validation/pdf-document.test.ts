import { describe, expect, it } from '@jest/globals';
import { extractPdfSignatures } from '../../../src/validation/pdf.js';
import { pdfDocumentReport } from '../../../src/validation/pdf-document.js';
import type { SignatureReport } from '../../../src/validation/report.js';

/**
 * The PDF document verdict on hand-made files (no cryptography: the classification of what
 * follows a signature). The signature's /Contents is zeros; only its ByteRange matters here.
 */
function base(indirectContents = false): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents ${indirectContents ? '7 0 R' : '[4 0 R]'} /Annots 6 0 R >>`,
    '<< /Length 20 >>\nstream\nBT (Quyet dinh) Tj ET\nendstream',
    '<< /Type /Sig /SubFilter /adbe.pkcs7.detached /ByteRange [0 0000000000 0000000000 0000000000] /Contents <' + '0'.repeat(64) + '> >>',
    '[]',
    '[4 0 R]',
  ];
  let out = Buffer.from('%PDF-1.7\n', 'latin1');
  for (const [i, o] of objects.entries()) out = Buffer.concat([out, Buffer.from(`${i + 1} 0 obj\n${o}\nendobj\n`, 'latin1')]);
  out = Buffer.concat([out, Buffer.from('trailer\n<< /Size 8 /Root 1 0 R >>\nstartxref\n0\n%%EOF\n', 'latin1')]);
  const contentsAt = out.indexOf('/Contents <0') + '/Contents '.length;
  const gapEnd = contentsAt + 66;
  const range = `[0 ${String(contentsAt).padStart(10, '0')} ${String(gapEnd).padStart(10, '0')} ${String(out.length - gapEnd).padStart(10, '0')}]`;
  out.write(range, out.indexOf('[0 0000000000'), 'latin1');
  return out;
}

/** Recomputes the ByteRange after the signature dictionary was edited (same layout as base()). */
function rebuildRange(pdf: Buffer): Buffer {
  const contentsAt = pdf.indexOf('/Contents <0') + '/Contents '.length;
  const gapEnd = contentsAt + 66;
  const at = pdf.indexOf('/ByteRange [0 ') + '/ByteRange '.length;
  pdf.write(`[0 ${String(contentsAt).padStart(10, '0')} ${String(gapEnd).padStart(10, '0')} ${String(pdf.length - gapEnd).padStart(10, '0')}]`, at, 'latin1');
  return pdf;
}

const update = (pdf: Buffer, objects: string[]) => Buffer.concat([pdf, Buffer.from(`${objects.join('\n')}\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n`, 'latin1')]);

function documentOf(pdf: Buffer) {
  const extracted = extractPdfSignatures(pdf, { maxSignatures: 10 });
  const sigs = extracted.signatures.filter((s) => !s.documentTimestamp);
  return pdfDocumentReport(pdf, extracted, sigs, sigs.map((_, i) => ({ id: `S${i + 1}` }) as SignatureReport), []);
}

describe('PDF document verdict', () => {
  it('an untouched signed file passes', () => {
    expect(documentOf(base())).toMatchObject({ indication: 'TOTAL_PASSED', changes: [] });
  });

  it('an annotation added through the page\'s indirect /Annots array is allowed', () => {
    const doc = documentOf(update(base(), ['8 0 obj\n<< /Type /Annot /Subtype /Text /Rect [0 0 1 1] >>\nendobj', '6 0 obj\n[8 0 R]\nendobj']));
    expect(doc).toMatchObject({ indication: 'TOTAL_PASSED', changes: [{ kind: 'annotation', allowed: true }] });
  });

  it('a content stream added through the page\'s indirect /Contents array is not (the array grows by something that is no annotation)', () => {
    expect(documentOf(base(true)).indication).toBe('TOTAL_PASSED');
    const doc = documentOf(update(base(true), ['9 0 obj\n<< /Length 20 >>\nstream\nBT (Da huy bo) Tj ET\nendstream\nendobj', '7 0 obj\n[4 0 R 9 0 R]\nendobj']));
    expect(doc).toMatchObject({ indication: 'INDETERMINATE', changes: [{ kind: 'other', allowed: false }] });
    expect(doc.changes[0].objects.join(' ')).toMatch(/7 0 obj: array \(changed otherwise\)/);
  });

  it('a page whose /Annots now lists an existing object (not an annotation of this update) is other', () => {
    const doc = documentOf(update(base(), ['3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [4 0 R] /Annots [4 0 R] >>\nendobj']));
    expect(doc.changes[0]).toMatchObject({ kind: 'other', allowed: false });
    expect(doc.changes[0].objects[0]).toMatch(/references 4 0 that this update does not define/);
  });

  it('a redefined page with new /Contents is other; a forged catalog /Perms too', () => {
    const page = documentOf(update(base(), ['3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [4 0 R 4 0 R] /Annots 6 0 R >>\nendobj']));
    expect(page).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'SIG_CONSTRAINTS_FAILURE', changes: [{ kind: 'other', allowed: false }] });
    const perms = documentOf(update(base(), ['1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Perms << /DocMDP 5 0 R >> >>\nendobj']));
    expect(perms.changes[0]).toMatchObject({ kind: 'other', allowed: false });
  });

  it('FieldMDP: filling a locked field after the signature is forbidden, another field is not', () => {
    const locking = Buffer.from(base().toString('latin1'), 'latin1');
    const withLock = (fields: string) => {
      const pdf = base().toString('latin1').replace('/SubFilter /adbe.pkcs7.detached', `/SubFilter /adbe.pkcs7.detached /Reference [<< /TransformMethod /FieldMDP /TransformParams << /Action /Include /Fields [${fields}] >> >>]`);
      return rebuildRange(Buffer.from(pdf, 'latin1'));
    };
    expect(documentOf(locking).lockedFields).toEqual([]);
    const fill = ['10 0 obj\n<< /FT /Tx /T (so_tien) /V (900000000) >>\nendobj'];
    const locked = documentOf(update(withLock('(so_tien)'), fill));
    expect(locked).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'SIG_CONSTRAINTS_FAILURE', lockedFields: ['so_tien'], changes: [{ kind: 'form-fill', allowed: false }] });
    expect(locked.changes[0].reason).toMatch(/FieldMDP locks/);
    expect(documentOf(update(withLock('(ghi_chu)'), fill))).toMatchObject({ indication: 'TOTAL_PASSED', changes: [{ kind: 'form-fill', allowed: true }] });
  });

  it('thousands of appended revisions: bounded, the rest one unsigned change', () => {
    let pdf = base();
    pdf = Buffer.concat([pdf, Buffer.from('trailer\n<< >>\n%%EOF\n'.repeat(5_000), 'latin1')]);
    const doc = documentOf(pdf);
    expect(doc.changes.length).toBeLessThanOrEqual(100);
    expect(doc.changes.at(-1)).toMatchObject({ kind: 'other', allowed: false, byteRange: [expect.any(Number), pdf.length] });
    expect(doc.indication).toBe('INDETERMINATE');
  });
});
