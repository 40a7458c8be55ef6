import type { AdapterPayload } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { PayloadStore, StoredPayload } from './ports.js';
import { currentScope, type HeldWrites } from './request-memo.js';
import { plainCopy } from './plain-copy.js';

/**
 * Upserts held for the request's one statement (withHeldWrites): what a login's resume stores.
 * Not the interaction (the authorization request's first write: while the database is down it
 * must fail inside oidc-provider, which then redirects with temporarily_unavailable), nor tokens.
 */
const HELD_MODELS = new Set(['Session', 'Grant', 'AuthorizationCode']);
/**
 * Destroyed with the held upserts, in their statement, which writes them only if it deleted the
 * row (PayloadStore.destroyAndStore): the interaction a login's resume ends (docs/performance.md,
 * "Logins, seventh pass"). Of a parallel burst of one resume, one request ends it; the others'
 * session, grant and code are not written and they are answered with an error.
 */
const ENDED_WITH_HELD_MODELS = new Set(['Interaction']);

/**
 * The request's held upserts (withHeldWrites, oidc/request-memo.ts): `flushHeld` writes them in one
 * statement (after any write under way); `flushHeldOf` writes them before a read or write of a
 * held row (of a model, for a read by another key), else waits for any write under way.
 * `onStored` is told of the rows once their statement has written them (oidc/issued-codes.ts).
 */
export function heldUpserts(store: PayloadStore, onStored?: (rows: readonly StoredPayload[]) => Promise<void>) {
    /**
   * Writes the request's held upserts (withHeldWrites), if any: one statement for all of them.
   * A read or write of a held row (and every grant revocation) writes them first, so it sees them as before.
   */
  const flushHeld = async (held: HeldWrites | undefined = currentScope()?.held): Promise<void> => {
    if (!held) return;
    const ended = held.ended;
    if (held.rows.size || ended) {
      const rows = [...(held.rows.values() as Iterable<StoredPayload>)];
      held.rows.clear();
      held.ended = undefined;
      const write = async () => {
        if (ended) {
          if (!(await store.destroyAndStore!(ended, rows))) throw new errors.SessionNotFound('interaction session not found');
        } else if (rows.length === 1) await store.upsert(rows[0].model, rows[0].id, rows[0].payload, rows[0].expiresAt);
        else await store.upsertMany!(rows);
        await onStored?.(rows);
      };
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
    const mine = id === undefined ? [...held.rows.keys()].some((k) => k.startsWith(`${model}\0`)) || held.ended?.model === model : held.rows.has(`${model}\0${id}`) || endHeld(model, id, held);
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
    held.rows.set(`${model}\0${id}`, { model, id, payload: plainCopy(payload) as Record<string, unknown>, expiresAt } satisfies StoredPayload);
    held.flush ??= () => flushHeld(held);
    return true;
  };
  /**
   * Holds the end of a row (ENDED_WITH_HELD_MODELS) for the statement of the held upserts, which
   * writes them only if it deleted it. False: not held (no held scope, a store without the
   * statement, another model, or an end already held), destroy it now.
   */
  const holdEnd = (model: string, id: string): boolean => {
    const held = store.destroyAndStore && ENDED_WITH_HELD_MODELS.has(model) ? currentScope()?.held : undefined;
    if (!held || held.ended) return false;
    held.ended = { model, id };
    held.flush ??= () => flushHeld(held);
    return true;
  };
  /** Whether the end of this row is held (a write or read of it writes what is held first). */
  const endHeld = (model: string, id: string, held: HeldWrites | undefined = currentScope()?.held): boolean => held?.ended !== undefined && held.ended.model === model && held.ended.id === id;
  /** Before an upsert of a row whose end is held: that end written first, so it does not undo the upsert. Always false (the upsert is still to do). */
  const flushIfEndHeld = async (model: string, id: string): Promise<false> => {
    if (endHeld(model, id)) await flushHeld();
    return false;
  };
  return { flushHeld, flushHeldOf, hold, holdEnd, flushIfEndHeld };
}
