import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import { createService, type CreateServiceOptions, type Service } from './service.js';
import { packageVersion } from '../lifecycle/version.js';
import { listenCertificateLogin, type CertificateListener } from './certificate-listener.js';

export interface RunningServer {
  readonly service: Service;
  readonly server: Server;
  /** The URL this process listens on (may differ from PUBLIC_URL behind a proxy). */
  readonly listenUrl: string;
  /** Graceful stop: refuse new connections, finish in-flight requests, close the database. */
  stop(reason?: string): Promise<void>;
}

export type ServeOptions = CreateServiceOptions;

/** Opens the service and listens; the caller decides what stops it (signals, tests). */
export async function serve(config: Config, options: ServeOptions): Promise<RunningServer> {
  const { log } = options;
  const service = await createService(config, options);
  const server = createServer(service.handler);
  // Longer than a typical load balancer's idle timeout (60 s), so the balancer closes first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 120_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.server.port, config.server.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await service.close();
    throw err;
  }
  let certificateListener: CertificateListener | undefined;
  if (config.certLogin.tlsPort !== undefined) {
    try {
      certificateListener = await listenCertificateLogin(service, config);
      log.info({ url: certificateListener.url }, 'certificate login listener (mutual TLS) started');
    } catch (err) {
      server.close();
      await service.close();
      throw err;
    }
  }
  const node = { hostname: hostname(), pid: process.pid, version: packageVersion() };
  await service.db.withTransaction((trx) => service.audit.append(trx, { actor: 'system', action: 'service.start', details: node }));
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const listenUrl = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;

  let stopping: Promise<void> | null = null;
  const stop = (reason = 'stop requested'): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason }, 'shutting down: finishing in-flight requests');
      service.beginShutdown();
      await Promise.all([drain(server, config.server.shutdownTimeoutMs, log), certificateListener?.close()]);
      try {
        await service.db.withTransaction((trx) =>
          service.audit.append(trx, { actor: 'system', action: 'service.stop', details: { ...node, reason } }),
        );
      } catch (err) {
        log.warn({ err }, 'could not record service.stop in the audit log');
      }
      await service.close();
      log.info('stopped');
    })();
    return stopping;
  };

  return { service, server, listenUrl, stop };
}

/**
 * Stops accepting connections and waits for in-flight requests. Idle keep-alive connections are
 * closed at once and again as requests finish; past the timeout every connection is cut.
 */
async function drain(server: Server, timeoutMs: number, log: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const sweeper = setInterval(() => server.closeIdleConnections(), 100);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([closed, timedOut]);
  clearInterval(sweeper);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    log.warn({ timeoutMs }, 'shutdown timeout: closing the remaining connections');
    server.closeAllConnections();
    await closed;
  }
}

/** Stops gracefully on SIGTERM/SIGINT and exits 0; a second signal exits at once. */
export function stopOnSignals(running: RunningServer, log: Logger): void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    received = true;
    running
      .stop(signal)
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

export function serviceUrls(config: Config, listenUrl: string): Record<string, string> {
  const base = config.server.publicUrl;
  return {
    listening: listenUrl,
    public: base,
    issuer: `${base}/oidc`,
    discovery: `${base}/oidc/.well-known/openid-configuration`,
    health: `${base}/healthz`,
    readiness: `${base}/readyz`,
    metrics: `${base}/metrics`,
  };
}
