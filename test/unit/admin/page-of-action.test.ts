import { describe, expect, it } from '@jest/globals';
import { pageOfAction } from '../../../src/web/admin/admin-router.js';
import { ADMIN_MESSAGES } from '../../../src/web/admin/admin-messages.js';

describe('administration console', () => {
  it('a refused form links back to the page it is on, not to the action', () => {
    expect(pageOfAction('/admin/certificates/04ab/revoke')).toBe('/admin/certificates/04ab');
    expect(pageOfAction('/admin/certificates/04ab/release')).toBe('/admin/certificates/04ab');
    expect(pageOfAction('/admin/requests/1b4e28ba-2fa1-11d2-883f-0016d3cca427/approve')).toBe('/admin/requests/1b4e28ba-2fa1-11d2-883f-0016d3cca427');
    expect(pageOfAction('/admin/requests')).toBe('/admin/requests');
    expect(pageOfAction('/admin/accounts/1b4e28ba-2fa1-11d2-883f-0016d3cca427/passkeys/9f/delete')).toBe('/admin/accounts/1b4e28ba-2fa1-11d2-883f-0016d3cca427');
    expect(pageOfAction('/admin/accounts/1b4e28ba-2fa1-11d2-883f-0016d3cca427/roles')).toBe('/admin/accounts/1b4e28ba-2fa1-11d2-883f-0016d3cca427');
    expect(pageOfAction('/admin/portals/cong-dvc/rotate')).toBe('/admin/portals');
    expect(pageOfAction('/admin/trust/ab12/remove')).toBe('/admin/trust');
  });

  it('every text exists in both languages, with the same placeholders', () => {
    const { vi, en } = ADMIN_MESSAGES;
    expect(Object.keys(en).sort()).toEqual(Object.keys(vi).sort());
    const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(vi) as Array<keyof typeof vi>) {
      expect([key, placeholders(en[key])]).toEqual([key, placeholders(vi[key])]);
      expect(vi[key].trim()).not.toBe('');
    }
  });
});
