import type { Adapter, AdapterPayload } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { ClientRegistry } from './clients/client-registry.js';
import type { Clock, IsUnavailable, PayloadStore, StoredPayload } from './ports.js';
import { currentScope, forgetModel, memoised, rememberAccount, setInScope, withinScope, type HeldWrites } from './request-memo.js';

const LAST_KNOWN_CLIENTS = 10_000;
/** Models read several times in one request (oidc/request-memo.ts); never codes or tokens. */
const MEMOISED_MODELS = new Set(['Interaction', 'Session', 'Grant']);
const copyPayload = (p: AdapterPayload | undefined) => (p ? structuredClone(p) : p);
/**
 * Read at the token endpoint with their grant, session and account in one query (the code and
 * refresh token grants; each is consumed afterwards, never memoised itself).
 */
const WITH_GRANT_MODELS = new Set(['RefreshToken', 'AuthorizationCode']);
/**
 * Upserts held for the request's one statement (withHeldWrites): what a login's resume stores.
 * Not the interaction (the authorization request's first write: while the database is down it
 * must fail inside oidc-provider, which then redirects with temporarily_unavailable), nor tokens.
 */
const HELD_MODELS = new Set(['Session', 'Grant', 'AuthorizationCode']);
/** Consumed once when redeemed at the token endpoint: a consumption that finds it consumed is a replay. */
const SINGLE_USE_GRANT_SOURCES = new Set(['AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/** Runs the provider for an authorization request (the adapter then may use a client's last known metadata). */
export function asAuthorizationRequest<T>(work: () => Promise<T>): Promise<T> {
  return withinScope('authorization', true, work);
}

/**
 * A request to the token endpoint: a refresh token's consumption, and the rotated refresh token,
 * are held here until the access token is stored, so that the three are one statement
 * (docs/performance.md, "Token endpoint and logins"); `write` writes what is held (refreshRotation).
 */
interface TokenRequest {
  /** The refresh token consumed and not yet written. */
  consumed?: string;
  /** What is stored with that consumption (the rotated refresh token), not yet written. */
  rows: StoredPayload[];
  write?: (more: StoredPayload[]) => Promise<void>;
}
/** The token request being answered, if any (kept in the request's scope: oidc/request-memo.ts). */
const tokenRequest = () => currentScope()?.token as TokenRequest | undefined;

/** What asTokenRequest needs of the request it runs. */
export interface TokenRequestOutcome {
  /** Whether the provider answered with success (tokens in the body). */
  succeeded(): boolean;
  /** The held rotation could not be written (an OAuth error of oidc-provider's): answer it instead. */
  refuse(err: InstanceType<typeof errors.OIDCProviderError>): void;
  /** Called first when the provider is done, however it ended (the token endpoint's lean path puts its URL back). */
  finished?(): void;
}

/**
 * Runs the provider for a request to the token endpoint. What is still held when the provider is
 * done (no opaque access token followed the rotated refresh token: an API JWT) is written before
 * the answer leaves; if that write refuses the rotation, the answer becomes that refusal. After an
 * error answer only the consumption is written, as it was before.
 *
 * One `then` on the provider's work (docs/performance.md, "Token endpoint (client credentials),
 * seventh pass"): the scope's field is set and put back here, where an async function, its await
 * and withinScope's own `then` made three promises per request; a promise more only when a
 * rotation is held.
 */
export function asTokenRequest<T>(work: () => Promise<T>, outcome: TokenRequestOutcome): Promise<T> {
  const request: TokenRequest = { rows: [] };
  const restore = setInScope('token', request);
  // Outside a request (no scope to set a field on): in a scope of its own, as withinScope does.
  if (!restore) return withinScope('token', request, () => heldTokenRequest(request, work, outcome, () => outcome.finished?.()));
  return heldTokenRequest(request, work, outcome, () => {
    restore();
    outcome.finished?.();
  });
}

function heldTokenRequest<T>(request: TokenRequest, work: () => Promise<T>, outcome: TokenRequestOutcome, done: () => void): Promise<T> {
  let running: Promise<T>;
  try {
    running = work();
  } catch (err) {
    done();
    return tokenRequestFailed(request, err);
  }
  return running.then(
    (result) => {
      done();
      if (request.consumed === undefined || !request.write) return result;
      if (!outcome.succeeded()) request.rows = [];
      return request.write([]).then(
        () => result,
        (err: unknown) => {
          if (!(err instanceof errors.OIDCProviderError)) throw err;
          outcome.refuse(err);
          return result;
        },
      );
    },
    (err: unknown) => {
      done();
      return tokenRequestFailed(request, err);
    },
  );
}

/** The provider failed: that failure is the answer, whatever writing the held consumption does. */
function tokenRequestFailed(request: TokenRequest, err: unknown): Promise<never> {
  const rethrow = () => Promise.reject(err as Error);
  if (request.consumed === undefined) return rethrow();
  request.rows = [];
  const writing = request.write ? Promise.resolve().then(() => request.write!([])) : undefined;
  return writing ? writing.then(rethrow, rethrow) : rethrow();
}

/**
 * The last metadata read of each client, for the authorization endpoint alone while the
 * database is unavailable: its registered redirect URIs let the provider send the user back to
 * the portal with `temporarily_unavailable` (RFC 6749 §4.1.2.1) instead of an error page. No
 * other endpoint sees it: a token is never issued on metadata the database did not confirm.
 */
function lastKnownClients(clients: Pick<ClientRegistry, 'providerMetadata'>, isDatabaseUnavailable: IsUnavailable): (id: string) => Promise<AdapterPayload | undefined> {
  const lastKnown = new Map<string, AdapterPayload>();
  return async function findClient(id: string): Promise<AdapterPayload | undefined> {
    try {
      const metadata = await clients.providerMetadata(id);
      lastKnown.delete(id);
      if (metadata) {
        lastKnown.set(id, metadata);
        if (lastKnown.size > LAST_KNOWN_CLIENTS) lastKnown.delete(lastKnown.keys().next().value!);
      }
      return metadata;
    } catch (err) {
      const known = isDatabaseUnavailable(err) && currentScope()?.authorization ? lastKnown.get(id) : undefined;
      if (known) return known;
      throw err;
    }
  };
}

/**
 * oidc-provider's storage adapter over the database: every model lives in one table, so any node
 * serves any session, code or token. Clients come from the client registry instead (read-only
 * here; managed with `tinnhiem client …`).
 */
export function adapterFactory(
  store: PayloadStore,
  clients: Pick<ClientRegistry, 'providerMetadata'>,
  clock: Clock,
  isDatabaseUnavailable: IsUnavailable,
  /**
   * A grant ended (a token revoked, a refresh token replayed, a logout): its API access tokens,
   * JWTs the database holds no row of, are refused from then on (docs/identity.md).
   */
  onGrantEnded?: (grantId: string) => Promise<void>,
): new (model: string) => Adapter {
  const findClient = lastKnownClients(clients, isDatabaseUnavailable);
  const rotation = refreshRotation(store, clock, isDatabaseUnavailable, onGrantEnded);

  const { flushHeld, flushHeldOf, hold } = heldUpserts(store);

  class DatabaseAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are managed through the client registry');
      const expiresAt = expiresIn ? new Date(clock.now().getTime() + expiresIn * 1000) : null;
      forgetModel(this.model);
      if (await rotation.storeRotated(this.model, id, payload, expiresAt)) return;
      if (hold(this.model, id, payload, expiresAt)) return;
      await store.upsert(this.model, id, payload as Record<string, unknown>, expiresAt);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') return findClient(id);
      // A read that goes to the database writes the held upserts first if one is of this row (an
      // answer from the request memo needs not: an upsert of a model forgets that model's reads).
      const withGrant = rotation.findWithGrant(this.model, id, () => flushHeldOf(this.model, id));
      if (withGrant) return withGrant;
      const read = async () => {
        await flushHeldOf(this.model, id);
        return (await store.find(this.model, id, clock.now())) as AdapterPayload | undefined;
      };
      return MEMOISED_MODELS.has(this.model) ? memoised(`${this.model}:id:${id}`, read, copyPayload) : read();
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const read = async () => {
        await flushHeldOf(this.model);
        return (await store.findBy(this.model, 'uid', uid, clock.now())) as AdapterPayload | undefined;
      };
      return MEMOISED_MODELS.has(this.model) ? memoised(`${this.model}:uid:${uid}`, read, copyPayload) : read();
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      await flushHeld();
      return (await store.findBy(this.model, 'user_code', userCode, clock.now())) as AdapterPayload | undefined;
    }

    async consume(id: string): Promise<void> {
      await flushHeldOf(this.model, id);
      forgetModel(this.model);
      if (rotation.holdConsumption(this.model, id)) return;
      const outcome = await store.consume(this.model, id, clock.now());
      if (!outcome || outcome.consumed || !SINGLE_USE_GRANT_SOURCES.has(this.model)) return;
      await refuseRacedConsumption(store, this.model, outcome.grantId, onGrantEnded);
    }

    async destroy(id: string): Promise<void> {
      await flushHeldOf(this.model, id);
      forgetModel(this.model);
      await store.destroy(this.model, id);
      if (this.model === 'Grant') await onGrantEnded?.(id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await flushHeld();
      for (const model of MEMOISED_MODELS) forgetModel(model);
      await store.revokeByGrantId(grantId);
    }
  }
  answerUnavailableAsOAuth(DatabaseAdapter.prototype, isDatabaseUnavailable);
  return DatabaseAdapter;
}

