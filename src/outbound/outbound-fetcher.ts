/**
 * The one outbound HTTP client for URLs that certificates name (OCSP responders, CRL
 * distribution points, AIA): signature validation and certificate login both fetch through it.
 * The host name is resolved once, every address checked (address-guard.ts), and the connection
 * made to the checked address itself with the name in the Host header (and as TLS server name),
 * so a second DNS answer cannot rebind the request to an internal address. No redirects, a size
 * cap, one deadline over connection, answer and body. Errors say what kind of failure happened,
 * never the remote's status or body (those go nowhere: a report must not become a probe of
 * internal services).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isLocalhostName, refusedAddress } from './address-guard.js';

export interface OutboundPolicy {
  enabled: boolean;
  timeoutMs: number;
  maxBytes: number;
  /** Private, loopback, link-local and reserved addresses are refused unless allowed (tests, development). */
  allowPrivateNetworks: boolean;
}

export type OutboundFailure = 'disabled' | 'bad-url' | 'refused-address' | 'unresolvable' | 'unreachable' | 'timeout' | 'http-error' | 'redirect' | 'too-large';

export class OutboundFetchError extends Error {
  constructor(
    readonly kind: OutboundFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface OutboundRequest {
  /** A body makes it a POST. */
  body?: Uint8Array;
  contentType?: string;
  accept?: string;
}

export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

export class OutboundFetcher {
  constructor(
    readonly policy: OutboundPolicy,
    private readonly resolve: Resolver = systemResolver,
  ) {}

  /** The checked address to connect to for `url`'s host. */
  async address(url: URL): Promise<string> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const guard = !this.policy.allowPrivateNetworks;
    if (isIP(host)) {
      if (guard && refusedAddress(host)) throw refused();
      return host;
    }
    if (guard && isLocalhostName(host)) throw refused();
    let addresses: Array<{ address: string }>;
    try {
      addresses = await this.resolve(host);
    } catch {
      throw new OutboundFetchError('unresolvable', 'the host name could not be resolved');
    }
    if (!addresses.length) throw new OutboundFetchError('unresolvable', 'the host name could not be resolved');
    // One internal answer is enough to refuse: a name that points inward is not trusted at all.
    if (guard && addresses.some((a) => refusedAddress(a.address))) throw refused();
    return addresses[0].address;
  }

  /** GET (or POST with `body`) of a small object; the body, or an OutboundFetchError. */
  async fetch(target: string, options: OutboundRequest = {}): Promise<Uint8Array> {
    if (!this.policy.enabled) throw new OutboundFetchError('disabled', 'network fetches are disabled (VALIDATION_FETCH)');
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new OutboundFetchError('bad-url', 'not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OutboundFetchError('bad-url', `only http(s) URLs are fetched, not ${url.protocol}`);
    if (url.username || url.password) throw new OutboundFetchError('bad-url', 'URLs with credentials are not fetched');
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.policy.timeoutMs);
    try {
      const address = await this.address(url);
      return await this.exchange(url, address, options, controller.signal);
    } catch (err) {
      if (err instanceof OutboundFetchError) throw err;
      if (controller.signal.aborted) throw new OutboundFetchError('timeout', `no answer within ${this.policy.timeoutMs} ms`);
      throw new OutboundFetchError('unreachable', 'the server could not be reached');
    } finally {
      clearTimeout(timer);
    }
  }

  private exchange(url: URL, address: string, options: OutboundRequest, signal: AbortSignal): Promise<Uint8Array> {
    const name = url.hostname.replace(/^\[|\]$/g, '');
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { host: url.host, accept: options.accept ?? '*/*', connection: 'close' };
    if (options.body) {
      headers['content-type'] = options.contentType ?? 'application/octet-stream';
      headers['content-length'] = String(options.body.byteLength);
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      const req = send(
        {
          host: address,
          port: url.port || (url.protocol === 'https:' ? 443 : 80),
          path: `${url.pathname}${url.search}`,
          method: options.body ? 'POST' : 'GET',
          headers,
          agent: false,
          signal,
          // TLS: the certificate is checked against the name, not the address connected to.
          ...(url.protocol === 'https:' && !isIP(name) ? { servername: name } : {}),
        },
        (res) => this.read(res, resolve, reject),
      );
      req.on('error', reject);
      req.end(options.body ? Buffer.from(options.body) : undefined);
    });
  }

  private read(res: IncomingMessage, resolve: (b: Uint8Array) => void, reject: (e: Error) => void): void {
    const status = res.statusCode ?? 0;
    const fail = (err: OutboundFetchError) => {
      res.destroy();
      reject(err);
    };
    // RFC 5280 §8 / RFC 6960: the object itself, from where the certificate says; no redirects.
    if (status >= 300 && status < 400) return fail(new OutboundFetchError('redirect', 'the server answered with a redirect, which is not followed'));
    if (status < 200 || status >= 300) return fail(new OutboundFetchError('http-error', 'the server did not answer with the object'));
    const max = this.policy.maxBytes;
    if (Number(res.headers['content-length'] ?? 0) > max) return fail(new OutboundFetchError('too-large', `the answer exceeds the limit of ${max} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > max) fail(new OutboundFetchError('too-large', `the answer exceeds the limit of ${max} bytes`));
      else chunks.push(chunk);
    });
    res.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    res.on('error', reject);
  }
}

const refused = () => new OutboundFetchError('refused-address', 'the host is a private address (private, loopback, link-local and reserved networks are not fetched)');
