/**
 * A hot single-row read as a named prepared statement, on the connection knex's pool hands out
 * (so it never runs inside another caller's transaction, and waits its turn on the embedded
 * database's one connection like every knex query).
 *
 * `--cpu-prof` of cold signature validation (a new signer per validation, bench/validate.ts) put
 * about a third of a validation on the embedded database in the registry read: knex building and
 * binding the query, then PGlite's `query()`, which exchanges parse, describe, bind, describe,
 * execute and sync with the WASM backend one message at a time, and parses and plans the SQL
 * every time. Here the statement is parsed once per connection and each read is one exchange
 * (bind, execute, sync; describe only on the first, whose RowDescription is kept and handed to
 * PGlite's own result parser with every later answer), so the row is what `query()` returns. On PostgreSQL, pg's named statements (parsed and planned once per
 * connection on the server, whose CPU the benchmark reports beside the process's).
 *
 * Anything that goes wrong (a statement the server lost, a driver that is neither) answers
 * `undefined` and the caller runs its knex query, which decides as before.
 */
import type { Knex } from 'knex';
import { parse as pgliteParse, protocol, type PGlite } from '@electric-sql/pglite';
import { isPgConnection } from './pooled-statement.js';

type Row = Record<string, unknown>;

interface PoolClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

const isPglite = (c: unknown): c is PGlite => !!c && typeof (c as PGlite).execProtocol === 'function' && typeof (c as PGlite).runExclusive === 'function';

export class PreparedRead {
  /** Embedded connections on which the statement is parsed (one, in practice). */
  private readonly parsedOn = new WeakSet<object>();
  private bindTemplate: ((values: string[]) => Uint8Array) | null = null;
  /** The statement's RowDescription message, from its first read on the embedded database. */
  private rowDescription: object | null = null;

  constructor(
    private readonly knex: Knex,
    /** Unique per statement text (PostgreSQL keeps one per name per connection). */
    private readonly name: string,
    private readonly text: string,
  ) {}

  /**
   * The first row for `values` (text parameters), null when there is none, undefined when the
   * fast path cannot answer (the caller then runs its knex query).
   */
  async first(values: string[]): Promise<Row | null | undefined> {
    const client = this.knex.client as unknown as PoolClient;
    if (typeof client.acquireConnection !== 'function') return undefined;
    let connection: unknown;
    try {
      connection = await client.acquireConnection();
    } catch {
      return undefined;
    }
    try {
      if (isPglite(connection)) return await this.embedded(connection, values);
      if (isPgConnection(connection)) return ((await connection.query({ name: this.name, text: this.text, values })).rows[0] as Row | undefined) ?? null;
      return undefined;
    } catch {
      this.parsedOn.delete(connection as object);
      this.rowDescription = null;
      return undefined;
    } finally {
      await client.releaseConnection(connection);
    }
  }

  private async embedded(pglite: PGlite, values: string[]): Promise<Row | null> {
    return pglite.runExclusive(async () => {
      if (!this.parsedOn.has(pglite)) {
        await pglite.execProtocol(join([protocol.serialize.parse({ name: this.name, text: this.text, types: values.map(() => TEXT_OID) }), protocol.serialize.sync()]), { syncToFs: false });
        this.parsedOn.add(pglite);
      }
      this.bindTemplate ??= (v) => protocol.serialize.bind({ statement: this.name, values: v });
      // The columns (RowDescription) are the statement's: asked for once, then given to the result
      // reader with each answer, so the backend does not describe them again at every read.
      const described = this.rowDescription;
      const message = join([this.bindTemplate(values), ...(described ? [] : [DESCRIBE_PORTAL]), EXECUTE, SYNC]);
      const { messages } = await pglite.execProtocol(message, { syncToFs: false });
      if (!described) this.rowDescription = (messages as Array<{ name?: string }>).find((m) => m.name === 'rowDescription') ?? null;
      else if ((messages as Array<{ name?: string }>).some((m) => m.name === 'rowDescription')) throw new Error('unexpected row description');
      const [result] = parseResults(described ? [described, ...messages] : messages, pglite);
      return (result?.rows[0] as Row | undefined) ?? null;
    });
  }
}

const TEXT_OID = 25;
const DESCRIBE_PORTAL = protocol.serialize.describe({ type: 'P' });
const EXECUTE = protocol.serialize.execute({});
const SYNC = protocol.serialize.sync();

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

type ParseResults = (messages: unknown[], parsers: unknown) => Array<{ rows: unknown[] }>;
/** PGlite's own reader of a query's messages into rows, with the instance's type parsers. */
const parseResults = (messages: unknown[], pglite: PGlite) => (pgliteParse.parseResults as unknown as ParseResults)(messages, (pglite as unknown as { parsers: unknown }).parsers);
