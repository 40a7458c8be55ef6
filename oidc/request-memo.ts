import providerStorage from 'oidc-provider/lib/helpers/als.js';
import { plainCopy } from './plain-copy.js';

/**
 * Reads memoised for one HTTP request (docs/performance.md, "Logins"): oidc-provider and the
 * login pages read the same interaction, session, grant and account rows several times while
 * answering one request (the interaction when its details are shown and again when the result is
 * stored; the account at each of the provider's checks). Within a request, the second read is
 * answered from the first. Any write of a model through the adapter forgets that model's entries,
 * so a read after a write goes to the database. Outside a request (the CLI, background jobs)
 * nothing is memoised. Authorization codes and tokens are never memoised here (their consumption
 * is what detects a replay).
 */
type Memo = Map<string, Promise<unknown>>;

/**
 * Everything a request keeps in async context, in one object (docs/performance.md, "Token
 * endpoint, fourth pass"): the memo, the token request's held rotation and the authorization
 * request. `memo` is absent outside a request's handling.
 *
 * It is kept on the store of **oidc-provider's own AsyncLocalStorage** (lib/helpers/als.js), not
 * in a store of our own (docs/performance.md, "Token endpoint (client credentials), seventh
 * pass"): under Node 20 every AsyncLocalStorage in use is propagated onto every promise and
 * resource the process makes (a hook call and a property each: a second one cost about 7 KB of
 * garbage per client-credentials grant, and its share of every promise's hooks). That store is a
 * request's Koa context inside oidc-provider's routes (it runs `als.run(ctx, …)`; its callbacks
 * and `Provider.ctx` read it); a request's scope is put on that same context, under a symbol of
 * ours, and the request's whole handling runs with the context as the store
 * (withRequestMemo(work, ctx)), so the scope is found before, inside and after the provider's own
 * run, which sets the same object again. oidc-provider's code called outside its routes (the login
 * pages' interaction reads) then sees the request's Koa context where it saw nothing before.
 */
export interface RequestScope {
  memo?: Memo;
  /** The token endpoint's held rotation (oidc/adapter.ts, asTokenRequest). */
  token?: unknown;
  /** Set while the provider answers an authorization request (oidc/adapter.ts, asAuthorizationRequest). */
  authorization?: true;
  /** Upserts held until the request's answer is ready (withHeldWrites; oidc/adapter.ts). */
  held?: HeldWrites;
  /** Interaction upserts taken instead of written, for a statement of the caller's (oidc/login-capture.ts, capturingInteraction). */
  capture?: unknown;
  /** Set while a login step reads its interaction with a guard (oidc/login-capture.ts, readGuardedInteraction). */
  guard?: unknown;
}

/**
 * The adapter's upserts of one request, held and written together (oidc/adapter.ts): `flush`
 * writes what is held (set by the adapter when it holds something). Present only where a flush
 * before the answer is certain (withHeldWrites).
 */
export interface HeldWrites {
  rows: Map<string, unknown>;
  /**
   * A row ended by this request (a login's resume ends its interaction), deleted with the held
   * upserts in one statement, which writes them only if it deleted it (oidc/adapter.ts).
   */
  ended?: { model: string; id: string };
  flush?: () => Promise<void>;
  /** The write under way (the adapter's operations wait for it, so none overtakes a held row). */
  writing?: Promise<void>;
}

/**
 * Runs `next` (the rest of a request's handling, before its answer is written) with the adapter's
 * upserts held, and writes what is held when it is done, before the answer leaves: a flush that
 * fails fails the request (its error is the answer). After an error of the request itself, what
 * is held is written too (as it would have been without holding), and the request's error stays
 * the answer. `onFlushFailed` runs when the write after a successful `next` fails (before its error
 * is thrown), to take back what the answer already carries. Outside a request's memo scope, `next` runs as it is.
 */
export async function withHeldWrites<T>(next: () => Promise<T>, onFlushFailed?: () => void): Promise<T> {
  const scope = currentScope();
  if (!scope?.memo || scope.held) return next();
  const held: HeldWrites = { rows: new Map() };
  scope.held = held;
  let result: T;
  try {
    result = await next();
  } catch (err) {
    scope.held = undefined;
    await held.flush?.().catch(() => undefined);
    throw err;
  }
  scope.held = undefined;
  if (held.flush) {
    try {
      await held.flush();
    } catch (err) {
      // The answer prepared (a redirect carrying a code that was not stored) does not leave.
      onFlushFailed?.();
      throw err;
    }
  }
  return result;
}
/** The request's scope, on the store (a request's Koa context, or an object of withinScope's). */
const SCOPE = Symbol('tinnhiem request scope');
interface Carrier {
  [SCOPE]?: RequestScope;
}

/**
 * Runs `work` (one request's handling) with a memo of its own. `carrier` is the request's Koa
 * context, the one oidc-provider runs its routes in (koa-mount hands it the host's context; the
 * token endpoint's lean path runs on the provider's own): the scope is kept on it, so that inside
 * the provider's run it is still found. Without one (tests, the CLI), an object of its own.
 */
