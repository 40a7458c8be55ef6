import { join, resolve } from 'node:path';
import type { Wiring } from './wiring.js';
import { caStorage } from '../storage/ca-storage.js';
import { OcspRepository } from '../storage/ocsp-repository.js';
import { listenForOcspChanges } from '../storage/ocsp-change-listener.js';
import { CertificateAuthority } from '../certificates/certificate-authority.js';
import { RegistrationAuthority } from '../certificates/registration-authority.js';
import { CaSetup } from '../certificates/ca-setup.js';
import { CertificateService } from '../certificates/certificate-service.js';
import { BatchIssuance } from '../certificates/batch-issuance.js';
import { BatchRegistration } from '../certificates/batch-requests.js';
import { openKeyStores, checkHsmKeys } from '../certificates/open-key-stores.js';
import { OcspResponderService } from '../ocsp/ocsp-responder.js';
import { devRootPassphrase } from '../secrets/installation.js';
import { FileKeyStore } from '../../ca/keys/file-key-store.js';
import { loadProfiles, withOperatorSettings } from '../../ca/profiles/profile.js';
import { pkiBaseUrl } from '../config/pki-base-url.js';
import { startAuditCheckpoints } from './audit-checkpoints.js';
import type { AuditCheckpointer } from '../audit/audit-checkpointer.js';

/** The CA side: key stores, the CA and RA, the registry facade and the OCSP responder. */
export interface Certificates {
  caStore: ReturnType<typeof caStorage>;
  certificates: CertificateService;
  responder: OcspResponderService;
  /** Signs audit checkpoints (null: AUDIT_KEY_URI unset, or an OCSP-only node). */
  auditCheckpointer: AuditCheckpointer | null;
}

/**
 * `otherFeedEntry`: the status-change feed also carries API token revocations
 * (src/auth/token-revocations.ts); it takes the entries that are not certificates'.
 */
