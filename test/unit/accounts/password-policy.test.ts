import { describe, expect, it } from '@jest/globals';
import { passwordProblem } from '../../../src/accounts/password.js';

describe('password policy', () => {
  const account = { username: 'nguyenvana', nationalId: '094199012345' };

  it('refuses the most common passwords whatever their case, and accepts an uncommon one', () => {
    for (const p of ['1234567890', 'qwertyuiop', 'PASSWORD123', 'Basketball']) {
      expect(passwordProblem(p)).toBe('the password is one of the most common passwords');
    }
    expect(passwordProblem('mưa-chiều-bến-ninh-kiều')).toBeNull();
  });

  it('refuses short, one repeated character, the username and the national ID', () => {
    expect(passwordProblem('ngắn-quá')).toMatch(/at least 10/);
    expect(passwordProblem('aaaaaaaaaaaa')).toMatch(/repeat one character/);
    expect(passwordProblem('NguyenVanA-2026!', account)).toMatch(/username/);
    expect(passwordProblem('x094199012345y', account)).toMatch(/national ID/);
    expect(passwordProblem('x094199012345y')).toBeNull();
  });
});
