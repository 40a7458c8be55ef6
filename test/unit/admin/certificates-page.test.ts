import { describe, expect, it } from '@jest/globals';
import { certificatesPage, type CertPage } from '../../../src/web/admin/views/certificate-pages.js';
import type { Frame } from '../../../src/web/admin/views/admin-layout.js';

/** The console's registry page: "more than N" beyond the count limit, keyset links (docs/ca.md, "Registry search"). */
const frame = (lang: 'vi' | 'en'): Frame => ({ lang, officer: 'canbo', high: true, csrf: 'c', nav: ['certificates'], current: 'certificates', selfHref: '/admin/certificates', logoutHref: '/logout' });
const page = (p: Partial<CertPage>): CertPage => ({ filters: { q: 'nguyen' }, profiles: [], rows: [], total: 3, totalExact: true, nextCursor: null, ...p });

describe('the console registry page', () => {
  it('shows an exact count, or "more than" the limit', () => {
    expect(certificatesPage(frame('vi'), page({}))).toContain('3 kết quả');
    expect(certificatesPage(frame('vi'), page({ total: 1000, totalExact: false }))).toContain('hơn 1000 kết quả');
    expect(certificatesPage(frame('en'), page({ total: 1000, totalExact: false }))).toContain('more than 1000 results');
  });

  it('links the next page by cursor with the filters, and the first page once past it', () => {
    const first = certificatesPage(frame('en'), page({ nextCursor: 'abc_-1' }));
    expect(first).toContain('href="/admin/certificates?q=nguyen&amp;cursor=abc_-1" rel="next"');
    expect(first).not.toContain('First page');
    const second = certificatesPage(frame('en'), page({ cursor: 'abc_-1', nextCursor: null }));
    expect(second).toContain('href="/admin/certificates?q=nguyen">First page');
    expect(second).not.toContain('rel="next"');
  });
});
