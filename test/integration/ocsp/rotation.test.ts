/**
 * Rotation without a gap (docs/ocsp.md, "A new issuing CA"): `tinnhiem ca rotate`, run as its own
 * process like an operator does, returns only once every OCSP node answers for the new issuing
 * CA, and no certificate comes from it before. Two nodes on one PostgreSQL: A (the whole service,
 * in this process) and B (`serve --role ocsp`, a child process). Right after the command returns,
 * A issues the new CA's first certificate and both nodes answer `good` for it — they used to
 * answer `unauthorized` until their next issuer reload (30–60 s).
 *
 * The two-node part needs PostgreSQL (the embedded database belongs to one process); the gate
 * (no certificate from a CA before it is announced) runs on both.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, TEST_PASSPHRASE, type TestService } from '../../support/test-app.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../../support/test-db.js';
import { startServerProcess, type ServerProcess } from '../../support/serve-process.js';
import { runCli } from '../../support/run-cli.js';
import { firstStatus, issueLeaf, ocspFiles, requestFor, type Leaf, type OcspFiles } from './ocsp-support.js';

const onPostgres = usingPostgres();
// Reason: two nodes and a CLI process share one database; the embedded one serves a single process.
if (!onPostgres) process.stderr.write('skipping OCSP across an issuing-CA rotation on two nodes: set DATABASE_URL to run it on PostgreSQL\n');

let database: TestDatabase;
let a: TestService;
let b: ServerProcess;
let files: OcspFiles;
let before: Leaf;
let oldIssuerDer: Uint8Array;

async function ocsp(url: string, issuerDer: Uint8Array, serial: string): Promise<string> {
  const res = await fetch(`${url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: requestFor(issuerDer, serial) as BodyInit });
  return firstStatus(new Uint8Array(await res.arrayBuffer()));
}

describe('a new issuing CA before every node answers for it', () => {
  let t: TestService;
  afterAll(async () => {
    await t?.close();
  });

  it('issues from the previous issuing CA until the new one is announced', async () => {
    t = await startTestService();
    const own = await ocspFiles(t.service);
    const rootId = (await t.service.certificates.ca.issuers()).find((i) => i.role === 'root')!.id;
    const during: string[] = [];
    // Runs after the new CA, its CRLs and its OCSP signer are stored, and before it is marked announced.
    t.service.certificates.setup.onIssuersChange(async () => {
      during.push((await issueLeaf(t.service, own, `during-${during.length}`)).serial);
    });
    const created = await t.service.certificates.setup.createIssuing('officer-ceremony', rootId);
    expect(during).toHaveLength(1);
    const fromOld = (await t.service.certificates.search({ issuerId: own.issuerId, profileId: 'official-signing' })).items.map((c) => c.serial);
    expect(fromOld).toContain(during[0]);
    expect(created.announcedAt).toBeInstanceOf(Date);
    const after = await issueLeaf(t.service, own, 'after-announce');
    expect((await t.service.certificates.search({ issuerId: created.id, profileId: 'official-signing' })).items.map((c) => c.serial)).toEqual([after.serial]);
  });
});

(onPostgres ? describe : describe.skip)('OCSP across `ca rotate` on two nodes', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    await database.close();
    a = await startTestService({ database });
    files = await ocspFiles(a.service);
    oldIssuerDer = (await a.service.certificates.ca.issuers()).find((i) => i.id === files.issuerId)!.certificate!;
    before = await issueLeaf(a.service, files, 'before-rotation');
    b = await startServerProcess({ ...database.env, DATA_DIR: database.keyDir!, MASTER_PASSPHRASE: TEST_PASSPHRASE }, { args: ['--role', 'ocsp'] });
    expect(await ocsp(b.url, oldIssuerDer, before.serial)).toBe('good');
  });
  afterAll(async () => {
    await b?.stop();
    await a?.close();
    await database?.destroy();
  });

  it("answers good for the new issuing CA's first certificate on both nodes as soon as the command returns", async () => {
    const rotated = await runCli(['ca', 'rotate', '--dev', '--json'], { ...database.env, DATA_DIR: database.keyDir!, MASTER_PASSPHRASE: TEST_PASSPHRASE }, 120_000);
    expect(rotated.stderr).not.toMatch(/did not confirm/);
    expect(rotated.code).toBe(0);
    const newIssuerId = (JSON.parse(rotated.stdout) as { id: string }).id;
    expect(newIssuerId).not.toBe(files.issuerId);

    const first = await issueLeaf(a.service, files, 'first-of-new-ca');
    expect((await a.service.certificates.search({ issuerId: newIssuerId, profileId: 'official-signing' })).items.map((c) => c.serial)).toEqual([first.serial]);
    const newIssuerDer = (await a.service.certificates.ca.issuers()).find((i) => i.id === newIssuerId)!.certificate!;

    expect(await ocsp(a.url, newIssuerDer, first.serial)).toBe('good');
    expect(await ocsp(b.url, newIssuerDer, first.serial)).toBe('good');
    // The old issuing CA stays served for what it issued.
    expect(await ocsp(a.url, oldIssuerDer, before.serial)).toBe('good');
    expect(await ocsp(b.url, oldIssuerDer, before.serial)).toBe('good');

    const actions = (await a.service.audit.list({ target: `issuer:${newIssuerId}` })).map((e) => e.action).reverse();
    expect(actions).toEqual(['ca.issuing.create', 'crl.generate', 'ca.issuing.announce']);
  });
});