/**
 * Another request consumed this code between oidc-provider's read of it and this write (a
 * parallel burst of one code, on this node or another): RFC 6749 §4.1.2, the request is refused
 * and what the code gave is revoked, as oidc-provider does for a replay it sees
 * (lib/helpers/grant_source.js: revoke the grant, then invalid_grant).
 */
async function refuseRacedConsumption(store: PayloadStore, model: string, grantId: string | null, onGrantEnded?: (grantId: string) => Promise<void>): Promise<never> {
  if (grantId) {
    for (const m of MEMOISED_MODELS) forgetModel(m);
    await store.revokeByGrantId(grantId);
    await store.destroy('Grant', grantId);
    await onGrantEnded?.(grantId);
  }
  throw new errors.InvalidGrant(`${model === 'AuthorizationCode' ? 'authorization code' : 'grant'} already consumed`);
}

/**
 * The request's held upserts (withHeldWrites, oidc/request-memo.ts): `flushHeld` writes them in one
 * statement (after any write under way); `flushHeldOf` writes them before a read or write of a
 * held row (of a model, for a read by another key), else waits for any write under way.
 */
function heldUpserts(store: PayloadStore) {
  /**
   * Writes the request's held upserts (withHeldWrites), if any: one statement for all of them.
   * A read or write of a held row (and every grant revocation) writes them first, so it sees them as before.
   */
  const flushHeld = async (held: HeldWrites | undefined = currentScope()?.held): Promise<void> => {
    if (!held) return;
    if (held.rows.size) {
      const rows = [...(held.rows.values() as Iterable<StoredPayload>)];
      held.rows.clear();
      const write = () => (rows.length === 1 ? store.upsert(rows[0].model, rows[0].id, rows[0].payload, rows[0].expiresAt) : store.upsertMany!(rows));
      // After any write still under way: concurrent operations of one request keep their order.
      held.writing = (held.writing ?? Promise.resolve()).then(write);
    }
    await held.writing;
  };

  /**
   * Before a write of one row (consume, destroy): the held upserts, if one of them is that row's
   * (or a write is under way), so the row's writes keep their order; other rows' are unaffected.
   */
  const flushHeldOf = async (model: string, id?: string): Promise<void> => {
    const held = currentScope()?.held;
    if (!held) return;
    const mine = id === undefined ? [...held.rows.keys()].some((k) => k.startsWith(`${model}\0`)) : held.rows.has(`${model}\0${id}`);
    if (mine) await flushHeld(held);
    else await held.writing;
  };
  /**
   * Holds an upsert until the request's answer is ready (or a read or write of the same row),
   * then it is written with the request's other upserts in one statement: nobody learns of this
   * row (a code, a session cookie) before the answer that carries it, and a failed write fails
   * the request. The payload is copied now: what the provider changes afterwards is not written.
   * False: not held (no held scope, or a model that is not held), write it now.
   */
  const hold = (model: string, id: string, payload: AdapterPayload, expiresAt: Date | null): boolean => {
    const held = store.upsertMany && HELD_MODELS.has(model) ? currentScope()?.held : undefined;
    if (!held) return false;
    held.rows.delete(`${model}\0${id}`);
    held.rows.set(`${model}\0${id}`, { model, id, payload: structuredClone(payload) as Record<string, unknown>, expiresAt } satisfies StoredPayload);
    held.flush ??= () => flushHeld(held);
    return true;
  };
  return { flushHeld, flushHeldOf, hold };
}

