import pg from 'pg';
import type { Logger } from '../logging/logger.js';
import type { DatabaseTarget } from './db.js';
import { OcspRepository } from './ocsp-repository.js';

export interface ChangeListener {
  close(): Promise<void>;
}

/**
 * PostgreSQL LISTEN on the OCSP change channel over one dedicated connection (a pooled one could
 * be handed to someone else and lose the subscription). `onChange` is called with each change id
 * as the revoking node's transaction commits; it is also called after every (re)connection, since
 * notifications sent while disconnected are lost (the caller then reads the feed from the table).
 * Returns null on the embedded database, where the caller polls the feed instead.
 */
export function listenForOcspChanges(target: DatabaseTarget, log: Logger, onChange: (changeId: number | null) => void): ChangeListener | null {
  if (target.kind !== 'postgres') return null;
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let backoffMs = 250;

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: target.url, connectionTimeoutMillis: 5_000 });
    c.on('notification', (message) => {
      const id = Number(message.payload);
      onChange(Number.isSafeInteger(id) ? id : null);
    });
    c.on('error', (err) => {
      log.warn({ err }, 'OCSP change listener lost its connection; reconnecting');
      scheduleReconnect(c);
    });
    c.on('end', () => scheduleReconnect(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${OcspRepository.channel}`);
      if (closed) {
        await c.end().catch(() => undefined);
        return;
      }
      client = c;
      backoffMs = 250;
      onChange(null);
    } catch (err) {
      log.warn({ err }, 'OCSP change listener could not connect; polling covers the gap');
      scheduleReconnect(c);
    }
  };

  const scheduleReconnect = (c: pg.Client) => {
    if (closed || retry) return;
    if (client === c) client = null;
    c.end().catch(() => undefined);
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, backoffMs);
    retry.unref();
    backoffMs = Math.min(backoffMs * 2, 10_000);
  };

  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}
