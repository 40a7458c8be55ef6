import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { registerCache } from '../../ca/cache-registry.js';
import { ownBytes } from '../cache/own-bytes.js';
import { AppError } from '../errors/app-error.js';
import type { Clock } from '../lifecycle/clock.js';
import type { AuditTrail, PasskeyStore, Transactions, WrittenWithLogin } from './ports.js';
import type { Account } from '../../oidc/account.js';
import type { Passkey } from './passkey.js';
import type { ChallengeSeal } from './sealed-challenge.js';
import { es256KeyOf, rpIdHash, verifyEs256Assertion, type VerifiedAssertion } from './assertion-verifier.js';

export interface WebAuthnSettings {
  rpId: string;
  rpName: string;
  /** Origins allowed in clientDataJSON (WebAuthn §7.1 step 9). */
  origins: string[];
  timeoutMs: number;
}

/** Who sends an assertion, and what a login stores with it once accepted. */
export interface AssertionContext {
  ip: string;
  clientId?: string;
  expectAccountId?: string;
  /**
   * The rows the login stores once accepted (the interaction's result, oidc/login-capture.ts
   * capturingInteraction), made after the assertion verified and written in the statement that
   * accepts it, only if it does (docs/performance.md, "Logins, seventh pass").
   */
  storeWithLogin?: (login: { accountId: string; amr: string[] }) => Promise<readonly WrittenWithLogin[]>;
}

export interface PasskeyLogin {
  accountId: string;
  passkey: Passkey;
  userVerified: boolean;
  /** RFC 8176 methods of this assertion. */
  amr: string[];
  /** With `storeWithLogin`: the account as the accepting statement read it (null: gone), for the resume. */
  account?: Account | null;
}

