import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { startTestService, type TestService } from '../../support/test-app.js';
import { createOfficial } from '../../support/oidc-rp.js';
import { registerSoftPasskey, type SoftAuthenticator } from '../../support/soft-authenticator.js';
import { PasskeyRepository } from '../../../src/storage/passkey-repository.js';
import { PasskeyService } from '../../../src/webauthn/passkey-service.js';
import { ChallengeSeal } from '../../../src/webauthn/sealed-challenge.js';

/**
 * Issue 20: a passkey login's challenge is sealed (no row when the login page is rendered) and
 * spent by a marker written in the statement that advances the counter and appends the login's
 * audit event. The attacks this could open, each refused and audited: an assertion replayed (in
 * turn and in a parallel burst), a challenge of another interaction or of another step-up account,
 * an altered or foreign-keyed challenge, an expired one; a counter that regresses still spends the
 * challenge and is audited.
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

const context = { ip: '10.31.0.1', clientId: 'cong' };
const events = (action: string, accountId: string) => t.service.audit.list({ action, target: `account:${accountId}`, limit: 100 });
/** The refusals of one passkey's assertions (a refusal before the passkey is known has no account as its target). */
const failures = async (passkey: SoftAuthenticator) => (await t.service.audit.list({ action: 'login.failure', limit: 500 })).filter((e) => e.details.credential === passkey.id).map((e) => e.details.reason);
const counterOf = async (accountId: string) => (await t.service.passkeys.list(accountId))[0].counter;
const spentMarker = async (challenge: string) => (await t.service.db.knex('webauthn_spent_challenges').where({ challenge }).first()) as { expires_at: Date } | undefined;

/** A passkey service on the test's database with its own clock and seal (the expiry, another installation's key). */
function serviceAt(now: () => Date, seal = new ChallengeSeal(randomBytes(32))) {
  return new PasskeyService(t.service.db, repo, t.service.audit, { now }, t.service.passkeys.settings, seal);
}

async function official(): Promise<{ id: string; passkey: SoftAuthenticator }> {
  const o = await createOfficial(t);
  return { id: o.account.id, passkey: await registerSoftPasskey(t.service.passkeys, o.account) };
}

