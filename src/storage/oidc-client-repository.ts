import type { Knex } from 'knex';
import type { ClientStore, StoredClient } from '../../oidc/ports.js';
import { normalise, type Transaction } from './db.js';
import { OcspRepository } from './ocsp-repository.js';

interface Row {
  client_id: string;
  metadata: Record<string, unknown>;
  secret_sealed: Buffer | Uint8Array | null;
  first_party: boolean;
  description: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const toClient = (r: Row): StoredClient => ({
  clientId: r.client_id,
  metadata: r.metadata,
  secretSealed: normalise.bytes(r.secret_sealed),
  firstParty: r.first_party,
  description: r.description,
  createdAt: normalise.date(r.created_at),
  updatedAt: normalise.date(r.updated_at),
});

/**
 * The issuer id under which client changes travel on the status-change feed (`ocsp_changes`,
 * docs/ocsp.md): not an issuing CA's id, so the OCSP responder ignores them; the serial is the client id.
 */
export const CLIENT_FEED_ISSUER = 'oidc-client';

/** The client registry's store (oidc/ports.ts). */
export class OidcClientRepository implements ClientStore<Transaction> {
  constructor(
    private readonly knex: Knex,
    private readonly kind: 'postgres' | 'embedded' = 'embedded',
  ) {}

  async announce(trx: Transaction, clientId: string, now: Date): Promise<void> {
    const [row] = await trx('ocsp_changes').insert({ issuer_id: CLIENT_FEED_ISSUER, serial: clientId, created_at: now }).returning('id');
    if (this.kind === 'postgres') await trx.raw('select pg_notify(?, ?)', [OcspRepository.channel, String(normalise.int((row as { id: string }).id))]);
  }

  async find(clientId: string, trx?: Transaction): Promise<StoredClient | null> {
    const row = await (trx ?? this.knex)<Row>('oidc_clients').where({ client_id: clientId }).first();
    return row ? toClient(row) : null;
  }

  async list(): Promise<StoredClient[]> {
    return (await this.knex<Row>('oidc_clients').orderBy('client_id')).map(toClient);
  }

  async insert(trx: Transaction, c: StoredClient): Promise<void> {
    await trx('oidc_clients').insert({
      client_id: c.clientId,
      metadata: JSON.stringify(c.metadata),
      secret_sealed: c.secretSealed,
      first_party: c.firstParty,
      description: c.description,
      created_at: c.createdAt,
      updated_at: c.updatedAt,
    });
  }

  async updateSecret(trx: Transaction, clientId: string, secretSealed: Buffer, now: Date): Promise<void> {
    await trx('oidc_clients').where({ client_id: clientId }).update({ secret_sealed: secretSealed, updated_at: now });
  }

  async remove(trx: Transaction, clientId: string): Promise<boolean> {
    // A count from pg, a result object from PGlite's driver: the returned rows say it the same way.
    return (await trx('oidc_clients').where({ client_id: clientId }).del().returning('client_id')).length > 0;
  }
}
