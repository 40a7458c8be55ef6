import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type Router from '@koa/router';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger, type Logger } from '../../src/logging/logger.js';
import { createService, type Service } from '../../src/main.js';
import type { AppState } from '../../src/http/context.js';
import { createTestDatabase, type TestDatabase } from './test-db.js';

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

/** The whole service on a test database, listening on a free loopback port. */
export async function startTestService(
  options: { env?: Record<string, string>; extraRouters?: Router<AppState>[] } = {},
): Promise<TestService> {
  const database = await createTestDatabase();
  await database.close(); // createService opens it itself, as in production
  const config = loadConfig({ env: { LOG_LEVEL: 'info', ...options.env }, file: undefined });
  const { log, lines } = memoryLogger();
  const service = await createService(config, { log, database: database.target, extraRouters: options.extraRouters });
  const server: Server = createServer(service.app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    service,
    database,
    logs: lines,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await service.close();
      await database.destroy();
    },
  };
}
