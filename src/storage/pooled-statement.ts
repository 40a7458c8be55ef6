/**
 * A hot statement of constant text, run on PostgreSQL as a named prepared statement straight on a
 * connection of knex's pool, without knex's raw builder and runner (docs/performance.md, "Passkey
 * login, fifteenth pass"). Measured here (bench: the same named statement, 8 in flight): through
 * `knex.raw(…).options({ name })` 66 µs of the process's CPU per statement, straight on the
 * connection 26 µs. What knex did per call: a Raw builder, its `?` placeholders rewritten to
 * `$n` over the whole text (the login statements are long CTEs), a runner, its query object and
 * events. Here the `$n` text is made once per statement name.
 *
 * The meaning stays knex's: the connection comes from the same pool (so the statement never runs
 * inside another caller's transaction, and waits its turn like any knex query), knex's `query`
 * event is emitted (the query-count tests listen to it), `undefined` bindings are sent as NULL as
 * knex sends them, and a connection that failed (not a statement the server refused) is marked as
 * knex marks it, so its pool drops it. The embedded database (PGlite) runs the knex query as
 * before: its one connection is not a `pg` client.
 */
import type { Knex } from 'knex';

interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
  __knexUid?: string;
  __knex__disposed?: unknown;
}

interface PoolingClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
  emit(event: string, payload: unknown): boolean;
}

/** Whether a knex instance's connections are `pg` clients, learnt from its first connection. */
const pgPools = new WeakMap<object, boolean>();
/** Each statement's text with `$n` placeholders, by name, with the text it was made from (PostgreSQL keeps one statement per name). */
const pgTexts = new Map<string, { sql: string; text: string }>();

/** A connection of the `pg` driver (the embedded database's is a PGlite instance). */
export const isPgConnection = (c: unknown): c is PgConnection => !!c && typeof (c as PgConnection).query === 'function' && 'connectionParameters' in (c as object);

/** knex's `?` placeholders as `$1…$n`; the statements given here have no `??` and no escaped `\?`. */
function numbered(name: string, sql: string): string {
  const known = pgTexts.get(name);
  if (known) {
    if (known.sql !== sql) throw new Error(`statement ${name}: another text under the same name`);
    return known.text;
  }
  if (/\?\?|\\\?/.test(sql)) throw new Error(`statement ${name}: only plain ? placeholders can be numbered`);
  let n = 0;
  const text = sql.replace(/\?/g, () => `$${++n}`);
  pgTexts.set(name, { sql, text });
  return text;
}

/** SQLSTATE errors come from the server with the connection still good; anything else is the connection's. */
const isStatementError = (err: unknown) => typeof (err as { code?: unknown })?.code === 'string' && /^[0-9A-Z]{5}$/.test((err as { code: string }).code);

/**
 * Runs `sql` (knex `?` placeholders, constant per `name`) with `bindings` and answers as
 * `knex.raw(sql, bindings).options({ name })` answers on PostgreSQL: `{ rows, rowCount }`.
 */
export async function runPooledStatement<R>(knex: Knex, name: string, sql: string, bindings: readonly Knex.RawBinding[]): Promise<{ rows: R[]; rowCount: number | null }> {
  const client = knex.client as unknown as PoolingClient;
  const text = numbered(name, sql);
  if (pgPools.get(client) === false) return viaKnex<R>(knex, name, sql, bindings);
  const connection = await client.acquireConnection();
  if (!isPgConnection(connection)) {
    pgPools.set(client, false);
    await client.releaseConnection(connection);
    return viaKnex<R>(knex, name, sql, bindings);
  }
  pgPools.set(client, true);
  try {
    // Only when someone listens on the knex instance (knex's own forwarder is always on its client).
    if (knex.listenerCount('query') > 0) client.emit('query', { method: 'raw', sql: text, bindings, options: { name }, __knexUid: connection.__knexUid });
    return (await connection.query({ name, text, values: bindings.map((v) => (v === undefined ? null : v)) })) as { rows: R[]; rowCount: number | null };
  } catch (err) {
    if (!isStatementError(err)) connection.__knex__disposed = err;
    throw err;
  } finally {
    await client.releaseConnection(connection);
  }
}

async function viaKnex<R>(knex: Knex, name: string, sql: string, bindings: readonly Knex.RawBinding[]): Promise<{ rows: R[]; rowCount: number | null }> {
  return (await knex.raw(sql, bindings).options({ name })) as { rows: R[]; rowCount: number | null };
}
