import 'reflect-metadata';
import * as client from 'openid-client';
import { scratchDatabase, startServiceProcess } from './support/bench-kit.js';
import { Browser, codeLogin } from '../test/support/oidc-rp.js';
import { basic } from './support/token-rows.js';
import { wrkPost } from './support/load-generators.js';
const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL!, 'quick6');
const svc = await startServiceProcess({ DATABASE_URL: scratch.url });
try {
  const r = svc.ready;
  const config = await client.discovery(new URL(`${r.url}/oidc`), r.portal.clientId, {}, client.ClientSecretBasic(r.portal.secret), { execute: [client.allowInsecureRequests] });
  const pool: string[] = [];
  for (let i = 0; i < 32; i++) pool.push((await codeLogin(config, new Browser(), r.portal.redirectUri, r.official, { prompt: 'consent' })).tokens.refresh_token!);
  console.log(await wrkPost({ url: `${r.url}/oidc/token`, headers: { authorization: basic(r.portal.clientId, r.portal.secret), 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token' }, { connections: 16, seconds: 8, rotate: { field: 'refresh_token', answer: 'refresh_token', pool } }));
} finally { await svc.stop(); await scratch.drop(); }