describe(`sealed passkey challenges, spent with the counter (${db})`, () => {
  it('the login page stores nothing; an assertion replayed in turn is refused and audited, the counter and the events unchanged', async () => {
    const a = await official();
    const rows = async () => Number(((await t.service.db.knex('webauthn_challenges').count({ n: '*' })) as Array<{ n: string | number }>)[0].n);
    const before = await rows();
    const options = await t.service.passkeys.authenticationOptions('interaction:replay');
    expect(await rows()).toBe(before); // sealed, not stored
    expect(options.challenge).toHaveLength(52);
    const assertion = a.passkey.get(options, { counter: 3 });
    await expect(t.service.passkeys.authenticate('interaction:replay', assertion, context)).resolves.toMatchObject({ accountId: a.id });
    expect(await spentMarker(options.challenge)).toBeDefined();
    await expect(t.service.passkeys.authenticate('interaction:replay', assertion, context)).rejects.toThrow(/unknown or already used challenge/);
    expect(await counterOf(a.id)).toBe(3);
    expect(await events('login.success', a.id)).toHaveLength(1);
    expect(await failures(a.passkey)).toEqual(['replayed-challenge']);
  });

  it('a parallel burst of one assertion: one login, the others refused; one success event', async () => {
    const a = await official();
    const options = await t.service.passkeys.authenticationOptions('interaction:burst');
    const assertion = a.passkey.get(options, { counter: 9 });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => t.service.passkeys.authenticate('interaction:burst', assertion, context)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((x): x is PromiseRejectedResult => x.status === 'rejected')) expect(String(r.reason)).toMatch(/unknown or already used challenge/);
    expect(await events('login.success', a.id)).toHaveLength(1);
    expect((await failures(a.passkey)).sort()).toEqual(Array(5).fill('replayed-challenge'));
    // A counter of 0 (an authenticator without one) is no exception: the marker alone refuses the replay.
    const zero = await t.service.passkeys.authenticationOptions('interaction:burst-0');
    const b = await official();
    const again = b.passkey.get(zero, { counter: 0 });
    const zeros = await Promise.allSettled(Array.from({ length: 4 }, () => t.service.passkeys.authenticate('interaction:burst-0', again, context)));
    expect(zeros.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await events('login.success', b.id)).toHaveLength(1);
  });

  it('a challenge of another interaction, of another step-up account, altered, or sealed by another installation: refused, audited, nothing spent', async () => {
    const a = await official();
    const b = await official();
    const theirs = await t.service.passkeys.authenticationOptions('interaction:theirs');
    await expect(t.service.passkeys.authenticate('interaction:mine', a.passkey.get(theirs), context)).rejects.toThrow(/unknown or already used challenge/);
    expect(await spentMarker(theirs.challenge)).toBeUndefined();
    // Its own interaction still uses it: a foreign attempt does not burn another person's challenge.
    await expect(t.service.passkeys.authenticate('interaction:theirs', a.passkey.get(theirs), context)).resolves.toMatchObject({ accountId: a.id });

    // Step-up: sealed for b's account, presented for a's (and the other way round).
    const forB = await t.service.passkeys.authenticationOptions('interaction:step', b.id);
    await expect(t.service.passkeys.authenticate('interaction:step', a.passkey.get(forB), { ...context, expectAccountId: a.id })).rejects.toThrow(/unknown or already used challenge/);
    // A passwordless challenge is not a step-up one, nor the reverse.
    await expect(t.service.passkeys.authenticate('interaction:step', b.passkey.get(forB), context)).rejects.toThrow(/unknown or already used challenge/);
    const plain = await t.service.passkeys.authenticationOptions('interaction:step');
    await expect(t.service.passkeys.authenticate('interaction:step', b.passkey.get(plain), { ...context, expectAccountId: b.id })).rejects.toThrow(/unknown or already used challenge/);
    await expect(t.service.passkeys.authenticate('interaction:step', b.passkey.get(forB), { ...context, expectAccountId: b.id })).resolves.toMatchObject({ accountId: b.id });

    // Every byte altered in turn (the expiry pushed later, the random part, the MAC), and
    // non-canonical or truncated encodings of a good one.
    const good = await t.service.passkeys.authenticationOptions('interaction:tamper');
    const raw = Buffer.from(good.challenge, 'base64url');
    const tampered: string[] = [];
    for (let i = 0; i < raw.length; i++) {
      const copy = Buffer.from(raw);
      copy[i] ^= 0x01;
      tampered.push(copy.toString('base64url'));
    }
    tampered.push(`${good.challenge.slice(0, -1)}${good.challenge.endsWith('A') ? 'B' : 'A'}`, good.challenge.slice(0, 40), `${good.challenge}AA`, `${good.challenge}=`, '');
    for (const challenge of tampered) {
      await expect(t.service.passkeys.authenticate('interaction:tamper', a.passkey.get({ challenge }), context)).rejects.toThrow(/unknown or already used challenge|clientDataJSON/);
    }
    // Another installation's key: its challenges mean nothing here.
    const foreign = await serviceAt(() => new Date()).authenticationOptions('interaction:tamper');
    await expect(t.service.passkeys.authenticate('interaction:tamper', a.passkey.get(foreign), context)).rejects.toThrow(/unknown or already used challenge/);
    // The good one was never spent by any of these.
    await expect(t.service.passkeys.authenticate('interaction:tamper', a.passkey.get(good), context)).resolves.toMatchObject({ accountId: a.id });
    expect((await failures(a.passkey)).filter((r) => r === 'unknown-challenge').length).toBeGreaterThanOrEqual(tampered.length);
  });

  it('an expired challenge is refused and audited; a regressed counter spends its challenge and is audited', async () => {
    const a = await official();
    let now = Date.now();
    const seal = new ChallengeSeal(randomBytes(32));
    const service = serviceAt(() => new Date(now), seal);
    const options = await service.authenticationOptions('interaction:late');
    now += t.service.passkeys.settings.timeoutMs + 1;
    await expect(service.authenticate('interaction:late', a.passkey.get(options), context)).rejects.toThrow(/challenge expired/);
    expect(await failures(a.passkey)).toContain('expired-challenge');
    expect(await spentMarker(options.challenge)).toBeUndefined();

    // The counter at 5, then an assertion at 4 on a fresh challenge: refused, audited, and its
    // challenge spent (the same assertion again is a replay, not a second regression).
    const first = await service.authenticationOptions('interaction:clone');
    await service.authenticate('interaction:clone', a.passkey.get(first, { counter: 5 }), context);
    const second = await service.authenticationOptions('interaction:clone');
    const cloned = a.passkey.get(second, { counter: 4 });
    await expect(service.authenticate('interaction:clone', cloned, context)).rejects.toThrow(/counter went backwards/);
    expect(await spentMarker(second.challenge)).toBeDefined();
    await expect(service.authenticate('interaction:clone', cloned, context)).rejects.toThrow(/unknown or already used challenge/);
    expect((await events('passkey.counter_regression', a.id)).map((e) => [e.details.stored, e.details.presented])).toEqual([[5, 4]]);
    expect(await counterOf(a.id)).toBe(5);
  });

  it('a passkey removed by another node after this node held it: refused and audited, forgotten; another passkey of the account still logs in', async () => {
    const a = await official();
    const second = await registerSoftPasskey(t.service.passkeys, { id: a.id }, 'Khoá thứ hai');
    const login = async (key: SoftAuthenticator, binding: string) => key.get(await t.service.passkeys.authenticationOptions(binding));
    await expect(t.service.passkeys.authenticate('interaction:held-1', await login(a.passkey, 'interaction:held-1'), context)).resolves.toMatchObject({ accountId: a.id });
    // Another node removes it (this node's service is not told): the row goes, the held facts stay here.
    const removed = await t.service.db.knex('passkeys').where({ credential_id: a.passkey.id }).del().returning('id');
    expect(removed).toHaveLength(1);
    await expect(t.service.passkeys.authenticate('interaction:held-2', await login(a.passkey, 'interaction:held-2'), context)).rejects.toThrow(/not registered here/);
    expect(await failures(a.passkey)).toContain('unknown-passkey');
    // Refused again (read afresh: it is gone), and no success event for it after the first.
    await expect(t.service.passkeys.authenticate('interaction:held-3', await login(a.passkey, 'interaction:held-3'), context)).rejects.toThrow(/not registered here/);
    expect((await events('login.success', a.id)).filter((e) => e.details.passkey === removed[0].id)).toHaveLength(1);
    await expect(t.service.passkeys.authenticate('interaction:held-4', await login(second, 'interaction:held-4'), context)).resolves.toMatchObject({ accountId: a.id });
    // Removed on this node through the service: forgotten at once, refused.
    const [row] = await t.service.passkeys.list(a.id);
    await t.service.passkeys.remove('test', a.id, row.id);
    await expect(t.service.passkeys.authenticate('interaction:held-5', await login(second, 'interaction:held-5'), context)).rejects.toThrow(/not registered here/);
  });

  it('the statement alone: a marker once under a race, nothing written for a gone passkey but the marker; markers swept after their grace', async () => {
    const a = await official();
    const [passkey] = await t.service.passkeys.list(a.id);
    const event = { actor: `user:${a.id}`, action: 'login.success', target: `account:${a.id}`, details: { method: 'passkey', test: true } };
    const challenge = { challenge: randomBytes(39).toString('base64url'), expiresAt: new Date(Date.now() + 60_000) };
    const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => repo.advanceCounterSpendingChallenge(challenge, passkey.id, 20 + i, false, new Date(), event)));
    expect(outcomes.filter((o) => o.use === 'advanced')).toHaveLength(1);
    expect(outcomes.filter((o) => o.use === 'spent')).toHaveLength(5);
    expect((await events('login.success', a.id)).filter((e) => e.details.test)).toHaveLength(1);
    // A passkey that is gone: the marker is written, nothing else.
    const gone = { challenge: randomBytes(39).toString('base64url'), expiresAt: new Date(Date.now() + 60_000) };
    expect(await repo.advanceCounterSpendingChallenge(gone, '00000000-0000-4000-8000-000000000000', 1, false, new Date(), event)).toEqual({ use: 'stale' });
    expect(await repo.advanceCounterSpendingChallenge(gone, passkey.id, 99, false, new Date(), event)).toEqual({ use: 'spent' });
    expect(await counterOf(a.id)).toBeLessThan(99);
    // The sweep: a marker whose challenge expired longer ago than the grace goes, a recent one stays.
    const old = { challenge: randomBytes(39).toString('base64url'), expiresAt: new Date(Date.now() - 3_600_000) };
    await repo.advanceCounterSpendingChallenge(old, '00000000-0000-4000-8000-000000000000', 1, false, new Date(), event);
    await repo.sweepChallenges(new Date());
    expect(await spentMarker(old.challenge)).toBeUndefined();
    expect(await spentMarker(gone.challenge)).toBeDefined();
  });
});
