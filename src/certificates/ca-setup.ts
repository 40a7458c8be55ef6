import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { AppError } from '../errors/app-error.js';
import type { Config } from '../config/schema.js';
import { pkiBaseUrl } from '../config/pki-base-url.js';
import type { Transaction } from '../storage/db.js';
import type { AuditTrail, CaStorage, Clock, IssuerStore, Transactions } from '../../ca/ports.js';
import type { IssuerRecord } from '../../ca/records.js';
import { parseKeySpec, parseKeyUri } from '../../ca/keys/key-store.js';
import { FileKeyStore } from '../../ca/keys/file-key-store.js';
import type { KeyStores } from '../../ca/keys/key-stores.js';
import { createIssuingCertificate, createRootCertificate, createCaCsr, acceptExternalCaCertificate } from '../../ca/issuance/ca-certificates.js';
import { newSerial } from '../../ca/issuance/serial.js';
import { requestForKey } from '../../ca/issuance/request.js';
import { encodePem, toHex } from '../../ca/asn1/der.js';
import { certificateFacts, parseCertificate } from '../../ca/asn1/certificate.js';
import { formatName, parseName, type SubjectFields } from '../../ca/asn1/names.js';
import { publicKeyFingerprint } from '../../ca/asn1/public-key.js';
import type { CertificateAuthority } from './certificate-authority.js';

/**
 * CA ceremonies: the hierarchy (root → issuing CA → delegated OCSP signer), or an issuing CA
 * certified by an external root (e.g. the government CA), and the OCSP signer's rotation. The
 * root key is used here only: by explicit commands, never by the running service.
 */
export class CaSetup {
  private readonly db: Transactions<Transaction>;
  private readonly audit: AuditTrail<Transaction>;
  private readonly issuers: IssuerStore<Transaction>;
  private readonly issuerListeners: Array<() => Promise<void>> = [];

  /** The storage through the CA's ports (ca/ports.ts): the issuers. */
  constructor(
    private readonly config: Config,
    storage: Pick<CaStorage<Transaction>, 'transactions' | 'audit' | 'issuers'>,
    private readonly keyStore: KeyStores,
    private readonly ca: CertificateAuthority,
    private readonly clock: Clock,
  ) {
    this.db = storage.transactions;
    this.audit = storage.audit;
    this.issuers = storage.issuers;
  }

  /** Called when the issuers or their OCSP signers changed; resolves once every OCSP node answers for them. */
  onIssuersChange(listener: () => Promise<void>): void {
    this.issuerListeners.push(listener);
  }

  /**
   * Tells every OCSP node about a new issuing CA or signer (the change feed, docs/ocsp.md) and
   * waits for them; only then may the issuing CA hand out certificates (`announcedAt`).
   */
  private async announce(actor: string, issuerId: string): Promise<void> {
    for (const listener of this.issuerListeners) await listener();
    await this.db.withTransaction(async (trx) => {
      await this.issuers.markAnnounced(trx, issuerId, this.clock.now());
      await this.audit.append(trx, { actor, action: 'ca.issuing.announce', target: `issuer:${issuerId}`, details: {} });
    });
  }

  private subject(cn: string): SubjectFields {
    const { organisation, locality } = this.config.ca;
    return { C: 'VN', ...(locality && { L: locality }), O: organisation, CN: cn };
  }

  private async freshId(base: string): Promise<string> {
    const taken = new Set((await this.issuers.list(null)).map((i) => i.id));
    for (let n = 1; ; n++) {
      const id = n === 1 ? base : `${base}-${n}`;
      if (!taken.has(id)) return id;
    }
  }

  private async addIssuer(actor: string, row: Omit<IssuerRecord, 'createdAt'>, action: string, details: Record<string, unknown>): Promise<void> {
    await this.db.withTransaction(async (trx) => {
      await this.issuers.add(trx, row, this.clock.now());
      await this.audit.append(trx, { actor, action, target: `issuer:${row.id}`, details });
    });
  }

