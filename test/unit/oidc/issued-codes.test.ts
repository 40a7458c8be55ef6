import { describe, expect, it } from '@jest/globals';
import { issuedCodes } from '../../../oidc/issued-codes.js';
import type { StoredPayload } from '../../../oidc/ports.js';
import type { Account } from '../../../oidc/account.js';

/**
 * The codes a node has just stored, kept for their redemption on that node (oidc/issued-codes.ts):
 * taken once, never past any of their rows' expiry, bounded, and only with the rows the token
 * endpoint's read would have given.
 */
const now = new Date('2026-12-07T10:00:00Z');
const inSeconds = (s: number, from = now) => new Date(from.getTime() + s * 1000);
const account = { id: 'a1', login: 'canbo', status: 'active' } as unknown as Account;

function login(n: number, expires = { code: 60, grant: 3600, session: 3600 }, at = now): StoredPayload[] {
  return [
    { model: 'Session', id: `s${n}`, payload: { jti: `s${n}`, uid: `u${n}`, accountId: 'a1', authorizations: { portal: { grantId: `g${n}` } } }, expiresAt: inSeconds(expires.session, at) },
    { model: 'Grant', id: `g${n}`, payload: { jti: `g${n}`, accountId: 'a1', clientId: 'portal' }, expiresAt: inSeconds(expires.grant, at) },
    { model: 'AuthorizationCode', id: `c${n}`, payload: { jti: `c${n}`, accountId: 'a1', grantId: `g${n}`, sessionUid: `u${n}`, clientId: 'portal', expiresWithSession: true }, expiresAt: inSeconds(expires.code, at) },
  ];
}

describe('codes kept by the node that stored them', () => {
  it('answers as the store would (rows without jti but the one restored), with the account the request read, once', () => {
    const codes = issuedCodes();
    codes.stored(login(1), now, () => account);
    const found = codes.take('c1', inSeconds(1))!;
    expect(found).toEqual({
      payload: { jti: 'c1', accountId: 'a1', grantId: 'g1', sessionUid: 'u1', clientId: 'portal', expiresWithSession: true },
      grant: { jti: 'g1', accountId: 'a1', clientId: 'portal' },
      session: { uid: 'u1', accountId: 'a1', authorizations: { portal: { grantId: 'g1' } } },
      account,
    });
    // Copies: changing what was answered changes nothing kept, and the code is not answered again.
    expect(found.account).not.toBe(account);
    expect(codes.take('c1', inSeconds(1))).toBeUndefined();
  });

  it('keeps no code whose grant or session is not among the stored rows, and no account the request did not read', () => {
    const codes = issuedCodes();
    codes.stored(login(1).filter((r) => r.model !== 'Grant'), now, () => account);
    codes.stored(login(2).filter((r) => r.model !== 'Session'), now, () => account);
    expect(codes.size).toBe(0);
    codes.stored(login(3), now, () => undefined);
    const found = codes.take('c3', now)!;
    expect(found.payload.jti).toBe('c3');
    expect('account' in found).toBe(false);
  });

  it('answers nothing once the code, its grant or its session has expired', () => {
    const codes = issuedCodes();
    codes.stored(login(1), now, () => account);
    codes.stored(login(2, { code: 600, grant: 30, session: 3600 }), now, () => account);
    codes.stored(login(3, { code: 600, grant: 3600, session: 30 }), now, () => account);
    expect(codes.take('c1', inSeconds(60))).toBeUndefined();
    expect(codes.take('c2', inSeconds(31))).toBeUndefined();
    expect(codes.take('c3', inSeconds(31))).toBeUndefined();
    expect(codes.size).toBe(0);
  });

  it('lets expired codes go when more are stored, and keeps at most 4,096', () => {
    const codes = issuedCodes();
    codes.stored(login(0), now, () => account);
    const later = inSeconds(61);
    codes.stored(login(1, undefined, later), later, () => account);
    expect(codes.size).toBe(1);
    for (let i = 2; i <= 4_098; i++) codes.stored(login(i, undefined, later), later, () => account);
    expect(codes.size).toBe(4_096);
    // The oldest went first.
    expect(codes.take('c1', inSeconds(61))).toBeUndefined();
    expect(codes.take('c2', inSeconds(61))).toBeUndefined();
    expect(codes.take('c3', inSeconds(61))?.payload.jti).toBe('c3');
  });
});
