import { describe, it, expect } from '@jest/globals';
import { CaError, caErrorKinds, type CaErrorKind } from '../../../ca/errors.js';
import { AppError, asAppError, toProblem, type ErrorKind } from '../../../src/errors/app-error.js';

// What the front ends answered when ca/ threw AppErrors itself: the mapping must not change it.
const expected: Record<CaErrorKind, ErrorKind> = {
  badInput: 'badRequest',
  badCsr: 'badCsr',
  badCertificate: 'badCertificate',
  policyViolation: 'policyViolation',
  profileNotFound: 'profileNotFound',
  conflict: 'conflict',
  lintFailed: 'lintFailed',
  misconfigured: 'misconfigured',
  internal: 'internal',
};

describe('CA domain errors through the one table (src/errors/app-error.ts)', () => {
  it('maps every kind to the problem the service answered before', () => {
    for (const kind of caErrorKinds) {
      const mapped = asAppError(new CaError(kind, `a ${kind} problem`))!;
      const direct = new AppError(expected[kind], `a ${kind} problem`);
      expect(mapped).toBeInstanceOf(AppError);
      expect(toProblem(mapped, '/x')).toEqual(toProblem(direct, '/x'));
      expect(mapped.status).toBe(direct.status);
    }
  });

  it('keeps the problem list, in the same place of the problem document', () => {
    const problems = ['subject C (countryName) must be VN, got "FR"', 'UID: more than one CCCD identifier'];
    const mapped = toProblem(asAppError(new CaError('policyViolation', problems.join('; '), { problems }))!, '/api/v1/certificates');
    const direct = toProblem(new AppError('policyViolation', problems.join('; '), { problems }), '/api/v1/certificates');
    expect(JSON.stringify(mapped)).toBe(JSON.stringify(direct));
    expect(mapped).toMatchObject({ status: 400, type: 'urn:tinnhiem:problem:policy-violation', problems });
  });

  it('keeps the cause, leaves AppErrors alone and knows nothing else', () => {
    const cause = new Error('EACCES');
    const error = new CaError('misconfigured', 'key file:x not readable', { cause });
    expect(error.cause).toBe(cause);
    expect(asAppError(error)!.cause).toBe(error);
    const app = new AppError('notFound', 'no such thing');
    expect(asAppError(app)).toBe(app);
    expect(asAppError(new Error('boom'))).toBeUndefined();
    expect(asAppError('boom')).toBeUndefined();
  });
});
