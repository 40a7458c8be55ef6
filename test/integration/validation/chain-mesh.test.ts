import { request } from 'node:http';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { apiClient, run, tmp, writeFile } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { crossSignedMesh, privateKeyPem } from '../../support/cross-signed-mesh.js';
import { b64, type ReportBody } from './validation-support.js';

/**
 * Acceptance 2 of issue 19: a CMS carrying a cross-signed mesh of n + n CA certificates (the
 * 5.6 KB signature that froze the server for a minute) gets a report or a 4xx within the time
 * budget, while /healthz, probed every 50 ms on its own connections, answers within 200 ms.
 */
const BUDGET_MS = 20_000;
// The probe measures wall-clock time. On a machine loaded far beyond its cores (load average 15
// on 2 cores, seen here) the OS alone starves the process for 100–300 ms with no CPU spent by it;
// the stall this test guards against (the unbounded search: 37–78 s for 8 + 8) fails every try.
jest.retryTimes(2, { logErrorsBeforeRetry: true });
let t: TestService;
let api: Awaited<ReturnType<typeof apiClient>>;
const dir = tmp('tinnhiem-mesh-');

beforeAll(async () => {
  t = await startTestService({ env: { VALIDATION_TIME_BUDGET_MS: String(BUDGET_MS) } });
  api = await apiClient(t, 'mesh-client', ['signatures:validate']);
  // One ordinary validation first: the node's first one builds the trust-store snapshot and
  // compiles the code paths, which is not what this test measures.
  await api.call('POST', '/api/v1/signatures/validate', { signature: b64(await meshSignature(1)) });
});
afterAll(async () => {
  await t?.close();
});

/** GET /healthz on a fresh connection; the time until the answer, in ms. */
function probe(url: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${url}/healthz`, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`healthz ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `openssl cms -sign` by the mesh's signer, carrying every mesh certificate. */
async function meshSignature(n: number): Promise<Buffer> {
  const mesh = await crossSignedMesh(n);
  const leaf = writeFile(dir, `leaf-${n}.pem`, mesh.leaf.toString('pem'));
  const key = writeFile(dir, `leaf-${n}.key`, await privateKeyPem(mesh.leafKey));
  const certs = writeFile(dir, `mesh-${n}.pem`, mesh.cas.map((c) => c.toString('pem')).join('\n'));
  const input = writeFile(dir, 'data.txt', 'Công văn số 19/UBND\n');
  const out = join(dir, `mesh-${n}.der`);
  run('openssl', ['cms', '-sign', '-binary', '-nodetach', '-in', input, '-signer', leaf, '-inkey', key, '-certfile', certs, '-outform', 'DER', '-out', out, '-md', 'sha256']);
  return readFileSync(out);
}

describeWithProgram('openssl', 'openssl')('a cross-signed mesh of CA certificates (issue 19, acceptance 2)', () => {
  for (const n of [4, 8, 12]) {
    it(`${n} + ${n} CAs: a report within the budget, /healthz answering within 200 ms throughout`, async () => {
      const signature = await meshSignature(n);
      const latencies: number[] = [];
      const failures: Error[] = [];
      let running = true;
      const prober = (async () => {
        while (running) {
          const tick = performance.now();
          await probe(t.url).then((ms) => latencies.push(ms), (err: Error) => failures.push(err));
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, 50 - (performance.now() - tick))));
        }
      })();
      const started = performance.now();
      const res = await api.call('POST', '/api/v1/signatures/validate', { signature: b64(signature) });
      const elapsed = performance.now() - started;
      running = false;
      await prober;

      expect(failures).toEqual([]);
      expect(elapsed).toBeLessThan(BUDGET_MS);
      expect(res.status === 200 || (res.status >= 400 && res.status < 500)).toBe(true);
      if (res.status === 200) {
        const [s] = (res.body as ReportBody).signatures;
        expect({ indication: s.indication, subIndication: s.subIndication }).toEqual({ indication: 'INDETERMINATE', subIndication: 'NO_CERTIFICATE_CHAIN_FOUND' });
        // The signature itself is intact: only the chain is missing.
        expect(s.errors.join(' ')).toMatch(/no certificate chain to a trusted root: the path search stopped at its limit of \d[\d,]* (signature verifications|candidate certificates examined) per request/);
      }
      expect(latencies.length).toBeGreaterThan(0);
      expect(Math.max(...latencies)).toBeLessThan(200);
    }, 60_000);
  }
});
