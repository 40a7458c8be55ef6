/**
 * The login driver's HTTP client: node:http over kept-alive connections instead of `fetch`
 * (undici's streams and header objects). The driver stands for browsers that run elsewhere, but
 * here it shares the server's cores; the cheaper its requests, the less it takes from the server
 * it measures. Both the service's flows and the bare provider's are driven through it.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import type { BrowserTransport } from '../../test/support/oidc-rp.js';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One request over the kept-alive connections: the answer's head and its whole body. */
function exchange(url: string | URL, method: string, init: Record<string, string>, body: string | Buffer | undefined): Promise<{ res: IncomingMessage; body: Buffer<ArrayBuffer> }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...init };
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    const req = request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const httpTransport: BrowserTransport = async (url, init) => {
  const { res, body } = await exchange(url, init.method, init.headers, init.body);
  const out = new Headers();
  const raw = res.rawHeaders;
  const setCookies: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === 'set-cookie') setCookies.push(raw[i + 1]);
    else out.append(raw[i], raw[i + 1]);
  }
  return { status: res.statusCode ?? 0, headers: out, setCookies, body: body.toString('utf8') };
};

/**
 * The same client for openid-client's own requests (discovery, the token request): its
 * `customFetch`, over the same kept-alive connections, answering with a `Response` made from the
 * bytes read. openid-client sends, reads and checks exactly what it does through `fetch` (the
 * token response, the ID token's signature, issuer, audience, nonce); only undici's connection
 * pool and streams are left out of the driver's CPU.
 */
export const httpFetch = async (url: string, init: { method: string; headers: Record<string, string>; body?: unknown }): Promise<Response> => {
  const body = init.body == null ? undefined : init.body instanceof URLSearchParams ? init.body.toString() : typeof init.body === 'string' ? init.body : init.body instanceof Uint8Array ? Buffer.from(init.body) : undefined;
  if (init.body != null && body === undefined) throw new Error('httpFetch: a body neither text, form nor bytes');
  const answer = await exchange(url, init.method, init.headers, body);
  const out = new Headers();
  const raw = answer.res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) out.append(raw[i], raw[i + 1]);
  const status = answer.res.statusCode ?? 0;
  // A Response carries no body on a null-body status (204, 304).
  return new Response(status === 204 || status === 304 ? null : answer.body, { status, headers: out });
};