  private describe(der: Uint8Array) {
    const facts = certificateFacts(parseCertificate(der).certificate);
    return { subjectDn: formatName(parseName(facts.subject, 'badCertificate')), keyIdentifier: facts.subjectKeyIdentifier ? toHex(facts.subjectKeyIdentifier) : null };
  }

  /** Root, issuing CA and OCSP signer, all with keys in the key store. Refused if an issuing CA exists. */
  async initHierarchy(actor: string, options: { keyType?: string; keyStore?: string } = {}): Promise<IssuerRecord[]> {
    if ((await this.issuers.list(null)).some((i) => i.role === 'issuing' && i.status !== 'retired')) {
      throw new AppError('conflict', 'an issuing CA already exists (`tinnhiem ca show`); a second hierarchy needs `ca rotate`');
    }
    const root = await this.createRoot(actor, options);
    await this.createIssuing(actor, root.id, options);
    return this.issuers.list(null);
  }

  /**
   * Key ceremony, step 1: a root key (in the chosen store, the HSM for a production root) and its
   * self-signed certificate, with the root's first CRL signed at once (the key is offline after).
   */
  async createRoot(actor: string, options: { keyType?: string; keyStore?: string } = {}): Promise<IssuerRecord> {
    const spec = parseKeySpec(options.keyType ?? this.config.ca.keyType);
    // A root key on file goes to its own store, sealed with the root passphrase, never MASTER_PASSPHRASE.
    const scheme = options.keyStore ?? this.config.ca.keyStore;
    const store = this.keyStore.store(scheme === 'file' ? 'root' : scheme);
    const rootId = await this.freshId(`root-${this.clock.now().getUTCFullYear()}`);
    const rootKey = await store.generate(spec, rootId);
    const root = await createRootCertificate({ id: rootId, key: rootKey, subject: this.subject(`${this.config.ca.name} Root CA`), profile: this.ca.profile('root-ca'), now: this.clock.now(), serial: newSerial(), publicUrl: pkiBaseUrl(this.config) });
    await this.addIssuer(actor, { id: rootId, role: 'root', keyUri: rootKey.uri, certificate: Buffer.from(root.certificate), csr: null, signatureAlgorithm: rootKey.algorithm, parentId: null, status: 'active', ...this.describe(root.certificate) }, 'ca.root.create', { keyUri: rootKey.uri });
    // The root's CRL (issuing CAs' CDP points at it), signed now: the root key is offline after.
    await this.ca.generateCrls(rootId, ['full'], { actor, newBase: true });
    return (await this.issuers.get(null, rootId))!;
  }

  /**
   * Key ceremony, step 2: the root signs a new issuing CA (its key made in the root's store unless
   * told otherwise), which gets its CRLs and OCSP signer. An older issuing CA stays active and
   * served; new certificates come from the newest (`CertificateAuthority.defaultIssuer`).
   */
  async createIssuing(actor: string, rootId: string, options: { keyType?: string; keyStore?: string } = {}): Promise<IssuerRecord> {
    const rootRow = await this.issuers.get(null, rootId);
    if (!rootRow || rootRow.role !== 'root' || rootRow.status !== 'active' || !rootRow.keyUri) throw new AppError('notFound', `no active root ${rootId} with a key`);
    const rootKey = await this.ca.key(rootRow.keyUri);
    const spec = parseKeySpec(options.keyType ?? this.config.ca.keyType);
    const rootScheme = parseKeyUri(rootRow.keyUri).scheme;
    const store = this.keyStore.store(options.keyStore ?? (rootScheme === 'root' ? 'file' : rootScheme));
    const year = this.clock.now().getUTCFullYear();
    const issuingId = await this.freshId(`issuing-${year}`);
    const issuingKey = await store.generate(spec, issuingId);
    const issuing = await createIssuingCertificate({
      id: issuingId,
      key: issuingKey,
      subject: this.subject(`${this.config.ca.name} Issuing CA ${issuingId.replace(/^issuing-/, '')}`),
      profile: this.ca.profile('issuing-ca'),
      parent: this.ca.issuerOf(rootRow),
      parentKey: rootKey,
      now: this.clock.now(),
      serial: newSerial(),
      publicUrl: pkiBaseUrl(this.config),
    });
    await this.addIssuer(actor, { id: issuingId, role: 'issuing', keyUri: issuingKey.uri, certificate: Buffer.from(issuing.certificate), csr: null, signatureAlgorithm: issuingKey.algorithm, parentId: rootId, status: 'active', ...this.describe(issuing.certificate) }, 'ca.issuing.create', { keyUri: issuingKey.uri, parent: rootId });
    await this.ca.generateCrls(issuingId, ['full', 'delta'], { actor, newBase: true });
    await this.ensureOcspSigner(actor, issuingId, true);
    await this.ensureReportSigner(actor, issuingId, true);
    return (await this.issuers.get(null, issuingId))!;
  }