export function withRequestMemo<T>(work: () => T, carrier: object = {}): T {
  (carrier as Carrier)[SCOPE] = { memo: new Map() };
  return providerStorage.run(carrier, work);
}

/** The current request's scope, if any. */
export function currentScope(): RequestScope | undefined {
  const store = providerStorage.getStore();
  return typeof store === 'object' && store !== null ? (store as Carrier)[SCOPE] : undefined;
}

/**
 * Runs `work` with `field` of the request's scope set to `value`, as a store of its own would: in
 * a request, on that request's scope for the time of `work` (the earlier value back after it, so
 * nothing that outlives `work` still sees it); outside one, in a scope of its own without a memo.
 * Callers await `work` (a request's handling is sequential while it runs).
 */
export function withinScope<K extends 'token' | 'authorization' | 'capture' | 'guard', T>(field: K, value: NonNullable<RequestScope[K]>, work: () => Promise<T>): Promise<T> {
  const scope = currentScope();
  if (!scope) return providerStorage.run({ [SCOPE]: { [field]: value } } satisfies Carrier, work);
  const earlier = scope[field];
  scope[field] = value;
  const restore = () => {
    scope[field] = earlier;
  };
  let running: Promise<T>;
  try {
    running = work();
  } catch (err) {
    restore();
    throw err;
  }
  // One promise where `finally` makes three (its own, and the two of its callback's result):
  // every token request passes here (docs/performance.md, "Token endpoint, sixth pass").
  return running.then(
    (value) => {
      restore();
      return value;
    },
    (err: unknown) => {
      restore();
      throw err;
    },
  );
}

/**
 * withinScope's first half, for callers that chain their own continuation on `work` (one promise
 * where withinScope and the caller's own made two or more; oidc/adapter.ts, asTokenRequest): sets
 * `field` of the request's scope to `value` and returns what puts the earlier value back, which
 * the caller must call when `work` is done, however it ends. Outside a request, undefined (use
 * withinScope then).
 */
export function setInScope<K extends 'token' | 'authorization'>(field: K, value: NonNullable<RequestScope[K]>): (() => void) | undefined {
  const scope = currentScope();
  if (!scope) return undefined;
  const earlier = scope[field];
  scope[field] = value;
  return () => {
    scope[field] = earlier;
  };
}

/**
 * `load()`'s answer, read once per request for `key` (`<model>:…`). A failed read is not kept.
 * `copy` gives each caller its own copy when callers may change what they get.
 */
export function memoised<T>(key: string, load: () => Promise<T>, copy: (value: T) => T = (v) => v): Promise<T> {
  const memo = currentScope()?.memo;
  if (!memo) return load();
  let pending = memo.get(key) as Promise<T> | undefined;
  if (!pending) {
    pending = load();
    memo.set(key, pending);
    pending.catch(() => memo.delete(key));
  }
  return pending.then(copy);
}

/** Forgets every memoised read of `model` in this request (after a write to it). */
export function forgetModel(model: string): void {
  const memo = currentScope()?.memo;
  if (!memo) return;
  for (const key of memo.keys()) if (key.startsWith(`${model}:`)) memo.delete(key);
}

const accountKey = (id: string) => `Account:${id}`;

/** An account lookup memoised per request (each caller gets its own copy). */
export function accountReadOncePerRequest<A>(find: (id: string) => Promise<A | null>): (id: string) => Promise<A | null> {
  return (id) => memoised(accountKey(id), () => find(id), (a) => (a ? plainCopy(a) : a));
}

/**
 * An account read by another query of this request (the refresh token grant reads it with the
 * token: oidc/adapter.ts), kept as accountReadOncePerRequest's read of it for the rest of the
 * request. A read already kept stays, unless `replacing` (a read made later in the request than
 * it); outside a request, nothing is kept.
 */
export function rememberAccount<A>(id: string, account: A | null, replacing = false): void {
  if (replacing) remember(accountKey(id), account);
  else if (currentScope()?.memo) void memoised(accountKey(id), async () => account);
}

/**
 * The account `id` as this request has read it (null: no such account), if it has and the read is
 * done; undefined otherwise. Outside a request, undefined.
 */
export async function accountReadInRequest(id: string): Promise<unknown> {
  const pending = currentScope()?.memo?.get(accountKey(id));
  return pending ? pending.catch(() => undefined) : undefined;
}

/**
 * Keeps `value` as this request's read of `key`, replacing a read kept before: for what this
 * request has just written itself (oidc/login-capture.ts, rememberLoginWrites). Outside a request, nothing.
 */
export function remember(key: string, value: unknown): void {
  currentScope()?.memo?.set(key, Promise.resolve(value));
}

/** Whether the caller runs inside a request's handling (tests attribute queries to requests with it). */
export function inRequest(): boolean {
  return currentScope()?.memo !== undefined;
}
