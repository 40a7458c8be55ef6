/**
 * The password rows' reference (bench/support/login-rows.ts): scrypt with the service's own
 * parameters, `concurrency` hashes at a time for `seconds`, in a process of its own hosted as the
 * service is (bench/support/hosted.ts: the same build and the same environment, huge pages
 * included), so the bound and the service hash under the same conditions.
 *   node dist/bench/support/scrypt-bound.js <concurrency> <seconds>
 * Prints `SCRYPT-BOUND {"perSecond":…,"cpuMsPerHash":…}`: hashes a second, and the process's CPU
 * per hash (user + system: the pages of each hash's memory are faulted in by the kernel).
 */
import { randomBytes, scrypt } from 'node:crypto';
import { PASSWORD_PARAMS } from '../../src/accounts/password.js';

const [concurrency, seconds] = process.argv.slice(2).map(Number);
if (!(concurrency >= 1) || !(seconds > 0)) throw new Error('usage: scrypt-bound <concurrency> <seconds>');
const { N, r, p, keylen, maxmem } = PASSWORD_PARAMS;
const hash = () => new Promise<void>((resolve, reject) => scrypt('Mật-khẩu-đo-hiệu-năng', randomBytes(16), keylen, { N, r, p, maxmem }, (err) => (err ? reject(err) : resolve())));
// One round first, outside the count: the pool's threads are made at the first hash, and the service's are long made.
await Promise.all(Array.from({ length: concurrency }, hash));
const end = Date.now() + seconds * 1000;
const started = performance.now();
const cpu = process.cpuUsage();
let n = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) {
      await hash();
      n++;
    }
  }),
);
const spent = process.cpuUsage(cpu);
process.stdout.write(`SCRYPT-BOUND ${JSON.stringify({ perSecond: n / ((performance.now() - started) / 1000), cpuMsPerHash: (spent.user + spent.system) / 1000 / Math.max(1, n) })}\n`);