  /**
   * Key ceremony, step 3: the root's public material to publish and pin (certificate, its latest
   * CRL, the SHA-256 of its certificate and of its public key), recorded as `ca.root.export`.
   */
  async exportRoot(actor: string, rootId: string): Promise<{ id: string; certificatePem: string; certificateDer: Uint8Array; crlDer: Uint8Array | null; certificateSha256: string; publicKeySha256: string }> {
    const row = await this.issuers.get(null, rootId);
    if (!row || row.role !== 'root' || !row.certificate) throw new AppError('notFound', `no root ${rootId}`);
    const certificateDer = new Uint8Array(row.certificate);
    const crl = await this.ca.latestCrl(rootId, 'full');
    const certificateSha256 = createHash('sha256').update(certificateDer).digest('hex');
    const publicKeySha256 = publicKeyFingerprint(certificateFacts(parseCertificate(certificateDer).certificate).spki);
    await this.db.withTransaction((trx) => this.audit.append(trx, { actor, action: 'ca.root.export', target: `issuer:${rootId}`, details: { certificateSha256, publicKeySha256, crl: crl ? crl.number.toString() : null } }));
    return { id: rootId, certificatePem: encodePem(certificateDer, 'CERTIFICATE'), certificateDer, crlDer: crl ? new Uint8Array(crl.der) : null, certificateSha256, publicKeySha256 };
  }

  /** Ceremony: the root signs its next CRL (the issuing CAs' CDP); audited as `crl.generate`. */
  async renewRootCrl(actor: string, rootId: string): Promise<{ number: bigint; nextUpdate: Date }> {
    const row = await this.issuers.get(null, rootId);
    if (!row || row.role !== 'root' || row.status !== 'active') throw new AppError('notFound', `no active root ${rootId}`);
    await this.ca.generateCrls(rootId, ['full'], { actor, newBase: true });
    const crl = (await this.ca.latestCrl(rootId, 'full'))!;
    return { number: crl.number, nextUpdate: crl.nextUpdate };
  }

  /** Active roots and when their CRL runs out (the root-CRL ceremony is due before). */
  async rootCrls(): Promise<Array<{ rootId: string; nextUpdate: Date | null }>> {
    const roots = (await this.issuers.list(null)).filter((i) => i.role === 'root' && i.status === 'active' && i.keyUri);
    return Promise.all(roots.map(async (r) => ({ rootId: r.id, nextUpdate: (await this.ca.latestCrl(r.id, 'full'))?.nextUpdate ?? null })));
  }

