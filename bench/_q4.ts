import 'reflect-metadata';
import * as client from 'openid-client';
import { scratchDatabase, startServiceProcess } from './support/bench-kit.js';
import { Browser, codeLogin } from '../test/support/oidc-rp.js';
import { basic } from './support/token-rows.js';
const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL!, 'quick5');
const svc = await startServiceProcess({ DATABASE_URL: scratch.url, DEBUG: 'knex:query' });
try {
  const r = svc.ready;
  const config = await client.discovery(new URL(`${r.url}/oidc`), r.portal.clientId, {}, client.ClientSecretBasic(r.portal.secret), { execute: [client.allowInsecureRequests] });
  let rt = (await codeLogin(config, new Browser(), r.portal.redirectUri, r.official, { prompt: 'consent' })).tokens.refresh_token!;
  await new Promise((x) => setTimeout(x, 300));
  let mine = ''; svc.child.stderr!.on('data', (c: Buffer) => (mine += c.toString())); svc.child.stdout!.on('data', (c: Buffer) => (mine += c.toString()));
  const res = await fetch(`${r.url}/oidc/token`, { method: 'POST', headers: { authorization: basic(r.portal.clientId, r.portal.secret), 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${rt}` });
  console.log(res.status, Object.keys(await res.json() as object));
  await new Promise((x) => setTimeout(x, 300));
  for (const l of mine.split('\n').filter((l) => l.includes('knex:query'))) console.log(l.replace(/^\S+ knex:query /, '').slice(0, 170));
} finally { await svc.stop(); await scratch.drop(); }
