import { registerCache } from '../ca/cache-registry.js';
import type { Account } from './account.js';
import type { StoredPayload } from './ports.js';
import { accountReadInRequest } from './request-memo.js';
import { plainCopy } from './plain-copy.js';

/**
 * At most this many codes are kept (3.4 KB each with their rows and account, 14 MiB at the bound;
 * docs/performance.md, "Soak"); the oldest goes first. A code is taken when it is redeemed,
 * within a second: what stays is the codes of logins whose portal never redeemed them, a minute each.
 */
const MAX_KEPT = 4_096;

/** What the token endpoint's read of a code gives (PayloadStore.findWithGrant's answer). */
export interface FoundCode {
  payload: Record<string, unknown>;
  grant: Record<string, unknown>;
  session: Record<string, unknown>;
  /** As FindAccount read it (null: none); absent when the request had not read it. */
  account?: Account | null;
}

interface Kept {
  code: StoredPayload;
  grant: StoredPayload;
  session: StoredPayload;
  account?: Account | null;
}

const live = (row: StoredPayload, now: Date) => row.expiresAt === null || row.expiresAt > now;
/** A row as the store's find answers it: the stored payload (no `jti`) with `restore` over it. */
const asFound = (row: StoredPayload, restore: Record<string, unknown>) => {
  const { jti: _jti, ...stored } = plainCopy(row.payload);
  return { ...stored, ...restore };
};

/**
 * The authorization codes this node has just stored, with the grant, session and account they
 * were stored with (docs/performance.md, "Passkey login, sixteenth pass"): the portal redeems a
 * code within a second, nearly always on the node that issued it, and the token endpoint then
 * needs not read back what this node wrote. Each code is taken once (the first redemption takes
 * it; any later one reads the database, where a replay is seen as before).
 *
 * What may have changed since is checked where it counts, in the statement that consumes the code
 * (PayloadStore.consumeAndStore, for a code): not consumed before (a replay, or a parallel burst,
 * on any node), not expired, its grant live, its account active, and, for a code bound to its
 * session (oidc-provider's expiresWithSession), that session still there, of that account and
 * holding that grant for the client. A logout, a withdrawn grant or a disabled account between the
 * code and its redemption, on any node, refuses the redemption as the database read did. What is
 * not checked again is what a login's claims are made of: the account as the login read it, under
 * a minute earlier (the ID token's claims are those of the authentication).
 *
 * Per adapter (one per provider): two providers in one process (tests of several nodes) never
 * share it.
 */
export function issuedCodes() {
  // Registered (docs/architecture.md, convention 14); emptying it only sends redemptions to the database.
  const kept = registerCache('issued codes', new Map<string, Kept>());
  return {
    /**
     * After a statement stored `rows` (a resume's, or an authorization request's held writes):
     * each code among them kept with its grant and session, if they are among them too, and the
     * account as the request read it (`account(id)`: undefined when it was not read).
     */
    stored(rows: readonly StoredPayload[], now: Date, account: (id: string) => Account | null | undefined): void {
      // Codes live alike (a minute): the oldest kept are the first to expire.
      for (const [id, k] of kept) {
        if (live(k.code, now)) break;
        kept.delete(id);
      }
      for (const code of rows) {
        if (code.model !== 'AuthorizationCode') continue;
        const { grantId, sessionUid, accountId } = code.payload;
        const grant = rows.find((r) => r.model === 'Grant' && r.id === grantId);
        const session = rows.find((r) => r.model === 'Session' && r.payload.uid === sessionUid);
        if (!grant || !session || typeof accountId !== 'string') continue;
        const read = account(accountId);
        kept.set(code.id, { code, grant, session, ...(read === undefined ? {} : { account: plainCopy(read) }) });
        if (kept.size > MAX_KEPT) kept.delete(kept.keys().next().value!);
      }
    },

    /** `stored`, with the accounts as the current request read them (oidc/request-memo.ts). */
    async storedInRequest(rows: readonly StoredPayload[], now: Date): Promise<void> {
      const accounts = new Map<string, Account | null | undefined>();
      for (const r of rows) {
        const id = r.payload.accountId;
        if (r.model === 'AuthorizationCode' && typeof id === 'string') accounts.set(id, (await accountReadInRequest(id)) as Account | null | undefined);
      }
      if (accounts.size) this.stored(rows, now, (id) => accounts.get(id));
    },

    /**
     * The code `id` as the store's findWithGrant would answer it, taken (never answered twice);
     * undefined when it is not kept here or any of its rows has expired (read the store then).
     */
    take(id: string, now: Date): FoundCode | undefined {
      const k = kept.get(id);
      if (!k) return undefined;
      kept.delete(id);
      if (!live(k.code, now) || !live(k.grant, now) || !live(k.session, now)) return undefined;
      const found: FoundCode = { payload: asFound(k.code, { jti: id }), grant: asFound(k.grant, { jti: k.grant.id }), session: asFound(k.session, {}) };
      if ('account' in k) found.account = plainCopy(k.account);
      return found;
    },

    /** How many codes are kept (tests). */
    get size(): number {
      return kept.size;
    },
  };
}

export type IssuedCodes = ReturnType<typeof issuedCodes>;
