/**
 * The narrow ports the identity provider needs from the rest of the service (docs/architecture.md:
 * the consumer owns them). src/storage, src/secrets, src/errors and src/web/views implement them
 * as they are (structurally); src/service wires them. oidc/ imports nothing of src/.
 *
 * `Tx` is the storage's transaction handle. oidc/ never looks inside it: it only passes it back to
 * every store call made inside `withTransaction` (the embedded database has ONE connection, so a
 * call outside the transaction would deadlock there).
 */
import type { ErrorOut, KoaContextWithOIDC } from 'oidc-provider';
import type { Account } from './account.js';

/** Time, injected (tests move it). */
export interface Clock {
  now(): Date;
}

/** Structured log lines (pino's Logger fits). */
export interface Logger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

/** Runs `work` in one database transaction: everything done with `tx` commits or rolls back together. */
export interface Transactions<Tx> {
  withTransaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}

export interface AuditEntry {
  /** `cli:<os user>`, `user:<id>`, `system`. */
  actor: string;
  /** Dotted verb: `client.create`, `oidc.key.rotate`, … */
  action: string;
  target: string | null;
  details?: Record<string, unknown>;
}

/** The audit trail: an event is appended in the transaction of the change it records. */
export interface AuditTrail<Tx> {
  append(tx: Tx, entry: AuditEntry): Promise<unknown>;
}

/** Secrets at rest (the master key): authenticated encryption bound to `aad`, the blob's name. */
export interface SecretSealer {
  seal(plaintext: Buffer, aad: string): Buffer;
  /** Throws when the blob was sealed under another key or another name, or was tampered with. */
  open(sealed: Buffer, aad: string): Buffer;
}

