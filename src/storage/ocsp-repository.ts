import type { Knex } from 'knex';
import { normalise } from './db.js';
import type { CertificateStatus, RevocationReasonName } from '../../ca/records.js';

type Row = Record<string, unknown>;
const date = (v: unknown) => normalise.date(v as Date | string);

/** The status of one certificate as the responder needs it (docs/ocsp.md). */
export interface OcspCertificateStatus {
  issuerId: string;
  serial: string;
  status: CertificateStatus;
  revokedAt: Date | null;
  reason: RevocationReasonName | null;
  /** certificates.status_changed_at: orders responses signed from different statuses. */
  statusAt: Date;
  notAfter: Date;
}

/** A stored pre-signed OCSPResponse (one CertID variant of one certificate). */
export interface StoredOcspResponse {
  issuerId: string;
  serial: string;
  variant: string;
  der: Buffer;
  status: CertificateStatus;
  revokedAt: Date | null;
  reason: RevocationReasonName | null;
  statusAt: Date;
  thisUpdate: Date;
  nextUpdate: Date;
  producedAt: Date;
  refreshAt: Date;
}

export interface OcspChange {
  id: number;
  issuerId: string;
  serial: string;
}

const NOTIFY_CHANNEL = 'tinnhiem_ocsp_changes';

function toStatus(r: Row): OcspCertificateStatus {
  return {
    issuerId: r.issuer_id as string,
    serial: r.serial as string,
    status: r.status as CertificateStatus,
    revokedAt: r.revoked_at == null ? null : date(r.revoked_at),
    reason: (r.revocation_reason as RevocationReasonName) ?? null,
    statusAt: date(r.status_changed_at),
    notAfter: date(r.not_after),
  };
}

function toResponse(r: Row): StoredOcspResponse {
  return {
    issuerId: r.issuer_id as string,
    serial: r.serial as string,
    variant: r.variant as string,
    der: normalise.bytes(r.der as Buffer)!,
    status: r.status as CertificateStatus,
    revokedAt: r.revoked_at == null ? null : date(r.revoked_at),
    reason: (r.revocation_reason as RevocationReasonName) ?? null,
    statusAt: date(r.status_at),
    thisUpdate: date(r.this_update),
    nextUpdate: date(r.next_update),
    producedAt: date(r.produced_at),
    refreshAt: date(r.refresh_at),
  };
}

/**
 * Certificates the responder answers for: signed by us (issued, or ours imported from an earlier
 * system) with their status kept in our registry. Imported certificates of other CAs carry an
 * `ocsp:`/`crl:` status source and are never answered as theirs (RFC 6960 §2.3: unauthorized).
 */
function answerable(q: Knex.QueryBuilder, alias = 'certificates'): Knex.QueryBuilder {
  return q.whereIn(`${alias}.state`, ['issued', 'imported']).where(`${alias}.status_source`, 'registry');
}

/** The OCSP responder's storage: pre-signed responses, the status-change feed, live nodes, job leases. */
export class OcspRepository {
  constructor(
    private readonly knex: Knex,
    private readonly kind: 'postgres' | 'embedded',
  ) {}

  /** The PostgreSQL channel that carries change ids (LISTEN/NOTIFY); see ocsp-change-listener.ts. */
  static readonly channel = NOTIFY_CHANNEL;

  // ── certificate statuses ─────────────────────────────────────────────────────────────────
  async statuses(issuerId: string, serials: readonly string[]): Promise<Map<string, OcspCertificateStatus>> {
    if (serials.length === 0) return new Map();
    const rows: Row[] = await answerable(this.knex('certificates'))
      .where('issuer_id', issuerId)
      .whereIn('serial', [...new Set(serials)])
      .select('issuer_id', 'serial', 'status', 'revoked_at', 'revocation_reason', 'status_changed_at', 'not_after');
    return new Map(rows.map((r) => [r.serial as string, toStatus(r)]));
  }

  /**
   * Unexpired certificates of `issuerIds` whose stored `sha1` response is past its refresh time
   * (half-life), oldest first: an index range on `refresh_at`, then a primary-key lookup each, so
   * a run costs what it signs whatever the registry's size. Missing responses and responses older
   * than their status are found by the sweep (`unsignedPage`).
   */
  async dueForRefresh(issuerIds: readonly string[], now: Date, limit: number): Promise<OcspCertificateStatus[]> {
    if (issuerIds.length === 0) return [];
    const rows: Row[] = await answerable(this.knex({ r: 'ocsp_responses' }).join({ c: 'certificates' }, (j) => j.on('c.issuer_id', 'r.issuer_id').andOn('c.serial', 'r.serial')), 'c')
      .where('r.variant', 'sha1')
      .where('r.refresh_at', '<=', now)
      .whereIn('r.issuer_id', issuerIds)
      .where('c.not_after', '>', now)
      .orderBy('r.refresh_at')
      .limit(limit)
      .select('c.issuer_id', 'c.serial', 'c.status', 'c.revoked_at', 'c.revocation_reason', 'c.status_changed_at', 'c.not_after');
    return rows.map(toStatus);
  }

