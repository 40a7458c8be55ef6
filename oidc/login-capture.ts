import type { AdapterPayload } from 'oidc-provider';
import type { StoredPayload } from './ports.js';
import { currentScope, remember, rememberAccount, withinScope } from './request-memo.js';
import { plainCopy } from './plain-copy.js';

/** Models read several times in one request (oidc/request-memo.ts); never codes or tokens. */
export const MEMOISED_MODELS = new Set(['Interaction', 'Session', 'Grant']);

/**
 * The interaction a login step read, as the database (or this node's copy of what it stored,
 * oidc/kept-interactions.ts) held it: the step's result is written only if the stored
 * interaction is still exactly this (src/storage/passkey-repository.ts).
 */
export interface InteractionGuard {
  id?: string;
  payload?: Record<string, unknown>;
}

/** What capturingInteraction collects: the upserts taken, and the guard of the interaction read before. */
export interface Capture {
  rows: StoredPayload[];
  guard?: InteractionGuard;
}

/**
 * Runs `find` (a login step's `provider.Interaction.find`) so that the interaction is read with a
 * guard: this node's copy of the interaction if it stored it and still holds it, else the
 * database's; `guard` says what was read. The step must then write its result through
 * capturingInteraction with that guard, whose statement refuses a changed or ended interaction.
 */
export async function readGuardedInteraction<T>(find: () => Promise<T>): Promise<{ value: T; guard: InteractionGuard }> {
  const guard: InteractionGuard = {};
  const value = await withinScope('guard', guard, find);
  return { value, guard };
}

/**
 * For the adapter's read of interaction `id` (oidc/adapter.ts): inside readGuardedInteraction,
 * `kept()` (this node's copy, taken) or else `read()`, and the guard set to what was found; elsewhere `read()`.
 */
export async function guardedRead(id: string, kept: () => AdapterPayload | undefined, read: () => Promise<AdapterPayload | undefined>): Promise<AdapterPayload | undefined> {
  const guard = currentScope()?.guard as InteractionGuard | undefined;
  if (!guard) return read();
  const found = kept() ?? (await read());
  if (found) Object.assign(guard, { id, payload: plainCopy(found) });
  return found;
}

/**
 * Runs `work` (a login step's `provider.interactionResult`) with the interaction's upserts taken
 * instead of written: `rows` are what it would have stored, for the caller to write in the
 * statement that accepts the login, and only if it does (docs/performance.md, "Logins, seventh
 * pass": a passkey assertion's result is written with its counter, challenge marker and audit
 * event). The rows are copies: what the provider changes afterwards is not in them. With the
 * `guard` of the interaction's read (readGuardedInteraction), its row carries the payload read as
 * `expected`: the statement writes it only if the stored interaction is still that one.
 */
export async function capturingInteraction<T>(work: () => Promise<T>, guard?: InteractionGuard): Promise<{ value: T; rows: StoredPayload[] }> {
  const capture: Capture = { rows: [], guard };
  const value = await withinScope('capture', capture, work);
  return { value, rows: capture.rows };
}

/**
 * After the statement that accepted a login wrote `rows` (capturingInteraction's) and read the
 * account `accountId` (null: gone): both kept as this request's reads, so the resume that follows
 * in the same request (a passkey assertion's, src/web/login/passkey-resume.ts) finds the
 * interaction as written and the account as that statement read it, without reading them again
 * (docs/performance.md, "Passkey login, thirteenth pass"). What the resume then writes is still
 * conditional on the interaction being there (its end is a delete that must find the row).
 */
export function rememberLoginWrites<A>(rows: readonly StoredPayload[], accountId: string, account: A | null): void {
  for (const r of rows) if (MEMOISED_MODELS.has(r.model)) remember(`${r.model}:id:${r.id}`, { ...r.payload, jti: r.id });
  rememberAccount(accountId, account, true);
}

/** An interaction's upsert taken by capturingInteraction (true), not written; false: none under way. */
export function captured(id: string, payload: AdapterPayload, expiresAt: Date | null): boolean {
  const capture = currentScope()?.capture as Capture | undefined;
  if (!capture) return false;
  const expected = capture.guard?.id === id ? capture.guard.payload : undefined;
  capture.rows.push({ model: 'Interaction', id, payload: plainCopy(payload) as Record<string, unknown>, expiresAt, ...(expected ? { expected } : {}) });
  return true;
}
