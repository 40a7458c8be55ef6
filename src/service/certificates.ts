import { join, resolve } from 'node:path';
import type { Wiring } from './wiring.js';
import { caStorage } from '../storage/ca-storage.js';
import { OcspRepository } from '../storage/ocsp-repository.js';
import { listenForOcspChanges } from '../storage/ocsp-change-listener.js';
import { CertificateAuthority } from '../certificates/certificate-authority.js';
import { RegistrationAuthority } from '../certificates/registration-authority.js';
import { CaSetup } from '../certificates/ca-setup.js';
import { CertificateService } from '../certificates/certificate-service.js';
import { openKeyStores, checkHsmKeys } from '../certificates/open-key-stores.js';
import { OcspResponderService } from '../ocsp/ocsp-responder.js';
import { FileKeyStore } from '../../ca/keys/file-key-store.js';
import { loadProfiles, withOperatorSettings } from '../../ca/profiles/profile.js';
import { pkiBaseUrl } from '../config/pki-base-url.js';

/** The CA side: key stores, the CA and RA, the registry facade and the OCSP responder. */
export interface Certificates {
  caStore: ReturnType<typeof caStorage>;
  certificates: CertificateService;
  responder: OcspResponderService;
}

export async function buildCertificates(w: Wiring): Promise<Certificates> {
  const { config, db, audit, clock, log } = w;
  // The CA: keys in DATA_DIR/keys, sealed with the same master passphrase…
  const fileKeys = new FileKeyStore({ directory: join(resolve(config.dataDir), 'keys'), passphrase: w.options.masterPassphrase, kdfIterations: w.options.keyKdfIterations });
  // …or in an HSM token (CA_KEY_STORE=pkcs11, docs/hsm.md); a missing token or wrong PIN stops the start.
  const { keyStore, close: closeKeyStores } = await openKeyStores(config, fileKeys);
  w.onClose(closeKeyStores);
  const caStore = caStorage(db, audit);
  // Name policy (docs/ca.md): the development CA certifies the demo province's zone.
  const dnsSuffixes = w.options.devCa && !config.ca.dnsSuffixes['tls-server'] ? { ...config.ca.dnsSuffixes, 'tls-server': ['soctrang.gov.vn'] } : config.ca.dnsSuffixes;
  const profiles = withOperatorSettings(await loadProfiles(undefined, { policyArc: config.ca.policyArc }), { dnsSuffixes, approvals: config.ca.profileApprovals, issuingNameConstraints: config.ca.issuingNameConstraints });
  const ca = new CertificateAuthority(caStore, keyStore, profiles, clock, { ...config.ca, publicUrl: pkiBaseUrl(config) }, log);
  const ra = new RegistrationAuthority(caStore, ca, clock, { requesterDnsSuffixes: config.ca.requesterDnsSuffixes });
  const caSetup = new CaSetup(config, caStore, keyStore, ca, clock);
  const certificates = new CertificateService(ca, ra, caSetup, caStore, clock);
  await checkHsmKeys(config, keyStore, await ca.issuers(), (uri) => ca.key(uri));
  if (w.options.devCa && !(await ca.issuers()).some((i) => i.role === 'issuing')) {
    await caSetup.initHierarchy('system');
    log.info('development CA created (root, issuing CA, OCSP signer)');
  }
  if (w.role === 'all') {
    const recovered = await ca.finishUnfinished();
    if (recovered) log.warn({ recovered }, 'finished issuances interrupted by a crash');
    w.jobs.every(5 * 60_000, 'CRL refresh failed', () => ca.refreshCrls());
    // The delegated OCSP signers live 30 days: a new one is made a week before the old expires.
    w.jobs.every(6 * 3_600_000, 'OCSP signer rotation failed', async () => {
      for (const issuer of await ca.issuers()) {
        if (issuer.role === 'issuing' && issuer.status === 'active') await caSetup.ensureOcspSigner('system', issuer.id);
      }
    });
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
  });
  w.onClose(() => responder.close());
  ca.onStatusChange((certificate) => responder.onStatusChange(certificate));
  await responder.start();
  return { caStore, certificates, responder };
}
