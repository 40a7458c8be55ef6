/**
 * Development tool (not part of `npm run bench`): the validator's reports for many signatures, good
 * and damaged, written one per line with the times of the run replaced, so that two builds can be
 * compared byte for byte (a change meant to make the validator faster must not change what it says).
 *   node bench/validate-report-compare.mjs <worktree with dist/> <fixture dir> <CAdES dir> <out file>
 * <fixture dir>: made by `bench/validate-cold-dev.ts setup` (its signers, keys, documents and
 * detached signatures; one process at a time on its data directory: give each build its own copy).
 * <CAdES dir>: a<i>.der (detached), e<i>.der (attached), h<i>.der (SHA-384) for i < 40, made with
 * `openssl cms -sign -binary -cades [-nodetach] [-md sha384]` from the fixture's c<i>.pem and k<i>.key.
 * Then `cmp` the two output files.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const [root, FIX, C, out] = process.argv.slice(2);
await import(join(root, 'node_modules/reflect-metadata/Reflect.js'));
const { loadConfig } = await import(join(root, 'dist/src/config/load-config.js'));
const { createLogger } = await import(join(root, 'dist/src/logging/logger.js'));
const { createService } = await import(join(root, 'dist/src/service/service.js'));
const config = loadConfig({ env: { DATA_DIR: join(FIX, 'data'), LOG_LEVEL: 'warn', VALIDATION_FETCH: 'false' } });
const service = await createService(config, { log: createLogger({ level: 'warn' }), masterPassphrase: 'bench-validate-passphrase', initialise: false, devCa: true, purpose: 'bench', keyKdfIterations: 10_000 });
const v = service.validation.validator;
const lines = [];
const iso = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;
// Times of the run itself (validatedAt, validationTime, producedAt…) differ between runs; certificates' own times do not.
const stamp = (r) => JSON.stringify(r).replace(iso, (m) => (Math.abs(Date.parse(m) - Date.now()) < 600_000 ? 'NOW' : m));
async function run(label, input) {
  try { lines.push(`${label} ${stamp(await v.validateSignature(input))}`); } catch (err) { lines.push(`${label} ERR ${err.constructor.name} ${err.kind ?? ''} ${err.message}`); }
}
const n = Number(readFileSync(join(FIX, 'n'), 'utf8'));
for (let i = 0; i < n; i += 2) {
  const sig = readFileSync(join(FIX, `s${i}.der`));
  const doc = readFileSync(join(FIX, `d${i}.bin`));
  await run(`${i} ok`, { signature: sig, document: doc });
  if (i % 6 === 0) {
    await run(`${i} again`, { signature: sig, document: doc });
    const d2 = Buffer.from(doc); d2[5] ^= 1;
    await run(`${i} doc`, { signature: sig, document: d2 });
    await run(`${i} nodoc`, { signature: sig });
    await run(`${i} trail`, { signature: Buffer.concat([sig, Buffer.from([1])]) });
    // One byte flipped at positions spread over the signature (certificate, attributes, value).
    for (let k = 0; k < 24; k++) {
      const pos = Math.floor((sig.length * (k * 7919 + i) % (sig.length * 24)) / 24) % sig.length;
      const s2 = Buffer.from(sig); s2[pos] ^= 1 << (k % 8);
      await run(`${i} flip${pos}`, { signature: s2, document: doc });
    }
    await run(`${i} cut`, { signature: sig.subarray(0, sig.length - 7), document: doc });
    await run(`${i} cert`, { signature: sig, document: doc, certificate: readFileSync(join(FIX, `c${i + 1}.pem`)) });
  }
}
for (let i = 0; i < 40; i++) {
  const doc = readFileSync(join(FIX, `d${i}.bin`));
  for (const kind of ['a', 'e', 'h']) {
    const sig = readFileSync(join(C, `${kind}${i}.der`));
    const document = kind === 'e' ? undefined : doc;
    await run(`${kind}${i} ok`, { signature: sig, document });
    await run(`${kind}${i} withdoc`, { signature: sig, document: doc });
    const d2 = Buffer.from(doc); d2[9] ^= 4;
    await run(`${kind}${i} doc`, { signature: sig, document: d2 });
    await run(`${kind}${i} digest`, { signature: sig, digest: { algorithm: 'sha256', value: Buffer.from(await crypto.subtle.digest('SHA-256', doc)) } });
    for (let k = 0; k < 60; k++) {
      const pos = (k * 104729 + i * 31) % sig.length;
      const s2 = Buffer.from(sig); s2[pos] ^= 1 << (k % 8);
      await run(`${kind}${i} flip${pos}`, { signature: s2, document });
    }
    await run(`${kind}${i} chain`, { signature: sig, document, chain: [readFileSync(join(root, 'test/fixtures/vgca/vgca-g1-chinh-phu-subca.pem'))] });
  }
}
await run('fuzz', { signature: readFileSync(join(root, 'test/fixtures/fuzz/cms-constructed-econtent.der')) });
writeFileSync(out, lines.join('\n') + '\n');
console.log(lines.length, 'reports');
await service.close();
process.exit(0);
