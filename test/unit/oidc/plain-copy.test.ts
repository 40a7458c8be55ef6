import { describe, expect, it } from '@jest/globals';
import { plainCopy } from '../../../oidc/plain-copy.js';

describe('plainCopy (the request memo’s, held writes’ and client registry’s copies)', () => {
  const payload = {
    iat: 1765000000,
    returnTo: 'http://127.0.0.1/oidc/auth/abc',
    prompt: { name: 'login', reasons: ['no_session'], details: {} },
    lastSubmission: undefined,
    params: { client_id: 'portal', scope: 'openid profile', nested: [[1, 2], { a: null }] },
    result: { login: { accountId: 'a-1', amr: ['hwk', 'user'], remember: true } },
    when: new Date('2026-12-06T00:00:00Z'),
    bytes: Buffer.from('abc'),
    bare: Object.assign(Object.create(null) as object, { k: 'v' }),
  };

  it('copies as structuredClone does', () => {
    expect(plainCopy(payload)).toStrictEqual(structuredClone(payload));
    expect(plainCopy(null)).toBeNull();
    expect(plainCopy('x')).toBe('x');
  });

  it('shares nothing with its source: a change to the copy, at any depth, is not seen in the source', () => {
    const copy = plainCopy(payload);
    expect(copy).not.toBe(payload);
    for (const path of [['prompt'], ['prompt', 'reasons'], ['params', 'nested'], ['params', 'nested', '0'], ['params', 'nested', '1'], ['result', 'login'], ['when'], ['bare']]) {
      const at = (o: unknown) => path.reduce((v, k) => (v as Record<string, unknown>)[k], o);
      expect(at(copy)).not.toBe(at(payload));
      expect(at(copy)).toEqual(at(payload));
    }
    // A Buffer comes back as structuredClone gives it (a Uint8Array), a copy of its own.
    expect(copy.bytes).not.toBe(payload.bytes);
    copy.result.login.amr.push('mfa');
    copy.when.setFullYear(2000);
    copy.bytes[0] = 0;
    expect(payload.result.login.amr).toEqual(['hwk', 'user']);
    expect(payload.when.getUTCFullYear()).toBe(2026);
    expect(payload.bytes.toString()).toBe('abc');
  });
  it('keeps an own "__proto__" key of parsed JSON an own key, as structuredClone does, and sets no prototype', () => {
    const parsed = JSON.parse('{"params":{"__proto__":{"admin":true},"scope":"openid"}}') as { params: Record<string, unknown> };
    const copy = plainCopy(parsed);
    expect(Object.getPrototypeOf(copy.params)).toBe(Object.prototype);
    expect((copy.params as { admin?: unknown }).admin).toBeUndefined();
    expect(Object.keys(copy.params)).toEqual(['__proto__', 'scope']);
    expect(copy.params).toEqual(structuredClone(parsed).params);
  });
});
