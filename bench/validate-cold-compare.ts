/**
 * Reports of one checkout over a fixed corpus, for comparing two checkouts byte for byte
 * (development tool, not part of `npm run bench`):
 *   FIX=<dir of validate-cold-dev.ts setup> OUT=<file> M=<signers> node --import tsx bench/hosted-run.ts bench/validate-cold-compare.ts
 * For each of the first M signers of the fixture: the signature as made, the document changed,
 * a signature-value byte changed, a signed-attribute byte changed, a byte of the signer
 * certificate's serial (no signer found) and further into its tbs (the CA's signature fails), its
 * length field overlong, the CMS truncated, a byte appended, another signer's document. Each outcome (report, or the error) goes to OUT as one JSON line, times scrubbed.
 */
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/logging/logger.js';
import { createService } from '../src/service/service.js';

const FIX = process.env.FIX!;
const M = Number(process.env.M ?? 60);
const config = loadConfig({ env: { DATA_DIR: join(FIX, 'data'), LOG_LEVEL: 'warn', VALIDATION_FETCH: 'false' } });
const service = await createService(config, { log: createLogger({ level: 'warn' }), masterPassphrase: 'bench-validate-passphrase', initialise: false, devCa: true, purpose: 'bench', keyKdfIterations: 10_000 });
const validator = service.validation.validator;
const scrub = (text: string) => text.replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g, 'T');
const lines: string[] = [];
const flip = (b: Uint8Array, at: number) => {
  const c = Buffer.from(b);
  c[at] ^= 0x01;
  return c;
};
for (let i = 0; i < M; i++) {
  const sig = readFileSync(join(FIX, `s${i}.der`));
  const doc = readFileSync(join(FIX, `d${i}.bin`));
  const cert = readFileSync(join(FIX, `c${i}.pem`), 'utf8');
  const certDer = Buffer.from(cert.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const certAt = sig.indexOf(certDer);
  const tbsAt = certAt + 4 + 4 + 10; // inside the tbsCertificate (past the headers)
  const attrsAt = sig.lastIndexOf(Buffer.from('06092a864886f70d010905', 'hex')) + 15; // inside signingTime
  const cases: Array<[string, Uint8Array, Uint8Array]> = [
    ['as made', sig, doc],
    ['document changed', sig, flip(doc, 7)],
    ['signature value byte', flip(sig, sig.length - 5), doc],
    ['signed attribute byte', flip(sig, attrsAt), doc],
    ['certificate serial byte', flip(sig, tbsAt), doc],
    ['certificate subject byte', flip(sig, certAt + 200), doc],
    ['certificate length overlong', (() => { const c = Buffer.from(sig); c[certAt + 3] += 1; return c; })(), doc],
    ['truncated', sig.subarray(0, sig.length - 20), doc],
    ['byte appended', Buffer.concat([sig, Buffer.of(7)]), doc],
    ['other document', sig, readFileSync(join(FIX, `d${(i + 1) % M}.bin`))],
  ];
  for (const [name, signature, document] of cases) {
    let outcome: string;
    try {
      outcome = JSON.stringify(await validator.validateSignature({ signature, document }));
    } catch (err) {
      outcome = `error ${(err as Error).message}`;
    }
    lines.push(`${i} ${name}: ${scrub(outcome)}`);
  }
}
writeFileSync(process.env.OUT!, lines.join('\n') + '\n');
process.stdout.write(`${lines.length} outcomes\n`);
await service.close();
process.exit(0);
