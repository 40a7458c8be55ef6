import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ClientMetadata } from 'oidc-provider';
import { z } from 'zod';
import { ClientRegistryError } from '../errors.js';
import type { AuditTrail, ClientStore, Clock, SecretSealer, StoredClient, Transactions } from '../ports.js';
import { ALL_SCOPES, API_SCOPES } from '../scopes.js';
import { plainCopy } from '../plain-copy.js';
import { ClientCache } from './client-cache.js';

/**
 * The registry of relying parties (portals, the admin console, back-office services). Metadata is
 * validated here for our policy and again by oidc-provider's own client schema (`validate`).
 * Secrets are random 256-bit values, shown once, sealed with the master key at rest.
 */
const isLoopback = (u: URL) => ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);

const redirectUri = z.string().refine(
  (v) => {
    if (!URL.canParse(v)) return false;
    const u = new URL(v);
    // RFC 6749 §3.1.2: absolute, no fragment. https except loopback during development.
    return !u.hash && (u.protocol === 'https:' || (u.protocol === 'http:' && isLoopback(u)));
  },
  { message: 'must be an absolute https URL without a fragment (http only for localhost)' },
);

export const clientInputSchema = z
  .object({
    clientId: z.string().regex(/^[A-Za-z0-9._-]{3,64}$/, '3–64 characters of A–Z, a–z, 0–9, ".", "_" or "-"'),
    name: z.string().min(1).max(200),
    description: z.string().max(1000).optional(),
    redirectUris: z.array(redirectUri).default([]),
    postLogoutRedirectUris: z.array(redirectUri).default([]),
    backchannelLogoutUri: redirectUri.optional(),
    grantTypes: z.array(z.enum(['authorization_code', 'refresh_token', 'client_credentials'])).min(1).default(['authorization_code', 'refresh_token']),
    authMethod: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']).default('client_secret_basic'),
    /** Scopes this client may ever be granted (the OIDC ones and the API's). */
    scopes: z
      .array(z.string())
      .default(['openid', 'profile', 'email', 'offline_access'])
      .refine((s) => s.every((x) => ALL_SCOPES.includes(x)), { message: `only these scopes exist: ${ALL_SCOPES.join(' ')}` }),
    firstParty: z.boolean().default(false),
    jwksUri: z.url().optional(),
    /** The client's public keys inline (a JWK Set), for private_key_jwt without a jwks_uri. */
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
    /** RFC 9126 §6: this client's authorization requests must come through PAR. */
    requirePushedAuthorizationRequests: z.boolean().default(false),
    /** Our policy: `acr_values` is essential for this client, as an essential `acr` claim is (docs/identity.md). */
    acrValuesEssential: z.boolean().default(false),
    idTokenSignedResponseAlg: z.enum(['ES256', 'RS256', 'PS256']).default('RS256'),
  })
  .superRefine((c, ctx) => {
    if (c.grantTypes.includes('authorization_code') && c.redirectUris.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['redirectUris'], message: 'required for the authorization_code grant' });
    }
    if (c.authMethod === 'none' && c.grantTypes.includes('client_credentials')) {
      ctx.addIssue({ code: 'custom', path: ['grantTypes'], message: 'a public client cannot use client_credentials' });
    }
    if (c.grantTypes.includes('authorization_code') && !c.scopes.includes('openid')) {
      ctx.addIssue({ code: 'custom', path: ['scopes'], message: 'a login client needs the openid scope' });
    }
    if (c.authMethod === 'private_key_jwt' && !c.jwksUri && !c.jwks) {
      ctx.addIssue({ code: 'custom', path: ['jwksUri'], message: 'required for private_key_jwt (or jwks)' });
    }
    if (c.jwksUri && c.jwks) {
      // OIDC Dynamic Client Registration §2: jwks_uri and jwks MUST NOT both be present.
      ctx.addIssue({ code: 'custom', path: ['jwks'], message: 'give jwks_uri or jwks, not both' });
    }
  });

export type ClientInput = z.input<typeof clientInputSchema>;

