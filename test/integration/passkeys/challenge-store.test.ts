import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { startTestService, type TestService } from '../../support/test-app.js';
import { createOfficial } from '../../support/oidc-rp.js';
import { registerSoftPasskey } from '../../support/soft-authenticator.js';
import { PasskeyRepository } from '../../../src/storage/passkey-repository.js';
import type { StoredChallenge } from '../../../src/webauthn/passkey.js';

/**
 * Issue 20: a passkey login spends its challenge and reads the passkey in one statement
 * (takeChallengeWithPasskey). It must answer exactly what the two statements it replaces answered
 * (takeChallenge, then findByCredentialId), field by field, in every case, and still spend a
 * challenge once, even under a race.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let repo: PasskeyRepository;

beforeAll(async () => {
  t = await startTestService();
  repo = new PasskeyRepository(t.service.db.knex);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const challenge = (over: Partial<StoredChallenge> = {}): StoredChallenge => ({
  challenge: randomBytes(32).toString('base64url'),
  purpose: 'authentication',
  accountId: null,
  binding: `interaction:${randomBytes(8).toString('hex')}`,
  expiresAt: new Date(Date.now() + 60_000),
  ...over,
});

describe(`the challenge taken with its passkey in one statement (${db})`, () => {
  it('answers what takeChallenge and findByCredentialId answer, field by field', async () => {
    const official = await createOfficial(t);
    const passkey = await registerSoftPasskey(t.service.passkeys as never, official.account);
    const cases: Array<{ stored: StoredChallenge; credentialId: string }> = [
      { stored: challenge(), credentialId: passkey.id }, // a known passkey
      { stored: challenge({ accountId: official.account.id }), credentialId: passkey.id }, // step-up, bound to an account
      { stored: challenge(), credentialId: 'AAAA' }, // an unknown passkey
      { stored: challenge({ purpose: 'registration' }), credentialId: passkey.id }, // another purpose: the caller refuses it
      { stored: challenge({ expiresAt: new Date(Date.now() - 1000) }), credentialId: passkey.id }, // expired: the caller refuses it
      { stored: challenge(), credentialId: "'; DROP TABLE passkeys; --" }, // odd input: a bound value, no match
    ];
    for (const c of cases) {
      // The old path on one copy of the challenge, the new on another of identical content.
      await repo.saveChallenge(null, c.stored);
      const old = { stored: await repo.takeChallenge(null, c.stored.challenge), passkey: await repo.findByCredentialId(c.credentialId) };
      await repo.saveChallenge(null, c.stored);
      const taken = await repo.takeChallengeWithPasskey(c.stored.challenge, c.credentialId);
      expect(taken).toEqual(old);
      // Spent: neither path finds it again.
      expect(await repo.takeChallengeWithPasskey(c.stored.challenge, c.credentialId)).toBeNull();
      expect(await repo.takeChallenge(null, c.stored.challenge)).toBeNull();
    }
    // An unknown challenge: null, whatever the passkey.
    expect(await repo.takeChallengeWithPasskey('no-such-challenge', passkey.id)).toBeNull();
    expect(await repo.takeChallengeWithPasskey('', '')).toBeNull();
  });

  it('serves a challenge once under a race', async () => {
    const c = challenge();
    await repo.saveChallenge(null, c);
    const results = await Promise.all(Array.from({ length: 6 }, () => repo.takeChallengeWithPasskey(c.challenge, 'AAAA')));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });
});
