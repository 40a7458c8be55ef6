import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { encodePem } from '../../../ca/asn1/der.js';
import { firstStatus, issueLeaf, ocspFiles, requestFor, run, type Leaf, type OcspFiles } from '../ocsp/ocsp-support.js';

/**
 * RFC 5280 §5.2.4: a delta CRL combined with *any* full CRL numbered from its base up to the
 * delta must give each certificate's current status. Every time the service publishes a delta,
 * every such pair is combined by OpenSSL (`verify -crl_check -use_deltas`, an independent reader
 * that honours removeFromCRL) and compared with what OCSP answers at that moment. The story has a
 * hold placed and released after one base and before the next, which the service used to leave
 * "on hold" for relying parties holding a full CRL made during the hold.
 */
let t: TestService;
let files: OcspFiles;
let issuingDer: Uint8Array;
const leaves: Record<string, Leaf> = {};
const checkedDeltas = new Set<string>();
let pairs = 0;

interface StoredCrl {
  number: bigint;
  kind: 'full' | 'delta';
  baseNumber: bigint | null;
  der: Buffer;
}

async function published(): Promise<StoredCrl[]> {
  const rows = await t.service.db.knex('crls').where({ issuer_id: files.issuerId }).orderBy('number').select('number', 'kind', 'base_number', 'der');
  return rows.map((r: Record<string, unknown>) => ({
    number: BigInt(r.number as string),
    kind: r.kind as 'full' | 'delta',
    baseNumber: r.base_number == null ? null : BigInt(r.base_number as string),
    der: Buffer.from(r.der as Uint8Array),
  }));
}

async function ocspStatus(leaf: Leaf): Promise<string> {
  const res = await fetch(`${t.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: requestFor(issuingDer, leaf.serial) as BodyInit });
  return firstStatus(new Uint8Array(await res.arrayBuffer()));
}

function crlPem(c: StoredCrl): string {
  return files.write(`crl-${c.number}.pem`, encodePem(c.der, 'X509 CRL'));
}

/**
 * OpenSSL's verdict on a leaf given one full CRL and one delta: `revoked` or `good`. Without
 * -extended_crl, OpenSSL 3.0 may pick the delta as the full CRL (get_crl_score skips its "no
 * deltas here" test then) and miss every entry of the full one.
 */
async function opensslVerdict(leaf: Leaf, full: string, delta: string): Promise<string> {
  const r = await run('openssl', ['verify', '-crl_check', '-extended_crl', '-use_deltas', '-CAfile', files.root, '-untrusted', files.issuing, '-CRLfile', full, '-CRLfile', delta, leaf.path]);
  if (r.code === 0 && r.output.includes(': OK')) return 'good';
  if (r.output.includes('certificate revoked')) return 'revoked';
  throw new Error(`openssl verify neither accepted nor found a revocation:\n${r.output}`);
}

/** Combines every valid pair for every delta published since the last call; expects OCSP's answers. */
async function everyPairAgreesWithOcsp(): Promise<void> {
  const crls = await published();
  const fresh = crls.filter((c) => c.kind === 'delta' && !checkedDeltas.has(String(c.number)));
  expect(fresh.length).toBeGreaterThan(0);
  const ocsp = Object.fromEntries(await Promise.all(Object.entries(leaves).map(async ([name, leaf]) => [name, await ocspStatus(leaf)] as const)));
  for (const delta of fresh) {
    // §5.2.4 (c) and (d): same issuer, full number ≥ the delta's base and < the delta's number.
    const fulls = crls.filter((c) => c.kind === 'full' && c.number >= delta.baseNumber! && c.number < delta.number);
    expect(fulls.length).toBeGreaterThan(0);
    const deltaPath = crlPem(delta);
    for (const full of fulls) {
      const fullPath = crlPem(full);
      for (const [name, leaf] of Object.entries(leaves)) {
        const verdict = await opensslVerdict(leaf, fullPath, deltaPath);
        expect({ full: Number(full.number), delta: Number(delta.number), leaf: name, status: verdict }).toEqual({ full: Number(full.number), delta: Number(delta.number), leaf: name, status: ocsp[name] });
      }
      pairs++;
    }
    checkedDeltas.add(String(delta.number));
  }
}

const ca = () => t.service.certificates.ca;
const change = (leaf: Leaf, action: 'hold' | 'release' | 'revoke', reason?: 'keyCompromise') => ca().changeStatus({ actor: 'test', serial: leaf.serial, action, reason });

describeWithProgram('openssl', 'openssl')('(full, delta) CRL pairs against OCSP', () => {
  beforeAll(async () => {
    t = await startTestService();
    files = await ocspFiles(t.service);
    issuingDer = (await ca().issuers()).find((i) => i.id === files.issuerId)!.certificate!;
    for (const name of ['a', 'b', 'c']) leaves[name] = await issueLeaf(t.service, files, name);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('gives the current status for every pair through holds, releases, revocations and new bases', async () => {
    await ca().generateCrls(files.issuerId, ['full', 'delta'], { newBase: true }); // base 1
    await everyPairAgreesWithOcsp();

    await change(leaves.a, 'hold'); // after the base: never on it
    await everyPairAgreesWithOcsp();
    expect(await ocspStatus(leaves.a)).toBe('revoked');

    await change(leaves.a, 'release'); // the full CRL made during the hold still lists a
    await everyPairAgreesWithOcsp();
    expect(await ocspStatus(leaves.a)).toBe('good');
    const delta = (await published()).filter((c) => c.kind === 'delta').at(-1)!;
    const text = (await run('openssl', ['crl', '-in', crlPem(delta), '-noout', '-text'])).output;
    expect(text).toMatch(/Delta CRL Indicator: critical/);
    expect(text).toMatch(new RegExp(`Serial Number: (00)?${leaves.a.serial.toUpperCase()}\\s+Revocation Date: [^\\n]+\\n\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Remove From CRL`));

    await change(leaves.b, 'revoke', 'keyCompromise');
    await everyPairAgreesWithOcsp();

    await ca().generateCrls(files.issuerId, ['full', 'delta'], { newBase: true }); // base 2
    await everyPairAgreesWithOcsp();

    await change(leaves.c, 'hold');
    await everyPairAgreesWithOcsp();
    await change(leaves.a, 'hold'); // released once since the first base, held again now
    await everyPairAgreesWithOcsp();
    await change(leaves.c, 'release');
    await everyPairAgreesWithOcsp();
    await ca().generateCrls(files.issuerId, ['delta']); // a scheduled delta: no full CRL with it
    await everyPairAgreesWithOcsp();
    await change(leaves.a, 'release');
    await everyPairAgreesWithOcsp();

    // Every delta the service published was combined with each full CRL it may be combined with.
    const deltas = (await published()).filter((c) => c.kind === 'delta');
    expect(deltas.map((d) => String(d.number)).every((n) => checkedDeltas.has(n))).toBe(true);
    expect(pairs).toBeGreaterThanOrEqual(20);
  });
});