/**
 * A database that is restarting answers the OAuth client `temporarily_unavailable` with 503
 * (RFC 6749 §4.1.2.1's code for it), not oidc-provider's generic 500 server_error.
 */
function answerUnavailableAsOAuth(prototype: object, isDatabaseUnavailable: IsUnavailable): void {
  for (const name of Object.getOwnPropertyNames(prototype)) {
    if (name === 'constructor') continue;
    const method = (prototype as Record<string, (...args: unknown[]) => Promise<unknown>>)[name];
    Object.defineProperty(prototype, name, {
      value: async function (this: unknown, ...args: unknown[]) {
        try {
          return await method.apply(this, args);
        } catch (err) {
          throw isDatabaseUnavailable(err) ? temporarilyUnavailable(err) : err;
        }
      },
    });
  }
}

function temporarilyUnavailable(cause: unknown): Error {
  const unavailable = new errors.OIDCProviderError(503, 'temporarily_unavailable', { cause });
  // OIDCProviderError hides 5xx errors behind server_error; this one is meant for the client.
  Object.assign(unavailable, { expose: true, error_description: 'the service is temporarily unavailable; try again shortly' });
  return unavailable;
}

/**
 * The refresh token grant in fewer round trips (docs/performance.md, "Token endpoint and logins"), inside a
 * request to the token endpoint (asTokenRequest) and when the store can: the token and its grant
 * read in one query; the used token consumed and the rotated one stored in one statement, which
 * writes nothing if the used token was consumed meanwhile (a replay racing the first use: the
 * grant ends, as oidc-provider ends it for a replay it sees), or if its grant or its account ended
 * since the read (the store checks both at commit). Elsewhere, nothing changes.
 */