  /**
   * Moves a root key sealed with MASTER_PASSPHRASE (`file:`, installations before the root was
   * kept apart) into the root store under the root passphrase (`root:`), then deletes the old file.
   */
  async migrateRoot(actor: string, rootId: string): Promise<IssuerRecord> {
    const row = await this.issuers.get(null, rootId);
    if (!row || row.role !== 'root' || !row.keyUri) throw new AppError('notFound', `no root ${rootId} with a key`);
    const parsed = parseKeyUri(row.keyUri);
    if (parsed.scheme !== 'file') throw new AppError('conflict', `root ${rootId} is not sealed with MASTER_PASSPHRASE (its key is ${row.keyUri})`);
    const from = this.keyStore.store('file');
    const to = this.keyStore.store('root');
    if (!(from instanceof FileKeyStore) || !(to instanceof FileKeyStore)) throw new AppError('misconfigured', 'moving a root key needs both file key stores');
    const moved = await to.importPkcs8(parsed.name, await from.exportPkcs8(row.keyUri));
    const before = publicKeyFingerprint((await from.load(row.keyUri)).spki);
    if (publicKeyFingerprint(moved.spki) !== before) throw new AppError('internal', `root ${rootId}: the moved key does not match`);
    await this.db.withTransaction(async (trx) => {
      await this.issuers.setKeyUri(trx, rootId, moved.uri, this.clock.now());
      await this.audit.append(trx, { actor, action: 'ca.root.migrate', target: `issuer:${rootId}`, details: { from: row.keyUri, to: moved.uri, fingerprint: before } });
    });
    await rm(from.pathOf(parsed.name));
    return (await this.issuers.get(null, rootId))!;
  }

  /** Step 1 of an externally certified issuing CA: its key and PKCS#10 request. */
  async initExternal(actor: string, options: { keyType?: string; keyStore?: string } = {}): Promise<{ issuerId: string; csrPem: string }> {
    const spec = parseKeySpec(options.keyType ?? this.config.ca.keyType);
    const issuingId = await this.freshId(`issuing-${this.clock.now().getUTCFullYear()}`);
    const key = await this.keyStore.store(options.keyStore ?? this.config.ca.keyStore).generate(spec, issuingId);
    const subject = this.subject(`${this.config.ca.name} Issuing CA ${this.clock.now().getUTCFullYear()}`);
    const csr = await createCaCsr({ key, subject, profile: this.ca.profile('issuing-ca') });
    await this.addIssuer(actor, { id: issuingId, role: 'issuing', keyUri: key.uri, certificate: null, csr: Buffer.from(csr), signatureAlgorithm: key.algorithm, parentId: null, status: 'pending', subjectDn: null, keyIdentifier: null }, 'ca.issuing.request', { keyUri: key.uri, external: true });
    return { issuerId: issuingId, csrPem: encodePem(csr, 'CERTIFICATE REQUEST') };
  }

  /** Step 2: installs the certificate the external root signed (checked against our key), then the OCSP signer. */
  async importIssuerCertificate(actor: string, issuerId: string, certificate: string | Uint8Array, parent?: string | Uint8Array): Promise<IssuerRecord> {
    const row = await this.issuers.get(null, issuerId);
    if (!row || row.role !== 'issuing') throw new AppError('notFound', `no issuing CA ${issuerId}`);
    if (row.status !== 'pending') throw new AppError('conflict', `issuing CA ${issuerId} already has its certificate`);
    const key = await this.ca.key(row.keyUri!);
    const issuer = acceptExternalCaCertificate({ id: issuerId, certificate, key, publicUrl: pkiBaseUrl(this.config), now: this.clock.now(), parent });
    const der = Buffer.from(issuer.certificate!);
    await this.db.withTransaction(async (trx) => {
      await this.issuers.activate(trx, issuerId, { der, ...this.describe(der) }, this.clock.now());
      await this.audit.append(trx, { actor, action: 'ca.issuing.import', target: `issuer:${issuerId}`, details: this.describe(der) });
    });
    await this.ca.generateCrls(issuerId, ['full', 'delta'], { actor, newBase: true });
    await this.ensureOcspSigner(actor, issuerId, true);
    await this.ensureReportSigner(actor, issuerId, true);
    return (await this.issuers.get(null, issuerId))!;
  }

