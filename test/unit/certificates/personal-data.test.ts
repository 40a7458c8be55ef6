import { describe, expect, it } from '@jest/globals';
import { containsIdentifier, maskIdentifiersIn } from '../../../src/certificates/personal-data.js';

/**
 * docs/ca.md, "Personal data": audit details shown without certs:read:pii hide every identifier
 * number, wherever the event keeps it; and a read with the scope is audited exactly when
 * something would have been hidden.
 */
describe('identifiers in audit details', () => {
  it('masks numbers in subjects, in identifier fields and in what someone typed', () => {
    const details = {
      subject: 'UID=CCCD:094185000321,CN=Nguyễn Văn A,O=UBND,C=VN',
      query: { nationalId: '094185000321', taxCode: '2200100076-001', q: 'nguyen 094185000321' },
      login: '094185000321',
      serials: ['5f2a0b1c99d3e4f50000aa11'],
      count: 3,
    };
    const masked = maskIdentifiersIn(details) as typeof details;
    expect(masked).toEqual({
      subject: 'UID=CCCD:********0321,CN=Nguyễn Văn A,O=UBND,C=VN',
      query: { nationalId: '********0321', taxCode: '********-001', q: 'nguyen ********0321' },
      login: '********0321',
      // A serial is not an identifier (nor any field not named as one).
      serials: ['5f2a0b1c99d3e4f50000aa11'],
      count: 3,
    });
    expect(JSON.stringify(masked)).not.toMatch(/094185000321|2200100076/);
    expect(containsIdentifier(details)).toBe(true);
  });

  it('says nothing is shown when nothing would be masked', () => {
    for (const details of [{}, { serials: ['ab12'], reason: 'keyCompromise' }, { login: 'can-bo-010', q: 'ngoc han' }, { subject: 'CN=Sở Tài chính,O=UBND,C=VN' }, null]) {
      expect(containsIdentifier(details)).toBe(false);
      expect(maskIdentifiersIn(details)).toEqual(details);
    }
    expect(containsIdentifier({ events: [{ subject: 'UID=MST:2200100076,CN=Công ty' }] })).toBe(true);
  });
});
