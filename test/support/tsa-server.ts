import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A real RFC 3161 time-stamping authority for tests: OpenSSL's `openssl ts -reply` behind a tiny
 * HTTP handler (POST application/timestamp-query → application/timestamp-reply), with its own
 * root and a TSA certificate (critical id-kp-timeStamping).
 */
export interface TestTsa {
  url: string;
  dir: string;
  /** PEM files: the TSA root and the TSA's own certificate. */
  root: string;
  cert: string;
  /** Requests answered so far. */
  requests: number;
  close(): Promise<void>;
}

export async function startTestTsa(): Promise<TestTsa> {
  const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-audit-tsa-'));
  const p = (n: string) => join(dir, n);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('root.key'), '-out', p('root.pem'), '-days', '30', '-subj', '/C=VN/CN=Audit TSA Root (test)', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('tsa.key'), '-out', p('tsa.csr'), '-subj', '/C=VN/CN=Audit Test TSA']);
  writeFileSync(p('ext.cnf'), 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n');
  openssl(['x509', '-req', '-in', p('tsa.csr'), '-CA', p('root.pem'), '-CAkey', p('root.key'), '-CAcreateserial', '-out', p('tsa.pem'), '-days', '10', '-extfile', p('ext.cnf')]);
  writeFileSync(p('serial'), '01\n');
  writeFileSync(p('tsa.cnf'), `[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = ${p('serial')}\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\nordering = no\ntsa_name = yes\n`);
  let queue = Promise.resolve();
  const tsa: TestTsa = { url: '', dir, root: p('root.pem'), cert: p('tsa.pem'), requests: 0, close: () => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // One reply at a time: openssl ts -reply increments the serial file.
      queue = queue.then(async () => {
        try {
          if (req.method !== 'POST' || req.headers['content-type'] !== 'application/timestamp-query') throw new Error('not a time-stamp query');
          const n = ++tsa.requests;
          writeFileSync(p(`q${n}.tsq`), Buffer.concat(chunks));
          await run('openssl', ['ts', '-reply', '-config', p('tsa.cnf'), '-queryfile', p(`q${n}.tsq`), '-signer', p('tsa.pem'), '-inkey', p('tsa.key'), '-out', p(`r${n}.tsr`)]);
          res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(readFileSync(p(`r${n}.tsr`)));
        } catch (err) {
          res.writeHead(400).end((err as Error).message);
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tsa.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`;
  tsa.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return tsa;
}