const b64url = z.string().min(1).max(64 * 1024).regex(/^[A-Za-z0-9_-]+$/, 'base64url');
// Only what the verifier needs; unknown members (client extension results) pass untouched.
const registrationShape = z.looseObject({
  id: b64url,
  rawId: b64url,
  type: z.literal('public-key'),
  response: z.looseObject({ clientDataJSON: b64url, attestationObject: b64url, transports: z.array(z.string().max(32)).max(10).optional() }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
});
const authenticationShape = z.looseObject({
  id: b64url,
  rawId: b64url,
  type: z.literal('public-key'),
  response: z.looseObject({ clientDataJSON: b64url, authenticatorData: b64url, signature: b64url, userHandle: b64url.optional() }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
});

/** How many passkeys' fixed facts a node keeps (under 1 KiB each). */
const KNOWN_PASSKEYS = 10_000;

const KNOWN_TRANSPORTS = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);

/** The user handle of an account: its UUID's 16 bytes (WebAuthn §14.6.1: no personal data). */
export const userHandleOf = (accountId: string) => Buffer.from(accountId.replace(/-/g, ''), 'hex');

function challengeOf(clientDataJSON: string): string {
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    if (typeof data.challenge === 'string' && data.challenge) return data.challenge;
  } catch {
    // fall through
  }
  throw new AppError('badRequest', 'clientDataJSON is not a WebAuthn client data object');
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new AppError('validationFailed', `${what}: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return result.data;
}

/**
 * Passkeys over @simplewebauthn/server: registration for a logged-in account, authentication as
 * a passwordless login (discoverable credentials) or as a second factor. Registration challenges
 * are stored server-side; authentication challenges are sealed (bound to the interaction and the
 * step-up account, expiring; src/webauthn/sealed-challenge.ts) and spent in the statement that
 * accepts the assertion. Each serves once; a signature counter that does not advance is refused
 * and audited.
 */
export class PasskeyService<Tx = unknown> {
  constructor(
    private readonly db: Transactions<Tx>,
    private readonly repo: PasskeyStore<Tx>,
    private readonly audit: AuditTrail<Tx>,
    private readonly clock: Clock,
    readonly settings: WebAuthnSettings,
    /** Seals the authentication challenges (a key every node shares). */
    private readonly seal: ChallengeSeal,
  ) {}

  /** SHA-256 of the RP ID, the same in every assertion (WebAuthn §7.2 step 15): hashed once. */
  private rpIdHashes?: Buffer[];

  /**
   * What an assertion needs of its passkey before the statement that accepts it, by credential
   * ID: the row's id, account, public key and device type, which never change for a row (a rename
   * changes only the name; the counter is not taken from here). Bounded, least recently used out.
   * It needs no invalidation for safety: the statement that accepts an assertion advances the
   * counter of that row by its id, so a passkey removed on any node is refused ('gone', audited)
   * and forgotten here; this node also forgets the passkeys it removes. A held public key owns its
   * bytes (src/cache/own-bytes.ts: pg's bytea is a view of an 8 KiB slab).
   */
  private readonly known = registerCache('passkeys', new Map<string, Passkey>());

  /**
   * The public key of each held passkey, imported once (src/webauthn/assertion-verifier.ts), or
   * null for a key the library verifies. Keyed by the held entry itself: bounded and emptied with
   * `known` (an entry dropped, removed or forgotten there takes its key with it), and a row's
   * public key never changes (a new key is a new row).
   */
  private readonly keys = new WeakMap<Passkey, KeyObject | null>();

  private async passkeyOf(credentialId: string): Promise<Passkey | null> {
    const held = this.known.get(credentialId);
    if (held) {
      this.known.delete(credentialId);
      this.known.set(credentialId, held);
      return held;
    }
    const found = await this.repo.findByCredentialId(credentialId);
    if (!found) return null;
    const passkey = { ...found, publicKey: ownBytes(found.publicKey) };
    this.known.set(credentialId, passkey);
    if (this.known.size > KNOWN_PASSKEYS) this.known.delete(this.known.keys().next().value!);
    return passkey;
  }

  /** The assertion checked as @simplewebauthn/server checks it, with the key imported once when it is ES256. */
  private async verifyAssertion(response: AuthenticationResponseJSON, challenge: string, passkey: Passkey): Promise<VerifiedAssertion | null> {
    let key = this.keys.get(passkey);
    if (key === undefined) this.keys.set(passkey, (key = es256KeyOf(passkey.publicKey)));
    // The counter is checked by the caller, under a row lock, so that this check does not race.
    if (key) {
      return verifyEs256Assertion(response, { challenge, origins: this.settings.origins, rpIdHashes: (this.rpIdHashes ??= [rpIdHash(this.settings.rpId)]), requireUserVerification: true }, { id: passkey.credentialId, counter: 0, key });
    }
    const verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: this.settings.origins,
      expectedRPID: this.settings.rpId,
      credential: { id: passkey.credentialId, publicKey: new Uint8Array(passkey.publicKey), counter: 0, transports: passkey.transports },
      requireUserVerification: true,
    });
    return verified.verified ? verified.authenticationInfo : null;
  }

  list(accountId: string): Promise<Passkey[]> {
    return this.repo.listForAccount(accountId);
  }

  private async storeChallenge(challenge: string, purpose: 'registration' | 'authentication', accountId: string | null, binding: string): Promise<void> {
    const expiresAt = new Date(this.clock.now().getTime() + this.settings.timeoutMs);
    // One INSERT: a transaction around it would only add two round trips.
    await this.repo.saveChallenge(null, { challenge, purpose, accountId, binding, expiresAt });
  }

  async registrationOptions(account: Account, binding: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.repo.listForAccount(account.id);
    const options = await generateRegistrationOptions({
      rpName: this.settings.rpName,
      rpID: this.settings.rpId,
      userID: userHandleOf(account.id),
      userName: account.username ?? account.nationalId ?? account.id,
      userDisplayName: account.fullName,
      timeout: this.settings.timeoutMs,
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
      // Discoverable (a passkey logs in without a username) and verified (PIN or biometrics).
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
      supportedAlgorithmIDs: [-7, -8, -257],
    });
    await this.storeChallenge(options.challenge, 'registration', account.id, binding);
    return options;
  }

  /**
   * `authorise` runs inside the registration's transaction (an enrolment code is used there, so
   * it is spent only by a passkey that is stored); what it returns is added to the audit event.
   */
  async register(actor: string, account: Account, binding: string, body: unknown, name: string, authorise?: (trx: unknown) => Promise<Record<string, unknown>>): Promise<Passkey> {
    const label = name.trim().normalize('NFC');
    if (!label || label.length > 64) throw new AppError('validationFailed', 'name: 1–64 characters');
    const response = parse(registrationShape, body, 'registration response') as unknown as RegistrationResponseJSON;
    const challenge = challengeOf(response.response.clientDataJSON);
    return this.db.withTransaction(async (trx) => {
      const stored = await this.repo.takeChallenge(trx, challenge);
      if (!stored || stored.purpose !== 'registration' || stored.accountId !== account.id || stored.binding !== binding) {
        throw new AppError('badRequest', 'unknown or already used registration challenge: start again');
      }
      if (stored.expiresAt <= this.clock.now()) throw new AppError('badRequest', 'the registration challenge expired: start again');
      const verification = await verifyRegistrationResponse({
        response,
        expectedChallenge: stored.challenge,
        expectedOrigin: this.settings.origins,
        expectedRPID: this.settings.rpId,
        requireUserVerification: true,
        supportedAlgorithmIDs: [-7, -8, -257],
      }).catch((err: unknown) => {
        throw new AppError('badRequest', `the passkey was not registered: ${(err as Error).message}`);
      });
      if (!verification.verified) throw new AppError('badRequest', 'the passkey was not registered: attestation not verified');
      const info = verification.registrationInfo;
      if (await this.repo.findByCredentialId(info.credential.id, trx)) throw new AppError('conflict', 'this passkey is already registered');
      const basis = authorise ? await authorise(trx) : {};
      const passkey = await this.repo.create(
        trx,
        {
          accountId: account.id,
          credentialId: info.credential.id,
          publicKey: Buffer.from(info.credential.publicKey),
          counter: info.credential.counter,
          transports: (response.response.transports ?? []).filter((t) => KNOWN_TRANSPORTS.has(t)),
          aaguid: info.aaguid,
          deviceType: info.credentialDeviceType,
          backedUp: info.credentialBackedUp,
          name: label,
        },
        this.clock.now(),
      );
      await this.audit.append(trx, {
        actor,
        action: 'passkey.register',
        target: `account:${account.id}`,
        details: { passkey: passkey.id, name: label, aaguid: passkey.aaguid, deviceType: passkey.deviceType, backedUp: passkey.backedUp, ...basis },
      });
      return passkey;
    });
  }

  async rename(actor: string, accountId: string, id: string, name: string): Promise<Passkey> {
    const label = name.trim().normalize('NFC');
    if (!label || label.length > 64) throw new AppError('validationFailed', 'name: 1–64 characters');
    return this.db.withTransaction(async (trx) => {
      const passkey = await this.repo.findById(id, trx);
      if (!passkey || passkey.accountId !== accountId) throw new AppError('notFound', 'no such passkey on this account');
      await this.repo.rename(trx, id, label);
      await this.audit.append(trx, { actor, action: 'passkey.rename', target: `account:${accountId}`, details: { passkey: id, from: passkey.name, to: label } });
      return { ...passkey, name: label };
    });
  }

  async remove(actor: string, accountId: string, id: string, authorise?: (trx: unknown) => Promise<Record<string, unknown>>): Promise<void> {
    await this.db.withTransaction(async (trx) => {
      const passkey = await this.repo.findById(id, trx);
      if (!passkey || passkey.accountId !== accountId) throw new AppError('notFound', 'no such passkey on this account');
      const basis = authorise ? await authorise(trx) : {};
      await this.repo.remove(trx, id);
      this.known.delete(passkey.credentialId);
      await this.audit.append(trx, { actor, action: 'passkey.delete', target: `account:${accountId}`, details: { passkey: id, name: passkey.name, ...basis } });
    });
  }

  /**
   * Options for an assertion. Without an account: a passwordless login, any discoverable
   * credential of this RP (empty allowCredentials, user verification required). With one: a
   * second factor (step-up) limited to that account's passkeys.
   */
  async authenticationOptions(binding: string, accountId?: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await this.authenticationOptionsIfAny(binding, accountId);
    if (!options) throw new AppError('conflict', 'this account has no passkey: register one on the account page first');
    return options;
  }

  /**
   * The same, or null (nothing stored) when the step-up account has no passkey: the passkey page
   * embeds the options it renders (one request less per login) and says so when there are none.
   */
  async authenticationOptionsIfAny(binding: string, accountId?: string): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
    const allow = accountId ? await this.repo.listForAccount(accountId) : [];
    if (accountId && !allow.length) return null;
    // Sealed, not stored: the login page that carries these options writes nothing
    // (docs/performance.md, "Passkey login, sixth pass"); the seal binds the challenge to this
    // interaction and account and says when it expires.
    const expiresAt = new Date(this.clock.now().getTime() + this.settings.timeoutMs);
    return generateAuthenticationOptions({
      rpID: this.settings.rpId,
      timeout: this.settings.timeoutMs,
      userVerification: 'required',
      allowCredentials: allow.map((p) => ({ id: p.credentialId, transports: p.transports })),
      challenge: new Uint8Array(this.seal.issue(binding, accountId ?? null, expiresAt)),
    });
  }

  private async refuse(details: Record<string, unknown>, accountId: string | null, kind: 'unauthorized' | 'forbidden' | 'badRequest', message: string): Promise<never> {
    await this.db.withTransaction((trx) =>
      this.audit.append(trx, {
        actor: accountId ? `user:${accountId}` : 'anonymous',
        action: 'login.failure',
        target: accountId ? `account:${accountId}` : null,
        details: { method: 'passkey', ...details },
      }),
    );
    throw new AppError(kind, message);
  }

  /**
   * A use whose counter did not advance: the passkey is gone (removed since it was read), or its
   * counter regressed (WebAuthn §7.2 step 21), which is audited with the stored and presented values.
   */
  private regression(passkey: Passkey, presented: number, audit: Record<string, unknown>): Promise<{ outcome: 'gone' | 'regressed'; stored?: number }> {
    return this.db.withTransaction(async (trx) => {
      const current = await this.repo.findById(passkey.id, trx);
      if (!current) return { outcome: 'gone' as const };
      await this.audit.append(trx, {
        actor: `user:${passkey.accountId}`,
        action: 'passkey.counter_regression',
        target: `account:${passkey.accountId}`,
        details: { ...audit, passkey: passkey.id, stored: current.counter, presented },
      });
      return { outcome: 'regressed' as const, stored: current.counter };
    });
  }

  /** Verifies an assertion; the account it proves is returned (and must be `expectAccountId` when given). */
  async authenticate(binding: string, body: unknown, context: AssertionContext): Promise<PasskeyLogin> {
    const response = parse(authenticationShape, body, 'authentication response') as unknown as AuthenticationResponseJSON;
    const challenge = challengeOf(response.response.clientDataJSON);
    const audit = { ip: context.ip, clientId: context.clientId, credential: response.id };

    // The seal, checked here without the database: bound to this interaction (and to the step-up
    // account), not altered, not expired. That it serves once is enforced where it is accepted,
    // below (its spent marker, written with the counter).
    const sealed = this.seal.open(challenge, binding, context.expectAccountId ?? null);
    if (!sealed) return this.refuse({ ...audit, reason: 'unknown-challenge' }, context.expectAccountId ?? null, 'unauthorized', 'unknown or already used challenge: start again');
    if (sealed.expiresAt <= this.clock.now()) return this.refuse({ ...audit, reason: 'expired-challenge' }, null, 'unauthorized', 'the challenge expired: start again');

    const passkey = await this.passkeyOf(response.id);
    if (!passkey) return this.refuse({ ...audit, reason: 'unknown-passkey' }, null, 'unauthorized', 'this passkey is not registered here (it may have been deleted)');
    if (context.expectAccountId && passkey.accountId !== context.expectAccountId) {
      return this.refuse({ ...audit, reason: 'other-account' }, context.expectAccountId, 'unauthorized', 'this passkey belongs to another account');
    }
    // WebAuthn §7.2 step 6: a discoverable credential returns the user handle it was created with.
    if (response.response.userHandle && !Buffer.from(response.response.userHandle, 'base64url').equals(userHandleOf(passkey.accountId))) {
      return this.refuse({ ...audit, reason: 'user-handle-mismatch' }, passkey.accountId, 'unauthorized', 'the passkey answered for another user');
    }

    let info;
    try {
      info = await this.verifyAssertion(response, challenge, passkey);
    } catch (err) {
      return this.refuse({ ...audit, reason: 'verification-failed', detail: (err as Error).message }, passkey.accountId, 'unauthorized', `the passkey assertion did not verify: ${(err as Error).message}`);
    }
    if (!info) return this.refuse({ ...audit, reason: 'verification-failed' }, passkey.accountId, 'unauthorized', 'the passkey assertion did not verify');
    // RFC 8176: a synced (backup-eligible) passkey is a software-secured key, a device-bound one
    // hardware; `user` for the presence test; verified by PIN or biometrics, it is multi-factor.
    const amr = [passkey.deviceType === 'multiDevice' ? 'swk' : 'hwk', 'user', ...(info.userVerified ? ['mfa'] : [])];
    const alongside = context.storeWithLogin ? await context.storeWithLogin({ accountId: passkey.accountId, amr }) : undefined;

    // WebAuthn §7.2 step 21: a counter that does not grow signals a cloned authenticator. Checked
    // and advanced in one statement with the challenge's spent marker and the login's audit event
    // (the marker's key makes the challenge serve once, also under a race; the row lock orders
    // concurrent assertions of one passkey; the event is appended only if the marker is new and the
    // counter advanced: one round trip, docs/performance.md "Passkey login, sixth pass").
    const now = this.clock.now();
    const use = await this.repo.advanceCounterSpendingChallenge({ challenge, expiresAt: sealed.expiresAt }, passkey.id, info.newCounter, info.credentialBackedUp, now, {
      actor: `user:${passkey.accountId}`,
      action: 'login.success',
      target: `account:${passkey.accountId}`,
      details: { method: 'passkey', step: context.expectAccountId ? 'second-factor' : 'passwordless', passkey: passkey.id, ip: context.ip, clientId: context.clientId },
    }, alongside);
    if (use.use === 'ended') return this.refuse({ ...audit, reason: 'interaction-ended' }, passkey.accountId, 'badRequest', 'the sign-in session expired: go back to the portal and sign in again');
    if (use.use === 'spent') return this.refuse({ ...audit, reason: 'replayed-challenge' }, passkey.accountId, 'unauthorized', 'unknown or already used challenge: start again');
    const { outcome, stored } = use.use === 'advanced' ? { outcome: 'ok' as const, stored: undefined } : await this.regression(passkey, info.newCounter, audit);
    if (outcome === 'gone') {
      // Removed (on this node or another) since it was read: forgotten here too.
      this.known.delete(passkey.credentialId);
      return this.refuse({ ...audit, reason: 'unknown-passkey' }, null, 'unauthorized', 'this passkey is not registered here (it may have been deleted)');
    }
    if (outcome === 'regressed') {
      throw new AppError('forbidden', `the passkey's signature counter went backwards (${info.newCounter} ≤ ${stored}): it may have been cloned; it is refused`);
    }
    const login = { accountId: passkey.accountId, passkey: { ...passkey, counter: info.newCounter, backedUp: info.credentialBackedUp, lastUsedAt: now }, userVerified: info.userVerified, amr };
    return use.account === undefined ? login : { ...login, account: use.account };
  }
}