  /**
   * One page of a walk over the registry in primary-key order (the bulk warm-up, and the
   * background sweep): unexpired certificates of `issuerIds` after `after`, with those that
   * already have a current `sha1` response (present, before its refresh time, signed from the
   * registry's status or a newer one) left out. Each page reads its rows once by key, so a walk
   * over a million certificates costs one pass. `next` is the key to continue after, or null at
   * the end.
   */
  async unsignedPage(
    issuerIds: readonly string[],
    now: Date,
    after: { issuerId: string; serial: string } | null,
    limit: number,
  ): Promise<{ due: OcspCertificateStatus[]; next: { issuerId: string; serial: string } | null }> {
    // One issuer at a time, so that each page is a range of the primary key (issuer_id, serial)
    // read in index order; a row comparison over several issuers made PostgreSQL sort the table.
    const issuers = [...issuerIds].sort();
    const at = after ? issuers.findIndex((id) => id >= after.issuerId) : 0;
    if (at < 0 || issuers.length === 0) return { due: [], next: null };
    const issuerId = issuers[at];
    const afterSerial = after && after.issuerId === issuerId ? after.serial : null;
    const page = answerable(this.knex({ c: 'certificates' }), 'c')
      .where('c.issuer_id', issuerId)
      .where('c.not_after', '>', now)
      .orderBy('c.serial')
      .limit(limit)
      .select('c.issuer_id', 'c.serial', 'c.status', 'c.revoked_at', 'c.revocation_reason', 'c.status_changed_at', 'c.not_after');
    if (afterSerial !== null) page.where('c.serial', '>', afterSerial);
    const rows: Row[] = await this.knex
      .with('page', page)
      .from('page')
      .leftJoin({ r: 'ocsp_responses' }, (j) => j.on('r.issuer_id', 'page.issuer_id').andOn('r.serial', 'page.serial').andOnVal('r.variant', '=', 'sha1'))
      .orderBy('page.serial')
      .select('page.*', this.knex.raw('(r.serial is not null and r.refresh_at > ? and r.status_at >= page.status_changed_at) as current', [now]));
    const last = rows.at(-1);
    const nextIssuer = issuers[at + 1];
    const next =
      rows.length === limit && last
        ? { issuerId, serial: last.serial as string }
        : nextIssuer !== undefined
          ? { issuerId: nextIssuer, serial: '' } // '' sorts before every serial: the next issuer from its start
          : null;
    return { due: rows.filter((r) => !r.current).map(toStatus), next };
  }

  // ── pre-signed responses ─────────────────────────────────────────────────────────────────
  async response(issuerId: string, serial: string, variant: string): Promise<StoredOcspResponse | null> {
    const row = await this.knex('ocsp_responses').where({ issuer_id: issuerId, serial, variant }).first();
    return row ? toResponse(row) : null;
  }

  /**
   * One page of stored `sha1` responses valid past `validAfter`, in primary-key order after
   * `after` (warming a node's memory: a key range, whatever the registry's size).
   */
  async storedPage(after: { issuerId: string; serial: string } | null, validAfter: Date, limit: number): Promise<StoredOcspResponse[]> {
    const q = this.knex('ocsp_responses').where({ variant: 'sha1' }).where('next_update', '>', validAfter);
    if (after) q.whereRaw('(issuer_id, serial) > (?, ?)', [after.issuerId, after.serial]);
    const rows: Row[] = await q.orderBy([{ column: 'issuer_id' }, { column: 'serial' }]).limit(limit);
    return rows.map(toResponse);
  }

  /**
   * Stores responses; each replaces the stored one only if it was signed from the same or a newer
   * status (and, for the same status, produced later). Returns the keys actually stored, so a
   * signer that read the status before a revocation cannot bring `good` back.
   */
  async store(responses: readonly StoredOcspResponse[]): Promise<Set<string>> {
    if (responses.length === 0) return new Set();
    const rows = responses.map((r) => ({
      issuer_id: r.issuerId,
      serial: r.serial,
      variant: r.variant,
      der: r.der,
      status: r.status,
      revoked_at: r.revokedAt,
      revocation_reason: r.reason,
      status_at: r.statusAt,
      this_update: r.thisUpdate,
      next_update: r.nextUpdate,
      produced_at: r.producedAt,
      refresh_at: r.refreshAt,
    }));
    const stored: Row[] = await this.knex('ocsp_responses')
      .insert(rows)
      .onConflict(['issuer_id', 'serial', 'variant'])
      .merge(['der', 'status', 'revoked_at', 'revocation_reason', 'status_at', 'this_update', 'next_update', 'produced_at', 'refresh_at'])
      .where((w) =>
        w
          .whereRaw('ocsp_responses.status_at < excluded.status_at')
          .orWhereRaw('(ocsp_responses.status_at = excluded.status_at and ocsp_responses.produced_at <= excluded.produced_at)'),
      )
      .returning(['issuer_id', 'serial', 'variant']);
    return new Set(stored.map((r) => `${r.issuer_id as string}/${r.serial as string}/${r.variant as string}`));
  }

