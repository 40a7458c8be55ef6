import { describe, expect, it } from '@jest/globals';
import { EnrolmentGate } from '../../../src/accounts/enrolment.js';
import type { OneTimeCodes } from '../../../src/accounts/one-time-codes.js';
import { ACR } from '../../../oidc/scopes.js';

/** Issue 16: which logins may register or delete a login credential without an enrolment code. */
describe('enrolment gate', () => {
  const used: string[] = [];
  const codes = {
    check: async () => undefined,
    consume: async (_trx: unknown, accountId: string, _purpose: string, code: string) => {
      used.push(`${accountId}:${code}`);
      return { id: 'c1', createdBy: 'user:admin' };
    },
  } as unknown as OneTimeCodes;
  const gate = new EnrolmentGate(codes);

  it('high assurance and a DVCQG LoA2 login pass; a password, LoA1 federation or a substantial non-federated login do not', () => {
    expect(gate.sessionBasis({ acr: ACR.high, amr: ['hwk', 'user', 'mfa'] })).toBe('acr-high');
    expect(gate.sessionBasis({ acr: ACR.high, amr: ['sc'] })).toBe('acr-high');
    expect(gate.sessionBasis({ acr: ACR.substantial, amr: ['fed'] })).toBe('dvcqg-loa2');
    expect(gate.sessionBasis({ acr: ACR.low, amr: ['fed'] })).toBeNull();
    expect(gate.sessionBasis({ acr: ACR.low, amr: ['pwd'] })).toBeNull();
    expect(gate.sessionBasis({ acr: ACR.substantial, amr: ['pwd'] })).toBeNull();
    expect(gate.sessionBasis({})).toBeNull();
  });

  it('a password session is refused with the step-up problem unless it brings a code, which is used in the change', async () => {
    expect(() => gate.authorise('a1', { acr: ACR.low, amr: ['pwd'] }, undefined)).toThrow(expect.objectContaining({ kind: 'stepUpRequired', status: 403 }));
    await expect(gate.precheck('a1', { acr: ACR.low }, '  ')).rejects.toMatchObject({ kind: 'stepUpRequired' });
    const authorise = gate.authorise('a1', { acr: ACR.low, amr: ['pwd'] }, 'CODE');
    expect(used).toEqual([]);
    expect(await authorise({})).toEqual({ basis: 'enrolment-code', enrolmentCode: 'c1', codeIssuedBy: 'user:admin' });
    expect(used).toEqual(['a1:CODE']);
    expect(await gate.authorise('a1', { acr: ACR.high, amr: ['hwk'] }, undefined)({})).toMatchObject({ basis: 'acr-high' });
  });
});
