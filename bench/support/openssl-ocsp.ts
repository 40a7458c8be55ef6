/**
 * The reference responder of the OCSP benchmark (bench/ocsp.ts): `openssl ocsp -multi` over an
 * index.txt, signing every response live, with the OpenSSL 3.0 pitfalls found while measuring.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

const sh = (cmd: string, args: string[], cwd?: string) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** An OpenSSL CA with a delegated signer and an index.txt of `serials`: the reference responder. */
export function opensslCa(dir: string, serials: string[]) {
  const c = (...args: string[]) => sh('openssl', args, dir);
  c('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/C=VN/O=Bench/CN=Bench CA', '-days', '30');
  writeFileSync(join(dir, 'signer.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\nnoCheck=ignored\n');
  c('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'signer.key', '-out', 'signer.csr', '-subj', '/C=VN/O=Bench/CN=Bench OCSP');
  c('x509', '-req', '-in', 'signer.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'signer.pem', '-days', '30', '-extfile', 'signer.ext');
  const expiry = new Date(Date.now() + 365 * 86_400_000).toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  writeFileSync(join(dir, 'index.txt'), serials.map((s, i) => `V\t${expiry}\t\t${s.toUpperCase()}\tunknown\t/CN=holder ${i}`).join('\n') + '\n');
  // Without it OpenSSL refuses an index with repeated subjects ("Error creating name index").
  writeFileSync(join(dir, 'index.txt.attr'), 'unique_subject = no\n');
  return { ca: join(dir, 'ca.pem') };
}

/** -multi forks workers into the responder's own process group: stop the group, and the process itself. */
export function killGroup(child: ChildProcess | undefined): void {
  for (const pid of child?.pid ? [-child.pid, child.pid] : []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export async function startOpensslResponder(dir: string, probe: Uint8Array): Promise<{ url: string; child: ChildProcess }> {
  // Below the ephemeral range (32768–60999 on Linux): the runs before this one leave thousands of
  // client ports there, and a dual-stack [::] bind on one of them accepts nothing over IPv4 (seen here).
  const port = 10_000 + Math.floor(Math.random() * 20_000);
  // OpenSSL 3.0's -port takes a number and binds every interface; the bench only connects over
  // loopback. One process per core (-multi); each keeps a connection alive between requests.
  const logFd = openSync(join(dir, 'openssl.log'), 'w');
  const child = spawn('openssl', ['ocsp', '-index', 'index.txt', '-port', String(port), '-rsigner', 'signer.pem', '-rkey', 'signer.key', '-CA', 'ca.pem', '-nmin', '60', '-multi', String(cpus().length)], { cwd: dir, stdio: ['ignore', logFd, logFd] });
  // Not `detached`: with -multi, OpenSSL makes itself a process-group leader (setpgid), which fails
  // in a new session, and it then exits 1 with the reason only in syslog (seen here). Its group id
  // is its pid either way, so the whole group is still killed with kill(-pid).
  // Ready when it answers a real request: with a large index it prints ACCEPT long before its
  // workers have loaded it. Never probe with a bare connection: OpenSSL 3.0's -multi responder stops
  // answering altogether after a connection that closes without a request (seen here).
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    const answered = await fetch(`${url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request', connection: 'close' }, body: probe as BodyInit, signal: AbortSignal.timeout(5_000) })
      .then((r) => r.arrayBuffer().then(() => r.ok))
      .catch(() => false);
    if (answered) break;
    if (Date.now() > deadline) throw new Error(`openssl ocsp did not answer within 180 s: ${readFileSync(join(dir, 'openssl.log'), 'utf8')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  return { url, child };
}