/** oidc-provider's models (Session, Interaction, AuthorizationCode, tokens, Grant, …), by model and id. */
export interface PayloadStore {
  upsert(model: string, id: string, payload: Record<string, unknown>, expiresAt: Date | null): Promise<void>;
  /** Nothing once expired at `now`; a consumed payload carries `consumed` (epoch seconds). */
  find(model: string, id: string, now: Date): Promise<Record<string, unknown> | undefined>;
  findBy(model: string, column: 'uid' | 'user_code', value: string, now: Date): Promise<Record<string, unknown> | undefined>;
  /**
   * Marks it used if it was not; answers whether this call did (`consumed`: false when it was
   * consumed first, or is gone) and the grant it belongs to. A store may answer nothing (taken as consumed).
   */
  consume(model: string, id: string, now: Date): Promise<{ consumed: boolean; grantId: string | null } | void>;
  destroy(model: string, id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
  /**
   * Marks `consume` used and writes `rows`, in one statement, only if it was not used already;
   * false (nothing written) when it was, or is gone: a refresh token's rotation, a code's
   * redemption. Nor when its grant has ended or its account is not active; for an authorization
   * code, nor when it has expired or its session binding (expiresWithSession) no longer holds:
   * a code kept by the node that issued it is redeemed without being read (oidc/issued-codes.ts).
   */
  consumeAndStore?(consume: { model: string; id: string }, rows: readonly StoredPayload[], now: Date): Promise<boolean>;
  /** `upsert` of several rows (distinct model and id) in one statement. */
  upsertMany?(rows: readonly StoredPayload[]): Promise<void>;
  /**
   * Deletes `destroy` and writes `rows` (none, or several of distinct model and id), in one
   * statement, only if this statement deleted it; false (nothing written) when it was gone (ended
   * by another request first, on any node): a login's resume ends its interaction so.
   */
  destroyAndStore?(destroy: { model: string; id: string }, rows: readonly StoredPayload[]): Promise<boolean>;
  /**
   * `find`, and in the same query the Grant its payload names (`grantId`) and the account it names
   * (`accountId`), the account as FindAccount reads it: null when there is none, absent when it
   * was not read (no payload, or an id that is not an account's).
   */
  findWithGrant?(model: string, id: string, now: Date): Promise<{ payload?: Record<string, unknown>; grant?: Record<string, unknown>; session?: Record<string, unknown>; account?: Account | null }>;
  /**
   * An interaction (`find`), and in the same query the account it names (the login's result,
   * else its session's: `result.login.accountId`, `session.accountId`) as FindAccount reads it:
   * null when there is none, absent when it was not read (no payload, no account named, or an id
   * that is not an account's).
   */
  findInteractionWithAccount?(id: string, now: Date): Promise<{ payload?: Record<string, unknown>; accountId?: string; account?: Account | null }>;
}

/** One model's payload to store (PayloadStore.upsert's arguments). */
export interface StoredPayload {
  model: string;
  id: string;
  payload: Record<string, unknown>;
  expiresAt: Date | null;
  /**
   * The payload the row must still hold (as it was read) for this write to happen: a login step's
   * result on its interaction (oidc/login-capture.ts). A store that writes it with a guard refuses
   * the whole write when the stored row changed, ended or expired since.
   */
  expected?: Record<string, unknown>;
}

/** A registered relying party as stored. */
export interface StoredClient {
  clientId: string;
  /** oidc-provider client metadata (snake_case), without the secret. */
  metadata: Record<string, unknown>;
  secretSealed: Buffer | null;
  firstParty: boolean;
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ClientStore<Tx> {
  find(clientId: string, tx?: Tx): Promise<StoredClient | null>;
  list(): Promise<StoredClient[]>;
  insert(tx: Tx, client: StoredClient): Promise<void>;
  updateSecret(tx: Tx, clientId: string, secretSealed: Buffer, now: Date): Promise<void>;
  /** False when there was no such client. */
  remove(tx: Tx, clientId: string): Promise<boolean>;
  /** Tells every node, when `tx` commits, that the client changed (the status-change feed). */
  announce(tx: Tx, clientId: string, now: Date): Promise<void>;
}

export type KeyState = 'next' | 'active' | 'retired';

/** A token signing key as stored: the private JWK sealed, the public one in clear. */
export interface StoredSigningKey {
  kid: string;
  alg: string;
  state: KeyState;
  privateJwkSealed: Buffer;
  publicJwk: Record<string, unknown>;
  createdAt: Date;
  activatedAt: Date | null;
  retiredAt: Date | null;
  removeAfter: Date | null;
}

export interface SigningKeyStore<Tx> {
  /** Keys still published at `now` (removeAfter unset or later), newest first. */
  published(now: Date, tx?: Tx): Promise<StoredSigningKey[]>;
  insert(tx: Tx, key: StoredSigningKey): Promise<void>;
  update(tx: Tx, kid: string, changes: Partial<Pick<StoredSigningKey, 'state' | 'activatedAt' | 'retiredAt' | 'removeAfter'>>): Promise<void>;
  /** Serialises rotations across nodes until the transaction ends. */
  lockForRotation(tx: Tx): Promise<void>;
}

/** Who a `sub` is (null when nobody). */
export type FindAccount = (id: string) => Promise<Account | null>;

/**
 * Whether an error means the database is unreachable (a restart, a failover, a full pool) rather
 * than a fault: the adapter then answers `temporarily_unavailable` (503) instead of a 500.
 */
export type IsUnavailable = (err: unknown) => boolean;

/**
 * The pages oidc-provider shows itself, rendered by the host (the provider renders no pages):
 * its error page and RP-initiated logout's confirmation and "logged out" pages.
 */
export interface ProviderPages {
  renderError(ctx: KoaContextWithOIDC, out: ErrorOut, error: Error): Promise<void>;
  /** `form` is oidc-provider's own logout form (with its xsrf token), to be embedded as is. */
  logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void>;
  postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void>;
}

/**
 * The API's JWT access tokens, for revocation and introspection (oidc/api-token-endpoints.ts):
 * implemented by the service's token verifier and revocation list.
 */
export interface ApiTokens {
  /** A JWT of this issuer for the API, signature and expiry checked; null when it is not one. */
  inspect(token: string): Promise<{ claims: Record<string, unknown>; revoked: boolean } | null>;
  /** Revokes the token, and the grant it was minted from (docs/identity.md, "Revoking API tokens"). */
  revoke(claims: Record<string, unknown>): Promise<void>;
}