function refreshRotation(store: PayloadStore, clock: Clock, isDatabaseUnavailable: IsUnavailable, onGrantEnded?: (grantId: string) => Promise<void>) {
  const held = () => (store.consumeAndStore ? tokenRequest() : undefined);
  /** Writes the held consumption with its rows and `more`; refuses the grant if it was consumed first. */
  const write = async (request: TokenRequest, more: StoredPayload[]) => {
    const used = request.consumed!;
    const rows = [...request.rows, ...more];
    request.consumed = undefined;
    request.rows = [];
    try {
      if (!rows.length) {
        await store.consume('RefreshToken', used, clock.now());
        return;
      }
      if (await store.consumeAndStore!({ model: 'RefreshToken', id: used }, rows, clock.now())) return;
      const grantId = rows[0].payload.grantId;
      if (typeof grantId === 'string') {
        // As oidc-provider ends a grant whose refresh token was replayed (lib/helpers/revoke.js).
        for (const m of MEMOISED_MODELS) forgetModel(m);
        await store.revokeByGrantId(grantId);
        await store.destroy('Grant', grantId);
        await onGrantEnded?.(grantId);
      }
    } catch (err) {
      throw isDatabaseUnavailable(err) ? temporarilyUnavailable(err) : err;
    }
    // Consumed first by another request, or gone, or its grant or account ended meanwhile (on any node).
    throw new errors.InvalidGrant('refresh token already used, or its grant or account ended');
  };
  return {
    /** Holds a refresh token's consumption for the rotation's one statement; false: consume it now. */
    holdConsumption(model: string, id: string): boolean {
      const request = model === 'RefreshToken' ? held() : undefined;
      if (!request || request.consumed !== undefined) return false;
      request.consumed = id;
      request.write = (more) => write(request, more);
      return true;
    },

    /**
     * The rotated refresh token is held with the consumption; the opaque access token that
     * follows it is written with both. False: nothing is held, upsert it.
     */
    async storeRotated(model: string, id: string, payload: AdapterPayload, expiresAt: Date | null): Promise<boolean> {
      const request = held();
      if (request?.consumed === undefined) return false;
      const row = { model, id, payload: payload as Record<string, unknown>, expiresAt };
      if (model === 'RefreshToken' && !request.rows.length) {
        request.rows.push(row);
        return true;
      }
      if (model !== 'AccessToken') return false;
      await write(request, [row]);
      return true;
    },

    /**
     * The token or code, its grant, session and account (read in the same query) kept for the
     * provider's reads of them in this request; null: read it as usual.
     */
    findWithGrant(model: string, id: string, before: () => Promise<void>): Promise<AdapterPayload | undefined> | null {
      if (!WITH_GRANT_MODELS.has(model) || !store.findWithGrant || !tokenRequest()) return null;
      return before().then(() => store.findWithGrant!(model, id, clock.now())).then((found) => {
        const { payload, grant, account } = found;
        if (typeof payload?.grantId === 'string') void memoised(`Grant:id:${payload.grantId}`, async () => grant as AdapterPayload | undefined, copyPayload);
        // The session binding's read (oidc-provider's checkSessionBinding: Session.findByUid).
        if (typeof payload?.sessionUid === 'string' && 'session' in found) void memoised(`Session:uid:${payload.sessionUid}`, async () => found.session as AdapterPayload | undefined, copyPayload);
        if (typeof payload?.accountId === 'string' && account !== undefined) rememberAccount(payload.accountId, account);
        return payload as AdapterPayload | undefined;
      });
    },
  };
}