  /**
   * The delegated OCSP signer of an issuing CA (RFC 6960 §4.2.2.2): short-lived, with
   * id-pkix-ocsp-nocheck. A new one is made when none is valid for another `renewBeforeDays`.
   */
  async ensureOcspSigner(actor: string, issuerId: string, force = false, renewBeforeDays = 7): Promise<IssuerRecord | null> {
    const now = this.clock.now();
    const signers = (await this.issuers.list(null)).filter((i) => i.role === 'ocsp-signer' && i.parentId === issuerId && i.status === 'active');
    const fresh = signers.find((s) => s.certificate && certificateFacts(parseCertificate(s.certificate).certificate).notAfter.getTime() - now.getTime() > renewBeforeDays * 86_400_000);
    if (fresh && !force) return fresh;
    const id = await this.freshId(`ocsp-${issuerId}`);
    // The signer's key goes where its issuing CA's key is: an HSM-backed CA keeps its OCSP keys in the token.
    const parent = await this.issuers.get(null, issuerId);
    const store = parent?.keyUri ? this.keyStore.storeOf(parent.keyUri) : this.keyStore;
    const key = await store.generate(parseKeySpec('ecdsa-p256'), id);
    const issued = await this.ca.issue({
      actor,
      request: requestForKey(key.spki, this.subject(`${this.config.ca.name} OCSP Responder`)),
      profile: this.ca.profile('ocsp-signer'),
      issuerId,
    });
    await this.addIssuer(actor, { id, role: 'ocsp-signer', keyUri: key.uri, certificate: Buffer.from(issued.der), csr: null, signatureAlgorithm: key.algorithm, parentId: issuerId, status: 'active', ...this.describe(issued.der) }, 'ca.ocsp_signer.create', { serial: issued.serial, keyUri: key.uri, fingerprint: publicKeyFingerprint(key.spki) });
    // The last step of every new issuing CA (and of a signer's renewal): every node answers for it before it issues.
    await this.announce(actor, issuerId);
    return this.issuers.get(null, id);
  }

  /**
   * The validation-report signer of an issuing CA (docs/verify.md): the certificate the public
   * /verify page signs its PDF reports with, made like the OCSP signer (its key beside the CA's),
   * renewed when none is valid for another `renewBeforeDays`. An issuer row of role
   * `report-signer` holds its key URI; the certificate is in the registry like any other.
   */
  async ensureReportSigner(actor: string, issuerId: string, force = false, renewBeforeDays = 14): Promise<IssuerRecord | null> {
    const now = this.clock.now();
    const signers = (await this.issuers.list(null)).filter((i) => i.role === 'report-signer' && i.parentId === issuerId && i.status === 'active');
    const fresh = signers.find((s) => s.certificate && certificateFacts(parseCertificate(s.certificate).certificate).notAfter.getTime() - now.getTime() > renewBeforeDays * 86_400_000);
    if (fresh && !force) return fresh;
    const id = await this.freshId(`report-${issuerId}`);
    const parent = await this.issuers.get(null, issuerId);
    const store = parent?.keyUri ? this.keyStore.storeOf(parent.keyUri) : this.keyStore;
    const key = await store.generate(parseKeySpec('ecdsa-p256'), id);
    const issued = await this.ca.issue({ actor, request: requestForKey(key.spki, this.subject(`${this.config.ca.name} Validation Reports`)), profile: this.ca.profile(REPORT_SIGNER_PROFILE), issuerId });
    await this.addIssuer(actor, { id, role: 'report-signer', keyUri: key.uri, certificate: Buffer.from(issued.der), csr: null, signatureAlgorithm: key.algorithm, parentId: issuerId, status: 'active', ...this.describe(issued.der) }, 'ca.report_signer.create', { serial: issued.serial, keyUri: key.uri, fingerprint: publicKeyFingerprint(key.spki) });
    return this.issuers.get(null, id);
  }
}

/** The profile of the service's validation-report signer (ca/profiles/validation-report-signer.json). */
export const REPORT_SIGNER_PROFILE = 'validation-report-signer';
