import { describe, expect, it } from '@jest/globals';
import { dashboardPage, type DashboardData } from '../../../src/web/admin/views/dashboard-page.js';
import type { Frame } from '../../../src/web/admin/views/admin-layout.js';

/** The console's dashboard: "expiring within N days" counted as the registry page counts (docs/ca.md, "Registry search"). */
const frame = (lang: 'vi' | 'en'): Frame => ({ lang, officer: 'canbo', high: true, csrf: 'c', nav: ['dashboard'], current: 'dashboard', selfHref: '/admin', logoutHref: '/logout' });
const data = (expiring: DashboardData['expiring']): DashboardData => ({ byStatus: {}, byProfile: [], expiring, pending: [], recent: [], canApprove: false });

describe('the console dashboard', () => {
  it('shows an exact count of expiring certificates, or "more than" the count limit', () => {
    const expiring = [
      { days: 30, count: 42, exact: true },
      { days: 90, count: 1000, exact: false },
    ];
    const cell = (html: string, days: number) => new RegExp(`expiresWithinDays=${days}">[^<]*</a></td><td class="num">([^<]*)</td>`).exec(html)?.[1];
    const en = dashboardPage(frame('en'), data(expiring));
    expect(cell(en, 30)).toBe('42');
    expect(cell(en, 90)).toBe('more than 1000');
    expect(cell(dashboardPage(frame('vi'), data(expiring)), 90)).toBe('hơn 1000');
  });
});
