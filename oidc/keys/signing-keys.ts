import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { AuditTrail, Clock, SecretSealer, SigningKeyStore, StoredSigningKey, Transactions } from '../ports.js';

/**
 * Token signing keys: one EC P-256 key (ES256) and one RSA-3072 key (RS256, and PS256 for
 * clients that ask) per generation. Private JWKs are sealed with the master key in the database,
 * so every node signs with the same keys.
 *
 * Rotation publishes before it uses: each family always has a `next` key in the JWKS. Rotating
 * makes `next` the signing key, retires the old one (still published until every token it signed
 * has expired) and generates a new `next`. Relying parties that cache the JWKS therefore already
 * know a key when tokens signed with it first appear.
 */
export const FAMILIES = [
  { alg: 'ES256', generate: () => generateKeyPair('ES256', { extractable: true }) },
  { alg: 'RS256', generate: () => generateKeyPair('RS256', { modulusLength: 3072, extractable: true }) },
] as const;

export interface KeySet {
  /** Private JWKs in the order oidc-provider should prefer them: active, next, retired. */
  privateJwks: JWK[];
  /** Public JWKs of every published key (for local verification of our own access tokens). */
  publicJwks: JWK[];
  /** Changes whenever a key is added, activated or retired (nodes poll it). */
  version: string;
}

const aad = (kid: string) => `oidc_keys:${kid}`;
const ORDER: Record<StoredSigningKey['state'], number> = { active: 0, next: 1, retired: 2 };

export class SigningKeyService<Tx = unknown> {
  constructor(
    private readonly db: Transactions<Tx>,
    private readonly keys: SigningKeyStore<Tx>,
    private readonly audit: AuditTrail<Tx>,
    private readonly sealer: SecretSealer,
    private readonly clock: Clock,
    /** How long a retired key stays published: the longest lifetime of a JWT we sign, plus skew. */
    private readonly retiredKeyLifetimeMs: number,
  ) {}

  private async generate(trx: Tx, alg: string, state: 'next' | 'active'): Promise<StoredSigningKey> {
    const family = FAMILIES.find((f) => f.alg === alg)!;
    const { privateKey, publicKey } = await family.generate();
    const kid = randomUUID();
    const now = this.clock.now();
    // RSA keys carry no `alg`, so oidc-provider may use them for RS256 and PS256 alike.
    const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, use: 'sig', ...(alg === 'ES256' && { alg }) };
    const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, use: 'sig', ...(alg === 'ES256' && { alg }) };
    const key: StoredSigningKey = {
      kid,
      alg,
      state,
      privateJwkSealed: this.sealer.seal(Buffer.from(JSON.stringify(privateJwk)), aad(kid)),
      publicJwk: publicJwk as Record<string, unknown>,
      createdAt: now,
      activatedAt: state === 'active' ? now : null,
      retiredAt: null,
      removeAfter: null,
    };
    await this.keys.insert(trx, key);
    return key;
  }

  /** Creates the first active and next key of each family when none exist; idempotent. */
  async ensureInitialised(actor: string): Promise<boolean> {
    return this.db.withTransaction(async (trx) => {
      await this.keys.lockForRotation(trx);
      const existing = await this.keys.published(this.clock.now(), trx);
      let created = false;
      for (const { alg } of FAMILIES) {
        const mine = existing.filter((k) => k.alg === alg);
        if (!mine.some((k) => k.state === 'active')) {
          const key = await this.generate(trx, alg, 'active');
          await this.audit.append(trx, { actor, action: 'oidc.key.create', target: `oidc-key:${key.kid}`, details: { alg, state: 'active' } });
          created = true;
        }
        if (!mine.some((k) => k.state === 'next')) {
          const key = await this.generate(trx, alg, 'next');
          await this.audit.append(trx, { actor, action: 'oidc.key.create', target: `oidc-key:${key.kid}`, details: { alg, state: 'next' } });
          created = true;
        }
      }
      return created;
    });
  }

  async rotate(actor: string): Promise<{ activated: string[]; retired: string[]; created: string[] }> {
    return this.db.withTransaction(async (trx) => {
      await this.keys.lockForRotation(trx);
      const now = this.clock.now();
      const existing = await this.keys.published(now, trx);
      const result = { activated: [] as string[], retired: [] as string[], created: [] as string[] };
      for (const { alg } of FAMILIES) {
        const mine = existing.filter((k) => k.alg === alg);
        const next = mine.find((k) => k.state === 'next') ?? (await this.generate(trx, alg, 'next'));
        for (const old of mine.filter((k) => k.state === 'active')) {
          await this.keys.update(trx, old.kid, { state: 'retired', retiredAt: now, removeAfter: new Date(now.getTime() + this.retiredKeyLifetimeMs) });
          result.retired.push(old.kid);
        }
        await this.keys.update(trx, next.kid, { state: 'active', activatedAt: now });
        result.activated.push(next.kid);
        const fresh = await this.generate(trx, alg, 'next');
        result.created.push(fresh.kid);
      }
      await this.audit.append(trx, { actor, action: 'oidc.key.rotate', target: null, details: result });
      return result;
    });
  }

  async load(): Promise<KeySet> {
    const stored = (await this.keys.published(this.clock.now())).sort((a, b) => ORDER[a.state] - ORDER[b.state]);
    if (!stored.some((k) => k.state === 'active')) {
      throw new Error('no active token signing key: run `tinnhiem init` first');
    }
    return {
      privateJwks: stored.map((k) => JSON.parse(this.sealer.open(k.privateJwkSealed, aad(k.kid)).toString('utf8')) as JWK),
      publicJwks: stored.map((k) => k.publicJwk as JWK),
      version: stored.map((k) => `${k.kid}:${k.state}`).join(','),
    };
  }

  /** Cheap check for the poller: the same string as KeySet.version, without opening any key. */
  async version(): Promise<string> {
    const stored = (await this.keys.published(this.clock.now())).sort((a, b) => ORDER[a.state] - ORDER[b.state]);
    return stored.map((k) => `${k.kid}:${k.state}`).join(',');
  }

  async list(): Promise<Array<Omit<StoredSigningKey, 'privateJwkSealed' | 'publicJwk'>>> {
    return (await this.keys.published(this.clock.now())).map(({ privateJwkSealed: _p, publicJwk: _j, ...rest }) => rest);
  }
}
