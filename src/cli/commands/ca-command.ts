import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliFailure, EXIT, cliActor, configFrom, printJsonOr, withService } from '../cli-support.js';
import { derBase64OfPem } from '../json-output.js';
import { rootKeyOptions, rootPassphrase, type RootOptions } from '../root-passphrase.js';
import type { Config } from '../../config/schema.js';
import { isLocalUrl, pkiBaseUrl } from '../../config/pki-base-url.js';
import { bakedLocalUrls } from '../../certificates/pki-urls.js';

/** docs/ca.md, "URL settings": a CA certificate lives for years; its CDP/AIA must name a URL others reach. */
function refuseLocalPkiUrl(config: Config, dev: boolean | undefined): void {
  const base = pkiBaseUrl(config);
  if (!dev && isLocalUrl(base)) {
    throw new CliFailure(`the CRL/OCSP/AIA URLs would be ${base}: set PKI_BASE_URL (or PUBLIC_URL) to the address relying parties reach, or --dev for a development CA (docs/ca.md, "URL settings")`, EXIT.usage);
  }
}


export function registerCa(program: Command): void {
  const ca = program.command('ca').description('the CA hierarchy: root, issuing CAs, OCSP signers');
  addInitCommand(ca);
  addShowCommand(ca);
  addImportCertCommand(ca);
  addRotateCommand(ca);
  addCeremonyCommands(ca);
}

function addInitCommand(ca: Command): void {
  rootKeyOptions(ca.command('init'))
    .description('create the root, an issuing CA and its OCSP signer (keys in DATA_DIR/keys, sealed with the master passphrase); or, with --external-root, the issuing CA\'s key and CSR for an external root')
    .option('--external-root', 'the issuing CA will be certified by an external root (e.g. the government CA): write its CSR')
    .option('--csr-out <file>', 'with --external-root: where to write the CSR (default: print it)')
    .option('--key-type <type>', 'ecdsa-p256 (default), ecdsa-p384, rsa-2048…4096, rsa-pss-2048…4096')
    .option('--key-store <store>', 'file (encrypted PKCS#8, default CA_KEY_STORE) or pkcs11 (the token of PKCS11_TOKEN; docs/hsm.md)')
    .option('--dev', 'a development hierarchy: allowed without CA_POLICY_ARC (policies under the example arc 2.999)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { externalRoot?: boolean; csrOut?: string; keyType?: string; keyStore?: string; dev?: boolean; json?: boolean } & RootOptions, command: Command) => {
      if (opts.keyStore !== undefined && opts.keyStore !== 'file' && opts.keyStore !== 'pkcs11') throw new CliFailure(`--key-store must be file or pkcs11, not "${opts.keyStore}"`, EXIT.usage);
      const config = await configFrom(command);
      // docs/ca.md, "Policy OIDs": certificates of a real hierarchy carry the operator's registered arc.
      refuseLocalPkiUrl(config, opts.dev);
      if (!opts.dev && !config.ca.policyArc) {
        throw new CliFailure('CA_POLICY_ARC is not set: give the operator\'s registered OID arc (e.g. 1.3.6.1.4.1.<PEN>.1), or --dev for a development hierarchy (docs/ca.md, "Policy OIDs")', EXIT.usage);
      }
      if (opts.externalRoot) {
        const { issuerId, csrPem } = await withService(config, 'ca init', (s) => s.certificates.setup.initExternal(cliActor(), { keyType: opts.keyType, keyStore: opts.keyStore }));
        if (opts.csrOut) writeFileSync(opts.csrOut, csrPem);
        printJsonOr(!!opts.json, { issuerId, csrPem, csrDerBase64: derBase64OfPem(csrPem) }, () =>
          [`issuing CA ${issuerId} created, waiting for its certificate.`, opts.csrOut ? `CSR written to ${opts.csrOut}` : csrPem.trim(), `Send the CSR to the root; then: tinnhiem ca import-cert --issuer ${issuerId} --cert signed.pem [--parent root.pem]`].join('\n'),
        );
        return;
      }
      const root = await rootPassphrase(config, opts);
      const issuers = await withService(config, 'ca init', (s) => s.certificates.setup.initHierarchy(cliActor(), { keyType: opts.keyType, keyStore: opts.keyStore }), { root });
      printJsonOr(!!opts.json, issuers.map(({ certificate: _c, csr: _r, ...i }) => i), () => issuers.map((i) => `${i.role.padEnd(12)} ${i.id.padEnd(24)} ${i.subjectDn ?? ''}`).join('\n'));
    });
}

