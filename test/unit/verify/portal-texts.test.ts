import '../../../src/web/api/openapi-registry.js';
import { describe, expect, it } from '@jest/globals';
import { INDICATIONS, SUB_INDICATIONS } from '../../../src/validation/indications.js';
import { INDICATION_TEXTS, SUB_INDICATION_TEXTS, verdictText } from '../../../src/web/verify/verdict-texts.js';
import { PORTAL_MESSAGES } from '../../../src/web/verify/verify-messages.js';
import { UploadRateLimit } from '../../../src/web/verify/upload-rate-limit.js';
import { uploadKind } from '../../../src/web/verify/verify-router.js';
import { pdfText } from '../../../src/validation/report-pdf.js';

describe('the verdict table (docs/verify.md)', () => {
  it('has a distinct plain-words text for every indication and sub-indication the validator emits, in vi and en', () => {
    for (const lang of ['vi', 'en'] as const) {
      for (const i of INDICATIONS) expect(INDICATION_TEXTS[lang][i]).toMatch(/\S/);
      const texts = SUB_INDICATIONS.map((s) => SUB_INDICATION_TEXTS[lang][s]);
      for (const text of texts) expect(text).toMatch(/\S{3}/);
      expect(new Set(texts).size).toBe(SUB_INDICATIONS.length);
      expect(Object.keys(SUB_INDICATION_TEXTS[lang]).sort()).toEqual([...SUB_INDICATIONS].sort());
    }
    expect(verdictText('en', 'INDETERMINATE', 'REVOKED_NO_POE')).toEqual({ title: 'No conclusion can be drawn', explanation: 'The certificate has been revoked and nothing proves the signature was made before.' });
  });

  it('every portal text exists in both languages', () => {
    expect(Object.keys(PORTAL_MESSAGES.en).sort()).toEqual(Object.keys(PORTAL_MESSAGES.vi).sort());
    for (const lang of ['vi', 'en'] as const) for (const v of Object.values(PORTAL_MESSAGES[lang])) expect(v).toMatch(/\S/);
  });
});

describe('uploads', () => {
  it('per-address windows: the limit, Retry-After, other addresses apart, a new window after a minute', () => {
    let now = 0;
    const limit = new UploadRateLimit(2, 60_000, () => now);
    expect(limit.take('a').allowed).toBe(true);
    expect(limit.take('a').allowed).toBe(true);
    now = 15_000;
    expect(limit.take('a')).toEqual({ allowed: false, retryAfterSeconds: 45 });
    expect(limit.take('b').allowed).toBe(true);
    now = 60_000;
    expect(limit.take('a').allowed).toBe(true);
  });

  it('remembers at most maxAddresses addresses', () => {
    const limit = new UploadRateLimit(1, 60_000, () => 0, 3);
    for (const a of ['a', 'b', 'c', 'd']) expect(limit.take(a).allowed).toBe(true);
    expect(limit.take('a').allowed).toBe(true); // forgotten, so a fresh window: a bounded map, not a quota
  });

  it('the kind by content: PDF, XML (with a BOM), else CMS', () => {
    expect(uploadKind(Buffer.from('%PDF-1.7\n'))).toBe('pdf');
    expect(uploadKind(Buffer.from('\ufeff<?xml version="1.0"?><HDon/>'))).toBe('xml');
    expect(uploadKind(Buffer.from('  <HDon/>'))).toBe('xml');
    expect(uploadKind(Buffer.from([0x30, 0x82, 0x01, 0x00]))).toBe('cms');
  });

  it('report text: Vietnamese marks dropped, PDF string delimiters escaped', () => {
    expect(pdfText('Đỗ Văn (Bình) \\')).toBe('Do Van \\(Binh\\) \\\\');
  });
});