export interface ClientView {
  clientId: string;
  name: string;
  description: string | null;
  firstParty: boolean;
  hasSecret: boolean;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

const aad = (clientId: string) => `oidc_clients:${clientId}`;

export function toMetadata(c: z.output<typeof clientInputSchema>): ClientMetadata {
  const isApi = (s: string) => (API_SCOPES as readonly string[]).includes(s);
  const oidcScopes = c.scopes.filter((s) => !isApi(s));
  const apiScopes = c.scopes.filter(isApi);
  return {
    client_id: c.clientId,
    client_name: c.name,
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    ...(c.backchannelLogoutUri && { backchannel_logout_uri: c.backchannelLogoutUri, backchannel_logout_session_required: true }),
    grant_types: c.grantTypes,
    response_types: c.grantTypes.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: c.authMethod,
    // OIDC scopes go in `scope` (oidc-provider enforces it); API scopes in `api_scopes`, which
    // bounds the resource server's scopes for this client (oidc/configuration.ts).
    // (A client with no OIDC scope has no authorization_code grant; see the schema above.)
    ...(oidcScopes.length && { scope: oidcScopes.join(' ') }),
    ...(apiScopes.length && { api_scopes: apiScopes.join(' ') }),
    id_token_signed_response_alg: c.idTokenSignedResponseAlg,
    ...(c.jwksUri && { jwks_uri: c.jwksUri }),
    ...(c.jwks && { jwks: c.jwks as ClientMetadata['jwks'] }),
    ...(c.requirePushedAuthorizationRequests && { require_pushed_authorization_requests: true }),
    ...(c.acrValuesEssential && { acr_values_essential: true }),
    first_party: c.firstParty,
  };
}

/** What the admin console and the CLI do with the registry (and what the adapter reads from it). */
export interface ClientRegistry {
  /** Registers a client; returns its secret once (null for public and private_key_jwt clients). */
  add(actor: string, input: ClientInput, options?: { secret?: string }): Promise<{ client: ClientView; secret: string | null }>;
  list(): Promise<ClientView[]>;
  show(clientId: string): Promise<ClientView>;
  remove(actor: string, clientId: string): Promise<void>;
  /** A new secret, returned once; the old one stops working at once. */
  rotateSecret(actor: string, clientId: string): Promise<string>;
  /** What oidc-provider's adapter returns for the Client model: metadata with the opened secret. */
  providerMetadata(clientId: string): Promise<ClientMetadata | undefined>;
  /**
   * Whether `secret` is the client's current secret (constant time; the cached, opened one). With
   * `attempt` (the client-auth throttle's frozen attempt, which carries `secret`), the verdict is
   * kept for that attempt and the entry it was compared with (presentedVerdict), and answers the
   * same attempt against the same entry again without another comparison.
   */
  secretMatches(clientId: string, secret: string, attempt?: object): boolean | Promise<boolean>;
  /**
   * The verdict secretMatches gave `attempt` against `entry` (a cachedEntry), if it compared that
   * attempt with that entry; undefined otherwise. oidc-provider's own comparison of the same
   * presented secret is answered by it (oidc/provider.ts): at most one comparison per request.
   */
  presentedVerdict(attempt: object, entry: object): boolean | undefined;
  /** A change feed entry (or this node's own change) said the client changed: read it afresh. */
  forget(clientId: string): void;
  /**
   * The client's cached entry, if this node holds a trusted one (no read): a new object whenever the
   * client changes, so it can key what is built from it (oidc/provider.ts keeps oidc-provider's
   * Client instance by it). Never to be modified.
   */
  cachedEntry(clientId: string): object | undefined;
}

/**
 * Whether `presented` is the secret whose UTF-8 bytes are `known`, in constant time, without
 * hashing the presented secret (its SHA-256 was a third of the client-auth throttle's admission by
 * the profile, docs/performance.md, "Token endpoint, fifth pass"): the presented bytes are written
 * into a buffer of the known secret's length (cut short or zero-padded) and compared over that
 * whole length, then the lengths are compared. The work depends on the known length (the same for
 * every attempt at one client) and the presented one (the caller's own), never on where the two
 * differ; a longer or shorter presentation never matches.
 */
export function secretEquals(known: Buffer, presented: string): boolean {
  const padded = Buffer.alloc(known.length);
  const written = padded.write(presented, 'utf8');
  const same = timingSafeEqual(padded, known);
  return same && written === known.length && Buffer.byteLength(presented, 'utf8') === known.length;
}

/** The UTF-8 bytes of each cached entry's secret, made once per entry (secretMatches compares them). */
const secretBytes = new WeakMap<ClientMetadata, Buffer>();

/**
 * A cached secret's UTF-8 bytes in a buffer of their own: Buffer.from(string) puts a short string's
 * bytes on Node's 8 KiB pool slab, which each cached entry would keep alive whole
 * (docs/architecture.md, convention 14).
 */
export const secretBytesOf = (known: string): Buffer => Buffer.alloc(Buffer.byteLength(known, 'utf8'), known, 'utf8');

/** A verdict of secretMatches on an attempt: the entry it compared with, and whether it matched. */
interface SecretVerdict {
  entry: ClientMetadata;
  matches: boolean;
}

/** The registry over its store; refusals are ClientRegistryErrors (oidc/errors.ts). */
export class ClientRegistryService<Tx = unknown> implements ClientRegistry {
  constructor(
    private readonly db: Transactions<Tx>,
    private readonly clients: ClientStore<Tx>,
    private readonly audit: AuditTrail<Tx>,
    private readonly sealer: SecretSealer,
    private readonly clock: Clock,
    /** oidc-provider's own metadata validation (Client.validate). */
    private readonly validateWithProvider: (metadata: ClientMetadata) => Promise<void>,
    /** In the removal's transaction: end the client's grants and tokens, its API tokens included. */
    private readonly onRemove?: (tx: Tx, clientId: string) => Promise<void>,
    /** Whether this node follows the change feed (its cached clients can be trusted); never cached without it. */
    followsFeed: () => boolean = () => false,
  ) {
    this.cache = new ClientCache(followsFeed);
  }

