import { registerCache } from '../ca/cache-registry.js';
import { plainCopy } from './plain-copy.js';

/**
 * At most this many interactions are kept (1.2 KB each, 4.6 MiB at the bound; docs/performance.md,
 * "Soak"); the oldest goes first. One is taken by the login step that reads it, seconds after the
 * authorization request stored it; what stays is the logins never finished, each until it expires.
 */
const MAX_KEPT = 4_096;

interface Kept {
  payload: Record<string, unknown>;
  expiresAt: Date | null;
}

/**
 * The interactions this node has just stored (an authorization request's), as it stored them, for
 * the one login step that reads one with a guard (docs/performance.md, "Passkey login, sixteenth
 * pass"): a passkey's assertion (src/web/login/passkey-resume.ts), whose accepting statement
 * writes the login's result only if the stored interaction is still exactly the one it was given
 * (oidc/login-capture.ts, readGuardedInteraction; src/storage/passkey-repository.ts). An interaction
 * ended or changed since, on any node, refuses the login there and nothing is written; so this
 * copy is never believed beyond what the database still holds.
 *
 * Taken once (a second read goes to the database, with the same guard); forgotten when this node
 * writes or ends the interaction otherwise. Per adapter, as the kept codes (oidc/issued-codes.ts).
 */
export function keptInteractions() {
  const kept = registerCache('kept interactions', new Map<string, Kept>());
  return {
    /** After this node stored interaction `id` (the authorization request's write). */
    stored(id: string, payload: Record<string, unknown>, expiresAt: Date | null, now: Date): void {
      for (const [key, k] of kept) {
        if (k.expiresAt === null || k.expiresAt > now) break;
        kept.delete(key);
      }
      kept.delete(id);
      kept.set(id, { payload: plainCopy(payload), expiresAt });
      if (kept.size > MAX_KEPT) kept.delete(kept.keys().next().value!);
    },

    /** This node wrote or ended it otherwise: its copy is no longer the stored one. */
    forget(id: string): void {
      kept.delete(id);
    },

    /** Interaction `id` as stored by this node (with its `jti`), taken; undefined when not kept or expired. */
    take(id: string, now: Date): Record<string, unknown> | undefined {
      const k = kept.get(id);
      if (!k) return undefined;
      kept.delete(id);
      if (k.expiresAt !== null && k.expiresAt <= now) return undefined;
      return { ...plainCopy(k.payload), jti: id };
    },

    get size(): number {
      return kept.size;
    },
  };
}

export type KeptInteractions = ReturnType<typeof keptInteractions>;
