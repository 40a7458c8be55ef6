import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type Router from '@koa/router';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger, type Logger } from '../../src/logging/logger.js';
import { createService, type Service } from '../../src/service/service.js';
import { developmentDemo } from '../../src/dev/dev-seed.js';
import type { AppState } from '../../src/web/context.js';
import { createTestDatabase, type TestDatabase } from './test-db.js';

export const TEST_PASSPHRASE = 'test-master-passphrase';

/**
 * For tests of issuance mechanics (crashes, several nodes, concurrency) rather than of the RA:
 * tls-server under the demo zone and without the approval it needs by default (docs/ca.md, "Name
 * policy").
 */
export const TLS_AT_ONCE: Record<string, string> = { CA_DNS_SUFFIXES: '{"tls-server":["soctrang.gov.vn"]}', CA_PROFILE_APPROVALS: '{"tls-server":0}' };

export interface TestService {
  url: string;
  service: Service;
  database: TestDatabase;
  /** Every log line the service wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** A log destination that keeps lines in memory (tests assert on what was and wasn't logged). */
export function memoryLogger(level = 'info'): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ level, destination }), lines };
}

export interface StartOptions {
  env?: Record<string, string>;
  extraRouters?: Router<AppState>[];
  /** Share a database with another instance (several nodes); it is then not destroyed on close. */
  database?: TestDatabase;
  /** Public URL when the instance sits behind a test load balancer. */
  publicUrl?: string;
  /** Host name of the public URL instead of 127.0.0.1 (WebAuthn needs a domain: `localhost`). */
  publicHost?: string;
  /** `ocsp`: a responder-only node (`serve --role ocsp`). */
  role?: 'all' | 'ocsp';
  /** As `serve --dev`: the home page's demo credentials and the demo portal at /demo. */
  development?: boolean;
}

/**
 * The whole service on a test database, listening on a free loopback port. The listener comes
 * first, so PUBLIC_URL (and the OIDC issuer) can name the real port.
 */
export async function startTestService(options: StartOptions = {}): Promise<TestService> {
  const database = options.database ?? (await createTestDatabase());
  const ownsDatabase = !options.database;
  if (ownsDatabase) await database.close(); // createService opens it itself, as in production
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server: Server = createServer((req, res) => handler(req, res));
  // As `tinnhiem serve` (src/service/serve.ts): idle keep-alive connections live longer than a
  // client's pause. Node's default (5 s) closes them while a loaded test's client is about to
  // reuse one, and fetch then fails with ECONNRESET.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Key files live in DATA_DIR: the embedded database's directory, or a temporary one on PostgreSQL.
  database.keyDir ??= database.env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'tinnhiem-keys-'));
  const config = loadConfig({ env: { LOG_LEVEL: 'info', PUBLIC_URL: options.publicUrl ?? (options.publicHost ? url.replace('127.0.0.1', options.publicHost) : url), DATA_DIR: database.keyDir, ...options.env } });
  const { log, lines } = memoryLogger();
  const service = await createService(config, {
    log,
    database: database.target,
    extraRouters: options.extraRouters,
    masterPassphrase: TEST_PASSPHRASE,
    initialise: true,
    devCa: true,
    purpose: 'test',
    keyKdfIterations: 10_000,
    role: options.role,
    development: options.development ? developmentDemo() : undefined,
  });
  handler = service.handler;
  return {
    url,
    service,
    database,
    logs: lines,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await service.close();
      if (ownsDatabase) await database.destroy();
    },
  };
}
