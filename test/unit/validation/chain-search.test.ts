import { describe, expect, it } from '@jest/globals';
import { loadCert, type Cert } from '../../../src/validation/cert.js';
import { buildPath, CertPool, PathSearch } from '../../../src/validation/chain.js';
import { crossSignedMesh } from '../../support/cross-signed-mesh.js';

/** The mesh as the validator sees it: the leaf, and every CA certificate arriving with the signature. */
async function meshPool(n: number, withRoot = false) {
  const mesh = await crossSignedMesh(n, { withRoot });
  const cas = mesh.cas.map((c) => loadCert(new Uint8Array(c.rawData)));
  const anchors = mesh.root ? new CertPool([{ cert: loadCert(new Uint8Array(mesh.root.rawData)), source: 'trust-store', anchor: true }]) : undefined;
  const extra: Cert[] = mesh.rootIssued ? [loadCert(new Uint8Array(mesh.rootIssued.rawData))] : [];
  // The certificate that leads to the root comes last: the search has to get out of the mesh to find it.
  const pool = new CertPool([...cas, ...extra].map((cert) => ({ cert, source: 'signature' as const, anchor: false })), anchors);
  return { leaf: loadCert(new Uint8Array(mesh.leaf.rawData)), pool };
}

describe('certification path search in a cross-signed mesh (bounded, issue 19 defect 3)', () => {
  it('stops at the per-request limit of signature verifications and reports it, never exceeding it', async () => {
    const { leaf, pool } = await meshPool(8);
    const search = new PathSearch({ maxSignatureChecks: 20, maxSearchSteps: 1_000_000 });
    const result = await buildPath(leaf, pool, search);
    expect(result.path).toBeNull();
    expect(result.limit).toBe('signature-checks');
    expect(result.problem).toMatch(/limit of 20 signature verifications per request/);
    expect(search.signatureChecks).toBe(20);
    // The limit is per request: a second search on the same budget verifies nothing new.
    const again = await buildPath(leaf, pool, search);
    expect(again.limit).toBe('signature-checks');
    expect(search.signatureChecks).toBe(20);
  });

  it('memoises verifications: the 12 + 12 mesh needs at most one verification per (issuer, subject) pair, and the step bound ends the search', async () => {
    const { leaf, pool } = await meshPool(12);
    const search = new PathSearch({ maxSignatureChecks: 10_000, maxSearchSteps: 3_000, candidatesPerStep: 100 });
    const result = await buildPath(leaf, pool, search);
    expect(result.path).toBeNull();
    expect(result.limit).toBe('search-steps');
    expect(search.steps).toBe(3_000);
    // 1 leaf link per A certificate + 24 × 12 mesh links + 24 self-signature checks at most.
    expect(search.signatureChecks).toBeLessThanOrEqual(12 + 24 * 12 + 24);
  });

  it('with the default limits, the 12 + 12 mesh ends with a report naming the bound (no exponential search)', async () => {
    const { leaf, pool } = await meshPool(12);
    const search = new PathSearch();
    const result = await buildPath(leaf, pool, search);
    expect(result.path).toBeNull();
    expect(result.limit).not.toBeNull();
    expect(search.signatureChecks).toBeLessThanOrEqual(search.limits.maxSignatureChecks);
    expect(search.steps).toBeLessThanOrEqual(search.limits.maxSearchSteps);
  });

  it('still finds the way out of the mesh to a trust anchor when the bounds allow it', async () => {
    const { leaf, pool } = await meshPool(3, true);
    const result = await buildPath(leaf, pool, new PathSearch());
    expect(result.limit).toBeNull();
    expect(result.path?.map((c) => c.cert.subjectDn)).toEqual([leaf.subjectDn, expect.stringMatching(/CN=Mesh A/), expect.stringMatching(/CN=Mesh Root/)]);
    expect(result.path?.at(-1)?.anchor).toBe(true);
  });

  it('checks the time budget inside the search', async () => {
    const { leaf, pool } = await meshPool(4);
    const result = await buildPath(leaf, pool, new PathSearch({}, performance.now() - 1));
    expect(result.limit).toBe('time-budget');
    expect(result.problem).toMatch(/time budget/);
  });

  it('yields to the event loop between slices: a timer fires while the search runs', async () => {
    const { leaf, pool } = await meshPool(8);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const search = new PathSearch({ sliceMs: 0, maxSignatureChecks: 10_000, maxSearchSteps: 400, candidatesPerStep: 100 });
    await buildPath(leaf, pool, search);
    clearInterval(timer);
    expect(search.steps).toBe(400);
    expect(ticks).toBeGreaterThan(0);
  });
});
