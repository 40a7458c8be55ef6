import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, outgoingRequestsAsInProduction, textOf } from '../../support/oidc-rp.js';
import { addPortal, portalAuthorizationUrl, startFederation, type FederationSetup, type Portal } from '../../support/federation.js';
import { dvcqgUpstreamInput } from '../../../src/dev/dvcqg-dev.js';

/**
 * Issue 7, acceptance 4: an upstream that fails (error responses, timeouts, 5xx, malformed JSON)
 * gives the person a clear page and the portal an OAuth error, and writes nothing. The failing
 * upstream is a small HTTP server speaking DVCQG's endpoints, one behaviour at a time.
 */
type Mode =
  | 'authorize-denied'
  | 'authorize-server-error'
  | 'token-500'
  | 'token-timeout'
  | 'token-malformed-json'
  | 'token-invalid-grant'
  | 'token-connection-reset'
  | 'userinfo-500'
  | 'userinfo-timeout'
  | 'userinfo-malformed-json'
  | 'userinfo-not-json'
  | 'userinfo-no-national-id';

let mode: Mode = 'token-500';
let failing: Server;
let failingUrl = '';
let f: FederationSetup;
let portal: Portal;

function startFailingUpstream(): Promise<void> {
  failing = createServer((req, res) => {
    const url = new URL(req.url ?? '/', failingUrl);
    const json = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    if (url.pathname === '/oauth2/authorize') {
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('state', url.searchParams.get('state')!);
      if (mode === 'authorize-denied') back.searchParams.set('error', 'access_denied');
      else if (mode === 'authorize-server-error') back.searchParams.set('error', 'server_error');
      else back.searchParams.set('code', `code-${mode}`);
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/oauth2/token') {
      if (mode === 'token-500') return json(500, '<html>Internal Server Error</html>');
      if (mode === 'token-timeout') return void setTimeout(() => json(200, '{}'), 4_000);
      if (mode === 'token-malformed-json') return json(200, '{"access_token": "abc", "token_type": ');
      if (mode === 'token-connection-reset') return void req.socket.destroy();
      if (mode === 'token-invalid-grant') return json(400, '{"error":"invalid_grant","error_description":"code expired"}');
      return json(200, JSON.stringify({ access_token: 'at-123', token_type: 'Bearer', expires_in: 1800 }));
    }
    if (url.pathname === '/oauth2/userinfo') {
      if (mode === 'userinfo-500') return json(503, '{"error":"temporarily_unavailable"}');
      if (mode === 'userinfo-timeout') return void setTimeout(() => json(200, '{}'), 4_000);
      if (mode === 'userinfo-malformed-json') return json(200, '{"sub": "x", "TechID": ');
      if (mode === 'userinfo-not-json') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html>Bảo trì hệ thống</html>');
      }
      // A well-formed answer without a national ID: unusable for a citizen login.
      return json(200, JSON.stringify({ sub: 'tech-x', TechID: 'tech-x', LoaiTaiKhoan: 1, HoVaTen: 'Không Có Số', loAs: 'LoA2' }));
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve) =>
    failing.listen(0, '127.0.0.1', () => {
      failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

const count = async (table: string, where?: (q: ReturnType<FederationSetup['t']['service']['db']['knex']>) => void) => {
  const q = f.t.service.db.knex(table).count({ n: '*' });
  if (where) where(q as never);
  return Number(((await q) as Array<{ n: string | number }>)[0].n);
};
const snapshot = async () => ({
  accounts: await count('accounts'),
  links: await count('federated_identities'),
  audit: await count('audit_events'),
  sessions: await count('oidc_payloads', (q) => q.whereIn('model', ['Session', 'Grant', 'AuthorizationCode', 'AccessToken'])),
});

beforeAll(async () => {
  await outgoingRequestsAsInProduction();
  await startFailingUpstream();
  f = await startFederation({
    extraUpstreams: () => [
      dvcqgUpstreamInput(failingUrl, { id: 'flaky', label: { vi: 'Cổng thử lỗi', en: 'Failing portal' }, endSessionEndpoint: undefined }),
    ],
  });
  portal = await addPortal(f.t, 'cong-thu-loi');
});

afterAll(async () => {
  await f?.close();
  await new Promise<void>((resolve) => {
    failing?.close(() => resolve());
    failing?.closeAllConnections();
  });
});

const cases: Array<{ mode: Mode; status: number; text: RegExp; error: string }> = [
  { mode: 'authorize-denied', status: 403, text: /đã huỷ đăng nhập/, error: 'access_denied' },
  { mode: 'authorize-server-error', status: 502, text: /từ chối yêu cầu đăng nhập/, error: 'temporarily_unavailable' },
  { mode: 'token-500', status: 502, text: /đang gặp sự cố/, error: 'temporarily_unavailable' },
  { mode: 'token-timeout', status: 502, text: /không phản hồi kịp thời/, error: 'temporarily_unavailable' },
  { mode: 'token-malformed-json', status: 502, text: /không hợp lệ/, error: 'temporarily_unavailable' },
  { mode: 'token-invalid-grant', status: 502, text: /từ chối yêu cầu đăng nhập/, error: 'temporarily_unavailable' },
  { mode: 'token-connection-reset', status: 502, text: /đang gặp sự cố/, error: 'temporarily_unavailable' },
  { mode: 'userinfo-500', status: 502, text: /đang gặp sự cố/, error: 'temporarily_unavailable' },
  { mode: 'userinfo-timeout', status: 502, text: /không phản hồi kịp thời/, error: 'temporarily_unavailable' },
  { mode: 'userinfo-malformed-json', status: 502, text: /không hợp lệ/, error: 'temporarily_unavailable' },
  { mode: 'userinfo-not-json', status: 502, text: /không hợp lệ/, error: 'temporarily_unavailable' },
  { mode: 'userinfo-no-national-id', status: 502, text: /không hợp lệ/, error: 'temporarily_unavailable' },
];

describe(`a failing upstream (${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded'})`, () => {
  it.each(cases)('$mode → page $status, the portal gets $error, nothing written', async ({ mode: m, status, text, error }) => {
    mode = m;
    const browser = new Browser();
    const start = await portalAuthorizationUrl(portal);
    const { page: login } = await browser.follow(start.url);
    const link = /href="([^"]+)"[^>]*data-method="federation-flaky"/.exec(login!.body)![1].replace(/&amp;/g, '&');
    const up = await browser.get(new URL(link, login!.url));
    expect(up.location?.origin).toBe(failingUrl);
    const before = await snapshot();
    const began = Date.now();
    const { page } = await browser.follow(up.location!, portal.redirect);
    expect(Date.now() - began).toBeLessThan(3_500); // the 4 s upstream delay is cut at FEDERATION_TIMEOUT_MS
    expect(page!.status).toBe(status);
    expect(page!.headers.get('content-type')).toMatch(/text\/html/);
    expect(textOf(page!.body)).toMatch(text);
    expect(textOf(page!.body)).toContain('Cổng thử lỗi');
    expect(await snapshot()).toEqual(before);

    const back = /href="([^"]+)" id="return-to-portal"/.exec(page!.body)![1].replace(/&amp;/g, '&');
    const { stoppedAt } = await browser.follow(new URL(back, page!.url), portal.redirect);
    expect(stoppedAt!.searchParams.get('error')).toBe(error);
    expect(stoppedAt!.searchParams.get('state')).toBe(start.state);
    expect(stoppedAt!.searchParams.get('error_description')).toMatch(/^flaky: /);
    expect(await count('accounts')).toBe(before.accounts);
    expect(await count('federated_identities')).toBe(before.links);
  });

  it('the login page offers every declared upstream; an unknown one in the start URL is a 404, nothing written', async () => {
    const before = await snapshot();
    const browser = new Browser();
    const start = await portalAuthorizationUrl(portal);
    const { page: login } = await browser.follow(start.url);
    expect(login!.body).toContain('data-method="federation-dvcqg"');
    expect(login!.body).toContain('data-method="federation-flaky"');
    // An unknown upstream in the start URL: a 404 problem, not a crash.
    const unknown = await browser.get(new URL(login!.url.pathname + '/federation/khong-co', login!.url));
    expect(unknown.status).toBe(404);
    expect(await snapshot()).toEqual(before);
  });
});