  private readonly cache: ClientCache;

  private view(c: StoredClient): ClientView {
    return {
      clientId: c.clientId,
      name: String(c.metadata.client_name ?? c.clientId),
      description: c.description,
      firstParty: c.firstParty,
      hasSecret: !!c.secretSealed,
      metadata: c.metadata,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
    };
  }

  async add(actor: string, input: ClientInput, options: { secret?: string } = {}): Promise<{ client: ClientView; secret: string | null }> {
    const parsed = clientInputSchema.safeParse(input);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new ClientRegistryError(
        'invalid-metadata',
        `${first.path.join('.') || 'client'}: ${first.message}`,
        parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      );
    }
    const c = parsed.data;
    const needsSecret = c.authMethod === 'client_secret_basic' || c.authMethod === 'client_secret_post';
    const secret = needsSecret ? (options.secret ?? randomBytes(32).toString('base64url')) : null;
    const metadata = toMetadata(c);
    try {
      await this.validateWithProvider({ ...metadata, ...(secret && { client_secret: secret }) });
    } catch (err) {
      const e = err as { error_description?: string; message: string };
      throw new ClientRegistryError('invalid-metadata', `client metadata: ${e.error_description ?? e.message}`);
    }
    const now = this.clock.now();
    const stored: StoredClient = {
      clientId: c.clientId,
      metadata,
      secretSealed: secret ? this.sealer.seal(Buffer.from(secret), aad(c.clientId)) : null,
      firstParty: c.firstParty,
      description: c.description ?? null,
      createdAt: now,
      updatedAt: now,
    };
    await this.db.withTransaction(async (trx) => {
      if (await this.clients.find(c.clientId, trx)) throw new ClientRegistryError('already-registered', `client ${c.clientId} already exists`);
      await this.clients.insert(trx, stored);
      await this.audit.append(trx, {
        actor,
        action: 'client.create',
        target: `client:${c.clientId}`,
        details: { redirectUris: c.redirectUris, grantTypes: c.grantTypes, scopes: c.scopes, authMethod: c.authMethod, firstParty: c.firstParty },
      });
    });
    return { client: this.view(stored), secret };
  }

  async list(): Promise<ClientView[]> {
    return (await this.clients.list()).map((c) => this.view(c));
  }

