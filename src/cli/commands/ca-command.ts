import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliFailure, EXIT, cliActor, configFrom, printJsonOr, withService } from '../cli-support.js';

export function registerCa(program: Command): void {
  const ca = program.command('ca').description('the CA hierarchy: root, issuing CAs, OCSP signers');

  ca.command('init')
    .description('create the root, an issuing CA and its OCSP signer (keys in DATA_DIR/keys, sealed with the master passphrase); or, with --external-root, the issuing CA\'s key and CSR for an external root')
    .option('--external-root', 'the issuing CA will be certified by an external root (e.g. the government CA): write its CSR')
    .option('--csr-out <file>', 'with --external-root: where to write the CSR (default: print it)')
    .option('--key-type <type>', 'ecdsa-p256 (default), ecdsa-p384, rsa-2048…4096, rsa-pss-2048…4096')
    .option('--key-store <store>', 'file (encrypted PKCS#8, default CA_KEY_STORE) or pkcs11 (the token of PKCS11_TOKEN; docs/hsm.md)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { externalRoot?: boolean; csrOut?: string; keyType?: string; keyStore?: string; json?: boolean }, command: Command) => {
      if (opts.keyStore !== undefined && opts.keyStore !== 'file' && opts.keyStore !== 'pkcs11') throw new CliFailure(`--key-store must be file or pkcs11, not "${opts.keyStore}"`, EXIT.usage);
      const config = configFrom(command);
      if (opts.externalRoot) {
        const { issuerId, csrPem } = await withService(config, 'ca init', (s) => s.certificates.setup.initExternal(cliActor(), { keyType: opts.keyType, keyStore: opts.keyStore }));
        if (opts.csrOut) writeFileSync(opts.csrOut, csrPem);
        printJsonOr(!!opts.json, { issuerId, csr: csrPem }, () =>
          [`issuing CA ${issuerId} created, waiting for its certificate.`, opts.csrOut ? `CSR written to ${opts.csrOut}` : csrPem.trim(), `Send the CSR to the root; then: tinnhiem ca import-cert --issuer ${issuerId} --cert signed.pem [--parent root.pem]`].join('\n'),
        );
        return;
      }
      const issuers = await withService(config, 'ca init', (s) => s.certificates.setup.initHierarchy(cliActor(), { keyType: opts.keyType, keyStore: opts.keyStore }));
      printJsonOr(!!opts.json, issuers.map(({ certificate: _c, csr: _r, ...i }) => i), () => issuers.map((i) => `${i.role.padEnd(12)} ${i.id.padEnd(24)} ${i.subjectDn ?? ''}`).join('\n'));
    });

  ca.command('show')
    .description('list the issuers: roles, status, subjects, key URIs')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const issuers = await withService(configFrom(command), 'ca show', (s) => s.certificates.ca.issuers());
      const view = issuers.map(({ certificate, csr, ...i }) => ({ ...i, hasCertificate: !!certificate, pendingCsr: !!csr && !certificate }));
      printJsonOr(!!opts.json, view, () => view.map((i) => `${i.role.padEnd(12)} ${i.status.padEnd(8)} ${i.id.padEnd(24)} ${i.subjectDn ?? '(waiting for its certificate)'}`).join('\n') || 'no issuers: run `tinnhiem ca init`');
    });

  ca.command('import-cert')
    .description('install the certificate an external root signed for a pending issuing CA (checked against our key)')
    .requiredOption('--issuer <id>', 'the pending issuing CA')
    .requiredOption('--cert <file>', 'the signed certificate (PEM or DER)')
    .option('--parent <file>', 'the external root\'s certificate: its signature and name chaining are checked too')
    .option('--json', 'machine-readable output')
    .action(async (opts: { issuer: string; cert: string; parent?: string; json?: boolean }, command: Command) => {
      const cert = readFileSync(opts.cert);
      const parent = opts.parent ? readFileSync(opts.parent) : undefined;
      const issuer = await withService(configFrom(command), 'ca import-cert', (s) =>
        s.certificates.setup.importIssuerCertificate(cliActor(), opts.issuer, new Uint8Array(cert), parent ? new Uint8Array(parent) : undefined),
      );
      printJsonOr(!!opts.json, { id: issuer.id, status: issuer.status, subjectDn: issuer.subjectDn }, () => `issuing CA ${issuer.id} is active: ${issuer.subjectDn}`);
    });
}
