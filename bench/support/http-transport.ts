/**
 * The login driver's HTTP client: node:http over kept-alive connections instead of `fetch`
 * (undici's streams and header objects). The driver stands for browsers that run elsewhere, but
 * here it shares the server's cores; the cheaper its requests, the less it takes from the server
 * it measures. Both the service's flows and the bare provider's are driven through it.
 */
import { Agent, request } from 'node:http';
import type { BrowserTransport } from '../../test/support/oidc-rp.js';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export const httpTransport: BrowserTransport = (url, init) =>
  new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);
    const req = request(url, { method: init.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const out = new Headers();
        const raw = res.rawHeaders;
        const setCookies: string[] = [];
        for (let i = 0; i < raw.length; i += 2) {
          if (raw[i].toLowerCase() === 'set-cookie') setCookies.push(raw[i + 1]);
          else out.append(raw[i], raw[i + 1]);
        }
        resolve({ status: res.statusCode ?? 0, headers: out, setCookies, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
