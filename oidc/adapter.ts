import type { Adapter, AdapterPayload } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { ClientRegistry } from './clients/client-registry.js';
import type { Clock, IsUnavailable, PayloadStore, StoredPayload } from './ports.js';
import { currentScope, forgetModel, inRequest, memoised, rememberAccount, setInScope, withinScope } from './request-memo.js';
import { captured, guardedRead, MEMOISED_MODELS } from './login-capture.js';
import { keptInteractions, type KeptInteractions } from './kept-interactions.js';
import { heldUpserts } from './held-writes.js';
import { issuedCodes, type IssuedCodes } from './issued-codes.js';
import { plainCopy } from './plain-copy.js';

const LAST_KNOWN_CLIENTS = 10_000;
const copyPayload = (p: AdapterPayload | undefined) => (p ? plainCopy(p) : p);
/**
 * Read at the token endpoint with their grant, session and account in one query (the code and
 * refresh token grants; each is consumed afterwards, never memoised itself).
 */
const WITH_GRANT_MODELS = new Set(['RefreshToken', 'AuthorizationCode']);
/** Consumed once when redeemed at the token endpoint: a consumption that finds it consumed is a replay. */
const SINGLE_USE_GRANT_SOURCES = new Set(['AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/**
 * A payload by id; inside a request, an interaction and the account it names in one query, the
 * account kept as the request's FindAccount read: a resume reads both (docs/performance.md,
 * "Passkey login, eighth pass"). An interaction read with a guard (oidc/login-capture.ts) is
 * first looked for among those this node stored (`kept`).
 */
async function findOne(store: PayloadStore, model: string, id: string, now: Date, kept: KeptInteractions): Promise<AdapterPayload | undefined> {
  if (model !== 'Interaction') return (await store.find(model, id, now)) as AdapterPayload | undefined;
  return guardedRead(id, () => kept.take(id, now), async () => {
    if (!store.findInteractionWithAccount || !inRequest()) return (await store.find(model, id, now)) as AdapterPayload | undefined;
    const { payload, accountId, account } = await store.findInteractionWithAccount(id, now);
    if (accountId !== undefined && account !== undefined) rememberAccount(accountId, account);
    return payload as AdapterPayload | undefined;
  });
}

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
  /** The refresh token (or authorization code) consumed and not yet written. */
  consumed?: string;
  /** Its model: RefreshToken or AuthorizationCode. */
  consumedModel?: string;
  /** What is stored with that consumption (the rotated refresh token), not yet written. */
  rows: StoredPayload[];
  /** The grant of the code read in this request (revoked if its consumption is refused). */
  codeGrantId?: string;
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
  /** A grant ended (revoked, replayed, logged out): its API JWTs are refused from then on (docs/identity.md). */
  onGrantEnded?: (grantId: string) => Promise<void>,
): new (model: string) => Adapter {
  const findClient = lastKnownClients(clients, isDatabaseUnavailable);
  const [codes, interactions] = [issuedCodes(), keptInteractions()];
  const rotation = refreshRotation(store, clock, isDatabaseUnavailable, codes, onGrantEnded);
  const { flushHeld, flushHeldOf, hold, holdEnd, flushIfEndHeld } = heldUpserts(store, (rows) => codes.storedInRequest(rows, clock.now()));

  class DatabaseAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are managed through the client registry');
      const expiresAt = expiresIn ? new Date(clock.now().getTime() + expiresIn * 1000) : null;
      forgetModel(this.model);
      if (this.model === 'Interaction') interactions.forget(id);
      if (this.model === 'Interaction' && (captured(id, payload, expiresAt) || (await flushIfEndHeld(this.model, id)))) return;
      if (await rotation.storeRotated(this.model, id, payload, expiresAt)) return;
      if (hold(this.model, id, payload, expiresAt)) return;
      await store.upsert(this.model, id, payload as Record<string, unknown>, expiresAt);
      if (this.model === 'Interaction') interactions.stored(id, payload as Record<string, unknown>, expiresAt, clock.now());
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') return findClient(id);
      // A database read writes the held upserts of this row first (the memo's answers need not).
      const withGrant = rotation.findWithGrant(this.model, id, () => flushHeldOf(this.model, id));
      if (withGrant) return withGrant;
      const read = async () => {
        await flushHeldOf(this.model, id);
        return findOne(store, this.model, id, clock.now(), interactions);
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
      if (this.model === 'Interaction') interactions.forget(id);
      if (holdEnd(this.model, id)) return;
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
function refreshRotation(store: PayloadStore, clock: Clock, isDatabaseUnavailable: IsUnavailable, codes: IssuedCodes, onGrantEnded?: (grantId: string) => Promise<void>) {
  const held = () => (store.consumeAndStore ? tokenRequest() : undefined);
  /** Writes the held consumption with its rows and `more`; refuses the grant if it was consumed first. */
  const write = async (request: TokenRequest, more: StoredPayload[]) => {
    const used = request.consumed!;
    const model = request.consumedModel ?? 'RefreshToken';
    const rows = [...request.rows, ...more];
    request.consumed = undefined;
    request.rows = [];
    try {
      // Nothing stored with a refresh token (an API's JWT): consumed alone. A code always by the
      // statement that checks what its read did, which a code kept here skipped (issued-codes.ts).
      if (!rows.length && model === 'RefreshToken') return void (await store.consume(model, used, clock.now()));
      if (await store.consumeAndStore!({ model, id: used }, rows, clock.now())) return;
      const grantId = rows[0]?.payload.grantId ?? request.codeGrantId;
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
    throw new errors.InvalidGrant(model === 'AuthorizationCode' ? 'authorization code already consumed, or its grant or account ended' : 'refresh token already used, or its grant or account ended');
  };
  return {
    /** Holds a refresh token's (or a code's: "Logins, seventh pass") consumption for one statement with what follows; false: consume it now. */
    holdConsumption(model: string, id: string): boolean {
      const request = model === 'RefreshToken' || model === 'AuthorizationCode' ? held() : undefined;
      if (!request || request.consumed !== undefined) return false;
      request.consumed = id;
      request.consumedModel = model;
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
      if (model === 'RefreshToken' && request.consumedModel === 'RefreshToken' && !request.rows.length) {
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
      const request = tokenRequest();
      if (!WITH_GRANT_MODELS.has(model) || !store.findWithGrant || !request) return null;
      return before().then(() => (model === 'AuthorizationCode' && codes.take(id, clock.now())) || store.findWithGrant!(model, id, clock.now())).then((found) => {
        const { payload, grant, account } = found;
        if (model === 'AuthorizationCode' && typeof payload?.grantId === 'string') request.codeGrantId = payload.grantId;
        if (typeof payload?.grantId === 'string') void memoised(`Grant:id:${payload.grantId}`, async () => grant as AdapterPayload | undefined, copyPayload);
        // The session binding's read (oidc-provider's checkSessionBinding: Session.findByUid).
        if (typeof payload?.sessionUid === 'string' && 'session' in found) void memoised(`Session:uid:${payload.sessionUid}`, async () => found.session as AdapterPayload | undefined, copyPayload);
        if (typeof payload?.accountId === 'string' && account !== undefined) rememberAccount(payload.accountId, account);
        return payload as AdapterPayload | undefined;
      });
    },
  };
}