export async function buildCertificates(w: Wiring, otherFeedEntry?: (issuerId: string, serial: string) => boolean): Promise<Certificates> {
  const { config, db, audit, clock, log } = w;
  // The CA: keys in DATA_DIR/keys, sealed with the same master passphrase…
  const fileKeys = new FileKeyStore({ directory: join(resolve(config.dataDir), 'keys'), passphrase: w.options.masterPassphrase, kdfIterations: w.options.keyKdfIterations });
  // …or in an HSM token (CA_KEY_STORE=pkcs11, docs/hsm.md); a missing token or wrong PIN stops the start.
  // …and the root key, in its own store under its own passphrase, only for ceremonies (docs/ca.md).
  // The development CA (dev start, tests) holds a development root passphrase; `serve` holds none.
  const rootPassphrase = w.options.rootPassphrase ?? (w.options.devCa ? devRootPassphrase(config, true) : undefined);
  const rootKeys = rootPassphrase
    ? new FileKeyStore({ directory: w.options.rootKeyDir ?? join(resolve(config.dataDir), 'root-keys'), passphrase: rootPassphrase, kdfIterations: w.options.keyKdfIterations, scheme: 'root' })
    : undefined;
  const { keyStore, close: closeKeyStores } = await openKeyStores(config, fileKeys, rootKeys);
  w.onClose(closeKeyStores);
  const caStore = caStorage(db, audit);
  // Name policy (docs/ca.md): the development CA certifies the demo province's zone.
  const dnsSuffixes = w.options.devCa && !config.ca.dnsSuffixes['tls-server'] ? { ...config.ca.dnsSuffixes, 'tls-server': ['soctrang.gov.vn'] } : config.ca.dnsSuffixes;
  const profiles = withOperatorSettings(await loadProfiles(undefined, { policyArc: config.ca.policyArc }), { dnsSuffixes, approvals: config.ca.profileApprovals, issuingNameConstraints: config.ca.issuingNameConstraints });
  const ca = new CertificateAuthority(caStore, keyStore, profiles, clock, { ...config.ca, publicUrl: pkiBaseUrl(config) }, log);
  const ra = new RegistrationAuthority(caStore, ca, clock, { requesterDnsSuffixes: config.ca.requesterDnsSuffixes });
  const caSetup = new CaSetup(config, caStore, keyStore, ca, clock);
  const batchIssuance = new BatchIssuance(caStore, ca, clock, log);
  const batch = { issuance: batchIssuance, requests: new BatchRegistration(caStore, ra, ca, batchIssuance, clock) };
  const certificates = new CertificateService(ca, ra, caSetup, caStore, clock, batch);
  await checkHsmKeys(config, keyStore, await ca.issuers(), (uri) => ca.key(uri));
  if (w.options.devCa && !(await ca.issuers()).some((i) => i.role === 'issuing')) {
    await caSetup.initHierarchy('system');
    log.info('development CA created (root, issuing CA, OCSP signer)');
  }
  const auditCheckpointer = w.role === 'all' ? await startAuditCheckpoints(w, keyStore) : null;
  if (w.role === 'all') {
    const recovered = await ca.finishUnfinished();
    if (recovered) log.warn({ recovered }, 'finished issuances interrupted by a crash');
    w.jobs.every(5 * 60_000, 'CRL refresh failed', () => ca.refreshCrls());
    // The root's CRL is renewed only in a ceremony (the service cannot open the root key): warn well before.
    const watchRootCrls = () => warnRootCrls(caSetup, clock, log, config.ca.rootCrlWarnDays);
    w.jobs.every(3_600_000, 'root CRL check failed', watchRootCrls);
    void watchRootCrls().catch((err: unknown) => log.warn({ err }, 'root CRL check failed'));
    // The delegated OCSP signers live 30 days: a new one is made a week before the old expires.
    w.jobs.every(6 * 3_600_000, 'OCSP signer rotation failed', async () => {
      for (const issuer of await ca.issuers()) {
        if (issuer.role === 'issuing' && issuer.status === 'active') await caSetup.ensureOcspSigner('system', issuer.id);
      }
    });
    // The /verify page's report signer (docs/verify.md): made at start-up, renewed two weeks before it expires.
    const reportSigners = async () => {
      for (const issuer of await ca.issuers()) if (issuer.role === 'issuing' && issuer.status === 'active' && issuer.keyUri) await caSetup.ensureReportSigner('system', issuer.id);
    };
    w.jobs.every(6 * 3_600_000, 'report signer rotation failed', reportSigners);
    await reportSigners().catch((err: unknown) => log.warn({ err }, 'no validation-report signer could be made'));
  }

  // The OCSP responder: pre-signed responses, re-signed before a revoke/hold/release returns.
  const responder = new OcspResponderService({
    repo: new OcspRepository(db.knex, db.kind),
    ca,
    clock,
    log,
    config: config.ocsp,
    role: w.role,
    listen: (onChange) => listenForOcspChanges(w.target, log, onChange),
    otherFeedEntry,
  });
  w.onClose(() => responder.close());
  ca.onStatusChange((certificate) => responder.onStatusChange(certificate));
  caSetup.onIssuersChange(() => responder.announceIssuers());
  await responder.start();
  return { caStore, certificates, responder, auditCheckpointer };
}

/** Logs a warning for every root whose CRL runs out within `warnDays` (docs/ca.md, "The root key"). */
async function warnRootCrls(setup: CaSetup, clock: Wiring['clock'], log: Wiring['log'], warnDays: number): Promise<void> {
  const now = clock.now().getTime();
  for (const { rootId, nextUpdate } of await setup.rootCrls()) {
    const daysLeft = nextUpdate ? Math.floor((nextUpdate.getTime() - now) / 86_400_000) : null;
    if (daysLeft !== null && daysLeft >= warnDays) continue;
    log.warn({ root: rootId, nextUpdate: nextUpdate?.toISOString() ?? null, daysLeft }, `root CRL of ${rootId} ${nextUpdate ? `runs out ${nextUpdate.toISOString()}` : 'is missing'}: renew it in a ceremony (tinnhiem ca ceremony root-crl --root ${rootId})`);
  }
}
