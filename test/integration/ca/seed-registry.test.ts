/**
 * The demo seed (src/dev/seed-registry.ts; docs/ca.md, "Demo registry") on the database of the
 * test run: its RSA holders take keys of the published demo pool, each certificate still its own
 * key through the batch path's checks; a second seed of the same registry leaves out the pooled
 * keys the CA would now refuse (in a live certificate, or blocked by a keyCompromise revocation)
 * and succeeds, and no key is then in two live certificates; the audit chain verifies.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { startTestService, type TestService } from '../../support/test-app.js';
import { seedRegistry } from '../../../src/dev/seed-registry.js';
import { demoRsaKey, demoRsaKeyCount } from '../../../src/dev/demo-rsa-keys.js';
import { verifyChain } from '../../../src/audit/audit-chain.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t?.close();
});

const spkiHex = (der: Buffer) => Buffer.from(new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' })).toString('hex');

async function liveKeys(): Promise<Array<{ serial: string; spki: string; rsa: boolean }>> {
  const rows = (await t.service.db.knex('certificates').where({ state: 'issued' }).whereNot('status', 'revoked').whereNotNull('der').select('serial', 'der')) as Array<{ serial: string; der: Uint8Array }>;
  return rows.map((r) => {
    const cert = new X509Certificate(Buffer.from(r.der));
    return { serial: r.serial, spki: spkiHex(cert.raw), rsa: cert.publicKey.asymmetricKeyType === 'rsa' };
  });
}

describe('seedRegistry with the demo RSA pool', () => {
  it('issues RSA holders with pooled keys, once each; a second seed of the same registry succeeds with no key in two live certificates', async () => {
    const pool = new Set(Array.from({ length: demoRsaKeyCount() }, (_, i) => Buffer.from(demoRsaKey(i).publicKey.export({ type: 'spki', format: 'der' })).toString('hex')));
    const first = await seedRegistry(t.service, 300, { seed: 7 });
    expect(first.issued).toBeGreaterThan(250);
    const afterFirst = await liveKeys();
    const rsaFirst = afterFirst.filter((k) => k.rsa);
    expect(rsaFirst.length).toBeGreaterThan(3);
    expect(rsaFirst.every((k) => pool.has(k.spki))).toBe(true);

    const second = await seedRegistry(t.service, 300, { seed: 7 });
    expect(second.issued).toBe(first.issued);
    const afterSecond = await liveKeys();
    const bySpki = new Map<string, string[]>();
    for (const k of afterSecond) bySpki.set(k.spki, [...(bySpki.get(k.spki) ?? []), k.serial]);
    expect([...bySpki.values()].filter((serials) => serials.length > 1)).toEqual([]);
    // The second seed's RSA holders: none with a pooled key still live from the first.
    const liveFromFirst = new Set(afterFirst.filter((k) => k.rsa).map((k) => k.spki));
    const rsaSecond = afterSecond.filter((k) => k.rsa && !rsaFirst.some((f) => f.serial === k.serial));
    expect(rsaSecond.length).toBeGreaterThan(3);
    expect(rsaSecond.some((k) => liveFromFirst.has(k.spki))).toBe(false);

    expect((await verifyChain(t.service.audit.all())).ok).toBe(true);
  }, 300_000);
});
