import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Loopback servers the identity tests put around the service: a recording relying party, a balancer. */

/** A loopback HTTP server that records requests (a relying party's back-channel logout URI). */
export interface RecordingServer {
  url: string;
  received: Array<{ method: string; path: string; headers: IncomingMessage['headers']; body: string }>;
  /** Resolves with the next request (or one already received). */
  next(timeoutMs?: number): Promise<RecordingServer['received'][number]>;
  close(): Promise<void>;
}

export async function recordingServer(): Promise<RecordingServer> {
  const received: RecordingServer['received'] = [];
  const waiters: Array<() => void> = [];
  let taken = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = 200;
      res.setHeader('cache-control', 'no-store');
      res.end();
      waiters.splice(0).forEach((w) => w());
    });
  });
  keepAliveAsInProduction(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    async next(timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length <= taken) {
        if (Date.now() > deadline) throw new Error(`nothing reached ${url} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 100);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received[taken++];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A round-robin reverse proxy in front of several nodes: each request goes to the next node, so a
 * login's hops alternate between them. Records which node served which request.
 */
export interface RoundRobinProxy {
  url: string;
  served: Array<{ node: number; method: string; path: string }>;
  setTargets(targets: string[]): void;
  /** The node the next request goes to. */
  nextNode(): number;
  close(): Promise<void>;
}

export async function roundRobinProxy(): Promise<RoundRobinProxy> {
  let targets: string[] = [];
  let turn = 0;
  const served: RoundRobinProxy['served'] = [];
  const server = createServer((req, res) => {
    if (!targets.length) {
      res.statusCode = 503;
      res.end();
      return;
    }
    const node = turn++ % targets.length;
    served.push({ node, method: req.method ?? '', path: req.url ?? '' });
    const target = new URL(req.url ?? '/', targets[node]);
    const upstream = httpRequest(target, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.rawHeaders);
      up.pipe(res);
    });
    upstream.on('error', () => {
      res.statusCode = 502;
      res.end();
    });
    req.pipe(upstream);
  });
  keepAliveAsInProduction(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served,
    setTargets(t) {
      targets = t;
    },
    nextNode: () => turn % Math.max(1, targets.length),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Idle keep-alive connections outlive a loaded test's pauses, as behind a real balancer (the
 * service's own are 65 s): with Node's 5 s default a client reusing one gets ECONNRESET.
 */
function keepAliveAsInProduction(server: Server): void {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
}
