/**
 * Issue 20 (acceptance 7): a long-lived cache keeps bytes of their own size, never a view of a
 * larger buffer (docs/architecture.md, convention 14). pg decodes a small bytea with
 * Buffer.from(hex, 'hex'), a view of Node's shared 8 KiB pool slab (PGlite gives a Uint8Array of
 * its own), Buffer.from(string) does the same, and a certificate decoded inside a signature is a view of it: a
 * cached view keeps the whole slab, response or request body alive. Each test holds an entry made
 * from such a view and checks that its backing store is its own size.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cacheEntries } from '../../../ca/cache-registry.js';
import { secretBytesOf } from '../../../oidc/clients/client-registry.js';
import { PublishedCopies } from '../../../src/certificates/published-copies.js';
import { DatabaseUnavailableError } from '../../../src/storage/db.js';
import { cachedCert } from '../../../src/validation/cert.js';
import { certFromDer } from '../../../src/validation/cms.js';
import { PasskeyService } from '../../../src/webauthn/passkey-service.js';
import type { Passkey } from '../../../src/webauthn/passkey.js';
import { createTestPki, type TestPki } from '../../support/test-pki.js';

/** `n` bytes as pg hands them out: a view of the 8 KiB pool slab. */
function asFromPg(n: number): Buffer {
  const view = Buffer.from(Buffer.from(Array.from({ length: n }, (_, i) => i % 251)).toString('hex'), 'hex');
  expect(view.buffer.byteLength).toBeGreaterThan(4 * view.byteLength); // the premise
  return view;
}

/** `bytes` inside a larger buffer (a request body, a response). */
function inside(bytes: Uint8Array): Uint8Array {
  const body = new Uint8Array(bytes.byteLength + 20_000);
  body.set(bytes, 10_000);
  return body.subarray(10_000, 10_000 + bytes.byteLength);
}

const ownsItsBuffer = (b: Uint8Array) => b.byteOffset === 0 && b.buffer.byteLength === b.byteLength;

describe('bytes held by long-lived caches own their memory', () => {
  it('the passkey cache (registered as "passkeys") holds a public key of its own size', async () => {
    const passkey: Passkey = { id: 'p1', accountId: 'a1', credentialId: 'cred-1', publicKey: asFromPg(77), counter: 0, transports: [], aaguid: '', deviceType: 'singleDevice', backedUp: false, name: 'key', createdAt: new Date(0), lastUsedAt: null };
    const repo = { findByCredentialId: async () => passkey };
    const service = new PasskeyService(null as never, repo as never, null as never, { now: () => new Date(0) }, null as never, null as never);
    const held = service as unknown as { passkeyOf(id: string): Promise<Passkey | null>; known: Map<string, Passkey> };
    await held.passkeyOf('cred-1');
    const kept = held.known.get('cred-1')!;
    expect(kept.publicKey.equals(passkey.publicKey)).toBe(true);
    expect(ownsItsBuffer(kept.publicKey)).toBe(true);
    expect(await held.passkeyOf('cred-1')).toBe(kept);
    expect(cacheEntries().passkeys).toBeGreaterThanOrEqual(1);
  });

  it('the last published CRL copy holds DER of its own size', async () => {
    const copies = new PublishedCopies(null);
    const der = asFromPg(612);
    await copies.through('crl.tinh-test', async () => ({ der, thisUpdate: new Date(0) }));
    // The database gone: the copy in memory is what relying parties get.
    const kept = await copies.through('crl.tinh-test', () => Promise.reject(new DatabaseUnavailableError('database', new Error('down'))));
    expect(kept!.der.equals(der)).toBe(true);
    expect(ownsItsBuffer(kept!.der)).toBe(true);
  });

  it("a cached client's secret bytes are their own (Buffer.from(string) would put them on the pool slab)", () => {
    const secret = 'a-client-secret-of-forty-three-characters-x';
    expect(Buffer.from(secret).buffer.byteLength).toBeGreaterThan(4 * secret.length); // the premise
    const bytes = secretBytesOf(secret);
    expect(bytes.toString('utf8')).toBe(secret);
    expect(ownsItsBuffer(bytes)).toBe(true);
  });

  describe('the validation caches (pkijs path)', () => {
    let pki: TestPki;
    beforeAll(async () => {
      pki = await createTestPki({ signerKey: 'RSA-PSS' });
    }, 60_000);
    afterAll(() => pki?.cleanup());

    /** A certificate the one-pass reader leaves to pkijs (a keyUsage with 9 unused bits). */
    function pkijsOnly(): Buffer {
      const der = Buffer.from(pki.issuing.der);
      const ku = Buffer.from('0603551d0f0101ff040403020106', 'hex');
      der[der.indexOf(ku) + ku.length - 2] = 0x09;
      return der;
    }

    it('a certificate embedded in a signature that pkijs decodes is cached with DER of its own, not a view of the signature', () => {
      const cert = certFromDer(inside(pkijsOnly()));
      expect(cachedCert(pkijsOnly())).toBe(cert);
      expect(ownsItsBuffer(cert.der)).toBe(true);
    });

  });
});