function addShowCommand(ca: Command): void {
  ca.command('show')
    .description('list the issuers: roles, status, subjects, key URIs')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const issuers = await withService(await configFrom(command), 'ca show', (s) => s.certificates.ca.issuers());
      const view = issuers.map(({ certificate, csr, ...i }) => ({ ...i, hasCertificate: !!certificate, pendingCsr: !!csr && !certificate, localUrls: certificate ? bakedLocalUrls(certificate) : [] }));
      const warning = (i: (typeof view)[number]) => (i.localUrls.length ? `\n  ! its certificate points relying parties at ${i.localUrls.join(', ')}, which nobody else can reach: re-issue it (\`ca rotate\` with PKI_BASE_URL set)` : '');
      printJsonOr(!!opts.json, view, () => view.map((i) => `${i.role.padEnd(12)} ${i.status.padEnd(8)} ${i.id.padEnd(24)} ${i.subjectDn ?? '(waiting for its certificate)'}${warning(i)}`).join('\n') || 'no issuers: run `tinnhiem ca init`');
    });
}

function addImportCertCommand(ca: Command): void {
  ca.command('import-cert')
    .description('install the certificate an external root signed for a pending issuing CA (checked against our key)')
    .requiredOption('--issuer <id>', 'the pending issuing CA')
    .requiredOption('--cert <file>', 'the signed certificate (PEM or DER)')
    .option('--parent <file>', 'the external root\'s certificate: its signature and name chaining are checked too')
    .option('--json', 'machine-readable output')
    .action(async (opts: { issuer: string; cert: string; parent?: string; json?: boolean }, command: Command) => {
      const cert = readFileSync(opts.cert);
      const parent = opts.parent ? readFileSync(opts.parent) : undefined;
      const issuer = await withService(await configFrom(command), 'ca import-cert', (s) =>
        s.certificates.setup.importIssuerCertificate(cliActor(), opts.issuer, new Uint8Array(cert), parent ? new Uint8Array(parent) : undefined),
      );
      printJsonOr(!!opts.json, { id: issuer.id, status: issuer.status, subjectDn: issuer.subjectDn }, () => `issuing CA ${issuer.id} is active: ${issuer.subjectDn}`);
    });
}

function addRotateCommand(ca: Command): void {
  rootKeyOptions(ca.command('rotate'))
    .description('rotate the issuing CA: a new key (in the same store) and certificate signed by the current root, with CRLs and OCSP signer; the old issuing CA stays served for what it issued')
    .option('--key-type <type>', 'key type of the new issuing CA (default CA_KEY_TYPE)')
    .option('--dev', 'allow a localhost PKI_BASE_URL (development only)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { keyType?: string; dev?: boolean; json?: boolean } & RootOptions, command: Command) => {
      const config = await configFrom(command);
      refuseLocalPkiUrl(config, opts.dev);
      const root = await rootPassphrase(config, opts);
      const issuing = await withService(config, 'ca rotate', async (s) => {
        const current = await s.certificates.ca.defaultIssuer();
        if (!current.parentId) throw new CliFailure(`issuing CA ${current.id} was certified by an external root: rotate it with \`ca init --external-root\` and \`ca import-cert\``);
        const store = current.keyUri?.startsWith('pkcs11:') ? 'pkcs11' : 'file';
        return s.certificates.setup.createIssuing(cliActor(), current.parentId, { keyType: opts.keyType, keyStore: store });
      }, { root });
      printJsonOr(!!opts.json, { id: issuing.id, keyUri: issuing.keyUri, parentId: issuing.parentId, subjectDn: issuing.subjectDn }, () => `new issuing CA ${issuing.id} (${issuing.keyUri}) signed by ${issuing.parentId}; new certificates come from it`);
    });
}