  async show(clientId: string): Promise<ClientView> {
    const c = await this.clients.find(clientId);
    if (!c) throw new ClientRegistryError('unknown-client', `no client ${clientId}`);
    return this.view(c);
  }

  async remove(actor: string, clientId: string): Promise<void> {
    await this.db.withTransaction(async (trx) => {
      if (!(await this.clients.remove(trx, clientId))) throw new ClientRegistryError('unknown-client', `no client ${clientId}`);
      await this.onRemove?.(trx, clientId);
      await this.clients.announce(trx, clientId, this.clock.now());
      await this.audit.append(trx, { actor, action: 'client.remove', target: `client:${clientId}` });
    });
    this.cache.forget(clientId);
  }

  async rotateSecret(actor: string, clientId: string): Promise<string> {
    const secret = randomBytes(32).toString('base64url');
    await this.db.withTransaction(async (trx) => {
      const c = await this.clients.find(clientId, trx);
      if (!c) throw new ClientRegistryError('unknown-client', `no client ${clientId}`);
      if (!c.secretSealed) throw new ClientRegistryError('no-secret', `client ${clientId} does not authenticate with a secret`);
      await this.clients.updateSecret(trx, clientId, this.sealer.seal(Buffer.from(secret), aad(clientId)), this.clock.now());
      await this.clients.announce(trx, clientId, this.clock.now());
      await this.audit.append(trx, { actor, action: 'client.rotate_secret', target: `client:${clientId}` });
    });
    this.cache.forget(clientId);
    return secret;
  }

  private metadata(clientId: string): Promise<ClientMetadata | undefined> {
    return this.cache.get(clientId, async () => {
      const c = await this.clients.find(clientId);
      if (!c) return undefined;
      return { ...c.metadata, client_id: c.clientId, ...(c.secretSealed && { client_secret: this.sealer.open(c.secretSealed, aad(clientId)).toString('utf8') }) };
    });
  }

  async providerMetadata(clientId: string): Promise<ClientMetadata | undefined> {
    const metadata = await this.metadata(clientId);
    // oidc-provider keeps what it is given: a copy, so the cached entry stays as read.
    return metadata && plainCopy(metadata);
  }

  /**
   * secretMatches without a promise when the client's entry is cached and trusted (the token
   * endpoint's common case: one promise and two awaits fewer per request); otherwise the promise
   * of the read.
   */
  secretMatches(clientId: string, secret: string, attempt?: object): boolean | Promise<boolean> {
    const cached = this.cache.peek(clientId);
    if (cached) return this.secretOf(cached, secret, attempt);
    return this.metadata(clientId).then((metadata) => this.secretOf(metadata, secret, attempt));
  }

  private secretOf(metadata: ClientMetadata | undefined, secret: string, attempt: object | undefined): boolean {
    const known = metadata?.client_secret;
    if (typeof known !== 'string') return false;
    // An attempt comes again with each of its client's requests (kept by header, address and
    // endpoint): compared once per entry (a rotated secret is another entry), not at each request
    // with a buffer allocated (docs/performance.md, "Token endpoint (client credentials), tenth
    // pass"). A verdict answers only the caller's own header seen before: no timing of the secret.
    const held = attempt && this.verdicts.get(attempt);
    if (held && held.entry === metadata) return held.matches;
    let a = secretBytes.get(metadata!);
    if (!a) secretBytes.set(metadata!, (a = secretBytesOf(known)));
    const matches = secretEquals(a, secret);
    if (attempt) this.verdicts.set(attempt, { entry: metadata!, matches });
    return matches;
  }

  /**
   * What secretMatches answered each attempt it was given (kept while the attempt is: the
   * connection's, or the request's). The verdict is a function of the attempt's secret and the
   * entry's, both unchangeable, so it holds for as long as both objects do.
   */
  private readonly verdicts = new WeakMap<object, SecretVerdict>();

  presentedVerdict(attempt: object, entry: object): boolean | undefined {
    const held = this.verdicts.get(attempt);
    return held?.entry === entry ? held.matches : undefined;
  }

  forget(clientId: string): void {
    this.cache.forget(clientId);
  }

  cachedEntry(clientId: string): object | undefined {
    return this.cache.peek(clientId);
  }
}