  /** Drops every stored variant of one certificate (its nodes then sign from the registry). */
  async deleteResponses(issuerId: string, serial: string): Promise<void> {
    await this.knex('ocsp_responses').where({ issuer_id: issuerId, serial }).delete();
  }

  /** Responses past their nextUpdate are never served; removes them (expired certificates' last ones). */
  async deleteStale(now: Date, limit = 10_000): Promise<number> {
    return this.knex('ocsp_responses')
      .whereIn(['issuer_id', 'serial', 'variant'], this.knex('ocsp_responses').where('next_update', '<', now).limit(limit).select('issuer_id', 'serial', 'variant'))
      .delete();
  }

  // ── the status-change feed ───────────────────────────────────────────────────────────────
  /** Appends a change and, on PostgreSQL, notifies the listeners (delivered when it commits). */
  async recordChange(issuerId: string, serial: string, now: Date): Promise<number> {
    return this.knex.transaction(async (trx) => {
      const [row] = await trx('ocsp_changes').insert({ issuer_id: issuerId, serial, created_at: now }).returning('id');
      const id = normalise.int((row as Row).id as string);
      if (this.kind === 'postgres') await trx.raw('select pg_notify(?, ?)', [NOTIFY_CHANNEL, String(id)]);
      return id;
    });
  }

  async changesAfter(id: number, limit = 1000): Promise<OcspChange[]> {
    const rows: Row[] = await this.knex('ocsp_changes').where('id', '>', id).orderBy('id').limit(limit).select('id', 'issuer_id', 'serial');
    return rows.map((r) => ({ id: normalise.int(r.id as string), issuerId: r.issuer_id as string, serial: r.serial as string }));
  }

  async latestChange(): Promise<number> {
    const row = await this.knex('ocsp_changes').max<{ max: string | number | null }>('id as max').first();
    return row?.max == null ? 0 : normalise.int(row.max);
  }

  async pruneChanges(olderThan: Date): Promise<void> {
    await this.knex('ocsp_changes').where('created_at', '<', olderThan).delete();
  }

  // ── live nodes ───────────────────────────────────────────────────────────────────────────
  /** Records this node's progress through the feed; the heartbeat is the database's own clock. */
  async heartbeat(nodeId: string, description: string, appliedChange: number): Promise<void> {
    await this.knex('ocsp_nodes')
      .insert({ node_id: nodeId, description, applied_change: appliedChange, heartbeat_at: this.knex.fn.now(), started_at: this.knex.fn.now() })
      .onConflict('node_id')
      .merge({ applied_change: appliedChange, heartbeat_at: this.knex.fn.now() });
  }

  /** Nodes other than `nodeId`, alive within `aliveMs`, that have not applied change `changeId` yet. */
  async lagging(nodeId: string, changeId: number, aliveMs: number): Promise<string[]> {
    const rows: Row[] = await this.knex('ocsp_nodes')
      .whereNot('node_id', nodeId)
      .where('applied_change', '<', changeId)
      .whereRaw(`heartbeat_at > now() - make_interval(secs => ?)`, [aliveMs / 1000])
      .select('node_id', 'description');
    return rows.map((r) => `${r.node_id as string} (${r.description as string})`);
  }

  async removeNode(nodeId: string): Promise<void> {
    await this.knex('ocsp_nodes').where({ node_id: nodeId }).delete();
  }

  async pruneNodes(deadForMs: number): Promise<void> {
    await this.knex('ocsp_nodes').whereRaw(`heartbeat_at < now() - make_interval(secs => ?)`, [deadForMs / 1000]).delete();
  }

  // ── job leases ───────────────────────────────────────────────────────────────────────────
  /** Takes or renews the lease `name` for `ttlMs`; false while another holder's lease is current. */
  async tryLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const rows: Row[] = await this.knex('ocsp_leases')
      .insert({ name, holder, expires_at: this.knex.raw(`now() + make_interval(secs => ?)`, [ttlMs / 1000]) })
      .onConflict('name')
      .merge(['holder', 'expires_at'])
      .where((w) => w.whereRaw('ocsp_leases.expires_at < now()').orWhereRaw('ocsp_leases.holder = excluded.holder'))
      .returning('holder');
    return rows.length === 1;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.knex('ocsp_leases').where({ name, holder }).delete();
  }
}