/** Root key ceremonies (docs/hsm.md): each step is a separate, audited command. */
function addCeremonyCommands(ca: Command): void {
  const ceremony = ca.command('ceremony').description('root key ceremonies: generate the root, sign an issuing CA, export the public material (each audited)');
  const keyStoreOption = (value: string) => {
    if (value !== 'file' && value !== 'pkcs11') throw new CliFailure(`--key-store must be file or pkcs11, not "${value}"`, EXIT.usage);
    return value;
  };

  rootKeyOptions(ceremony.command('generate-root'))
    .description('make a root key (in the HSM with --key-store pkcs11) and its self-signed certificate and first CRL (audit ca.root.create)')
    .option('--key-type <type>', 'ecdsa-p256 (default CA_KEY_TYPE), ecdsa-p384, rsa-2048…4096')
    .option('--key-store <store>', 'file or pkcs11 (default CA_KEY_STORE)', keyStoreOption)
    .option('--json', 'machine-readable output')
    .action(async (opts: { keyType?: string; keyStore?: string; json?: boolean } & RootOptions, command: Command) => {
      const config = await configFrom(command);
      const rootKey = await rootPassphrase(config, opts);
      const root = await withService(config, 'ca ceremony generate-root', (s) => s.certificates.setup.createRoot(cliActor(), { keyType: opts.keyType, keyStore: opts.keyStore }), { root: rootKey });
      printJsonOr(!!opts.json, { id: root.id, keyUri: root.keyUri, subjectDn: root.subjectDn }, () => `root ${root.id} created (${root.keyUri}): ${root.subjectDn}`);
    });

  rootKeyOptions(ceremony.command('sign-issuing'))
    .description('the root signs a new issuing CA (key in the root\'s store), with its CRLs and OCSP signer (audit ca.issuing.create); older issuing CAs stay served')
    .requiredOption('--root <id>', 'the root that signs')
    .option('--key-type <type>', 'key type of the issuing CA (default CA_KEY_TYPE)')
    .option('--key-store <store>', 'file or pkcs11 (default: the root\'s store)', keyStoreOption)
    .option('--json', 'machine-readable output')
    .action(async (opts: { root: string; keyType?: string; keyStore?: string; json?: boolean } & RootOptions, command: Command) => {
      const config = await configFrom(command);
      const root = await rootPassphrase(config, opts);
      const issuing = await withService(config, 'ca ceremony sign-issuing', (s) => s.certificates.setup.createIssuing(cliActor(), opts.root, { keyType: opts.keyType, keyStore: opts.keyStore }), { root });
      printJsonOr(!!opts.json, { id: issuing.id, keyUri: issuing.keyUri, parentId: issuing.parentId, subjectDn: issuing.subjectDn }, () => `issuing CA ${issuing.id} signed by ${opts.root} (${issuing.keyUri}): ${issuing.subjectDn}`);
    });

  rootKeyOptions(ceremony.command('root-crl'))
    .description("the root signs its next CRL (the issuing CAs' CDP), due before the current one's nextUpdate (audit crl.generate)")
    .requiredOption('--root <id>', 'the root')
    .option('--json', 'machine-readable output')
    .action(async (opts: { root: string; json?: boolean } & RootOptions, command: Command) => {
      const config = await configFrom(command);
      const root = await rootPassphrase(config, opts);
      const crl = await withService(config, 'ca ceremony root-crl', (s) => s.certificates.setup.renewRootCrl(cliActor(), opts.root), { root });
      printJsonOr(!!opts.json, { root: opts.root, number: crl.number.toString(), nextUpdate: crl.nextUpdate.toISOString() }, () => `root ${opts.root}: CRL #${crl.number}, next update ${crl.nextUpdate.toISOString()}`);
    });

  rootKeyOptions(ceremony.command('migrate-root'))
    .description('move a root key sealed with MASTER_PASSPHRASE (installations made before the root was kept apart) into the root store under its own passphrase (audit ca.root.migrate)')
    .requiredOption('--root <id>', 'the root')
    .option('--json', 'machine-readable output')
    .action(async (opts: { root: string; json?: boolean } & RootOptions, command: Command) => {
      const config = await configFrom(command);
      const root = await rootPassphrase(config, opts);
      if (!root.passphrase) throw new CliFailure('migrate-root needs the new root passphrase: --root-passphrase-file FILE, or run it on a terminal', EXIT.usage);
      const moved = await withService(config, 'ca ceremony migrate-root', (s) => s.certificates.setup.migrateRoot(cliActor(), opts.root), { root });
      printJsonOr(!!opts.json, { id: moved.id, keyUri: moved.keyUri }, () => `root ${moved.id} now ${moved.keyUri}: sealed with the root passphrase; MASTER_PASSPHRASE no longer opens it`);
    });

  ceremony
    .command('export')
    .description('write the root\'s public material: certificate (PEM, DER), latest CRL, SHA-256 fingerprints (audit ca.root.export)')
    .requiredOption('--root <id>', 'the root')
    .requiredOption('--out <dir>', 'directory to write root.pem, root.crt, root.crl, fingerprints.txt into')
    .option('--json', 'machine-readable output')
    .action(async (opts: { root: string; out: string; json?: boolean }, command: Command) => {
      const exported = await withService(await configFrom(command), 'ca ceremony export', (s) => s.certificates.setup.exportRoot(cliActor(), opts.root));
      mkdirSync(opts.out, { recursive: true });
      writeFileSync(join(opts.out, `${exported.id}.pem`), exported.certificatePem);
      writeFileSync(join(opts.out, `${exported.id}.crt`), exported.certificateDer);
      if (exported.crlDer) writeFileSync(join(opts.out, `${exported.id}.crl`), exported.crlDer);
      const fingerprints = `certificate SHA-256 ${exported.certificateSha256}\npublic key SHA-256 ${exported.publicKeySha256}\n`;
      writeFileSync(join(opts.out, `${exported.id}-fingerprints.txt`), fingerprints);
      printJsonOr(!!opts.json, { id: exported.id, certificateSha256: exported.certificateSha256, publicKeySha256: exported.publicKeySha256, crl: !!exported.crlDer }, () => `root ${exported.id} exported to ${opts.out}\n${fingerprints.trim()}`);
    });
}
