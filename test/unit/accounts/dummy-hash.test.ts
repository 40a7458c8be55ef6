import { describe, expect, it } from '@jest/globals';
import { PASSWORD_PARAMS, dummyHash, hashPassword, verifyPassword } from '../../../src/accounts/password.js';

/**
 * An unknown login is verified against the dummy hash so that it costs what a known one costs.
 * It used to be made by hashing at the first unknown login of each process: that answer took two
 * hashes' time and told the name apart. Process CPU (the pool's threads included), not wall time:
 * a loaded machine stretches the second, not the first.
 */
describe('the dummy hash of unknown logins', () => {
  it('is made without hashing: the first call costs no scrypt', async () => {
    const before = process.cpuUsage();
    const dummy = await dummyHash();
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000).toBeLessThan(20); // one scrypt here: about 200 ms
    expect(await dummyHash()).toBe(dummy);
  });

  it('carries the current parameters, so verifying against it is a whole scrypt, and nothing matches it', async () => {
    const [kind, N, r, p, salt, key] = (await dummyHash()).split('$');
    expect([kind, Number(N), Number(r), Number(p)]).toEqual(['scrypt', PASSWORD_PARAMS.N, PASSWORD_PARAMS.r, PASSWORD_PARAMS.p]);
    expect(Buffer.from(salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(key, 'base64')).toHaveLength(PASSWORD_PARAMS.keylen);
    // A real hash's form is the same (same number of parts, same lengths): nothing tells them apart.
    expect((await hashPassword('x')).split('$').map((part) => part.length)).toEqual((await dummyHash()).split('$').map((part) => part.length));
    for (const guess of ['', 'password', 'x', salt]) expect(await verifyPassword(guess, await dummyHash())).toBe(false);
  });
});
