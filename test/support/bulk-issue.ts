/**
 * Issues certificates one after another and prints `ISSUED <serial>` once each issuance call has
 * returned, i.e. once a caller holds the certificate. The crash test SIGKILLs this process midway.
 */
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/logging/logger.js';
import { createService } from '../../src/service/service.js';
import { csrFor } from '../../src/dev/seed-registry.js';

const count = Number(process.argv[2] ?? 500);
const config = loadConfig();
const service = await createService(config, { log: createLogger({ level: 'warn' }), masterPassphrase: 'test-master-passphrase', initialise: true, devCa: true, keyKdfIterations: 10_000, purpose: 'bulk-issue' });
process.stdout.write('READY\n');
for (let i = 0; i < count; i++) {
  const host = `may-chu-${i}.soctrang.gov.vn`;
  const outcome = await service.certificates.ra.issueDirect('test:bulk', { csr: await csrFor(false), profileId: 'tls-server', holder: { subject: { C: 'VN', O: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG', CN: host }, dnsNames: [host] } });
  process.stdout.write(`ISSUED ${outcome.issued!.serial}\n`);
}
await service.close();
process.stdout.write('DONE\n');
