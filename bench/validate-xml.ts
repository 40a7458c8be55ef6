/**
 * The XML row of `npm run bench:validate`: e-invoices signed by `xmlsec1 --sign` (half RSA-2048,
 * half ECDSA P-256, the seller's enveloped signature over DLHDon), validated by our validator
 * (parse, screening, references, signature, chain from the trust store, revocation from the
 * registry, report) and by `xmlsec1 --verify` of the same files in the same run (signature and
 * chain, no revocation), many files per xmlsec1 process so its start-up is amortised.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SignatureValidator } from '../src/validation/signature-validator.js';
import type { Signer } from '../test/integration/validation/validation-support.js';
import { ALG, invoice, signatureTemplate } from '../test/integration/validation/xml-support.js';

const FILES = 40;

export interface XmlBench {
  files: number;
  bytes: number;
  validationsPerSecond: number;
  xmlsecVerifiesPerSecond: number;
}

export async function benchXml(o: { validator: SignatureValidator; rsa: Signer; ec: Signer; root: string; issuing: string; dir: string; seconds: number }): Promise<XmlBench> {
  const files: string[] = [];
  const docs: Buffer[] = [];
  for (let i = 0; i < FILES; i++) {
    const s = i % 2 ? o.ec : o.rsa;
    const template = join(o.dir, `x${i}.tpl.xml`);
    const out = join(o.dir, `x${i}.xml`);
    const seller = signatureTemplate({ id: 'seller', method: s === o.ec ? ALG.ecdsaSha256 : ALG.rsaSha256, refs: [{ uri: '#data', transforms: [ALG.enveloped, ALG.exc] }] });
    writeFileSync(template, invoice({ amount: String(1_000_000 + i), seller }));
    execFileSync('xmlsec1', ['--sign', '--privkey-pem', `${s.key},${s.cert}`, '--id-attr:Id', 'DLHDon', '--output', out, template], { stdio: 'ignore' });
    files.push(out);
    docs.push(readFileSync(out));
  }
  const xmlsec = () => execFileSync('xmlsec1', ['--verify', '--trusted-pem', o.root, '--untrusted-pem', o.issuing, '--id-attr:Id', 'DLHDon', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
  xmlsec(); // sanity: throws unless every file verifies
  for (const d of docs.slice(0, 4)) {
    const r = await o.validator.validateSignature({ kind: 'xml', document: d });
    if (r.indication !== 'TOTAL_PASSED') throw new Error(`XML sample does not validate: ${JSON.stringify(r.signatures[0]?.errors)}`);
  }
  const timed = async (run: () => Promise<number>): Promise<number> => {
    const start = process.hrtime.bigint();
    let n = 0;
    while (Number(process.hrtime.bigint() - start) / 1e9 < o.seconds) n += await run();
    return n / (Number(process.hrtime.bigint() - start) / 1e9);
  };
  let k = 0;
  const validationsPerSecond = await timed(async () => {
    await o.validator.validateSignature({ kind: 'xml', document: docs[k++ % docs.length] });
    return 1;
  });
  const xmlsecVerifiesPerSecond = await timed(async () => {
    xmlsec();
    return files.length;
  });
  return { files: FILES, bytes: docs[0].length, validationsPerSecond, xmlsecVerifiesPerSecond };
}
