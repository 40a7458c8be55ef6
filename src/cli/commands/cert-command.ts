import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CertificateRecord, CertificateRequestRecord, CertificateSearch, RevocationReasonName } from '../../../ca/records.js';
import type { HolderData } from '../../../ca/issuance/request.js';
import { NAME_CONTROL_METHODS, REVOCATION_REASONS, type NameControlEvidence } from '../../../ca/records.js';
import { CliFailure, EXIT, cliActor, configFrom, printJsonOr, withService } from '../cli-support.js';
import { progressBar } from '../progress.js';
import { withReadOnlyStores } from '../read-only.js';
import { addPersonOptions, proveOfficer, type PersonOptions } from '../officer-login.js';
import { addBatchCommands } from './cert-batch-command.js';

function readHolder(file?: string): HolderData | undefined {
  if (!file) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as HolderData;
  } catch (err) {
    throw new CliFailure(`--holder ${file}: ${(err as Error).message}`, EXIT.usage);
  }
}

const line = (c: CertificateRecord) =>
  `${c.serial.padEnd(34)} ${c.status.padEnd(7)} ${(c.profileId ?? c.source).padEnd(18)} ${c.notAfter.toISOString().slice(0, 10)}  ${c.holderName ?? ''}${c.agency ? ` · ${c.agency}` : ''}`;

const requestLine = (r: CertificateRequestRecord) =>
  `${r.id}  ${r.status.padEnd(8)} ${r.profileId.padEnd(18)} ${r.approvals.length}/${r.approvalsRequired}  ${r.subjectDn}${r.certificateSerial ? `  → ${r.certificateSerial}` : ''}`;

function reasonOf(value: string | undefined): RevocationReasonName {
  const reason = (value ?? 'unspecified') as RevocationReasonName;
  if (!REVOCATION_REASONS.includes(reason) || reason === 'certificateHold') {
    throw new CliFailure(`--reason: one of ${REVOCATION_REASONS.filter((r) => r !== 'certificateHold').join(', ')} (use \`cert hold\` for certificateHold)`, EXIT.usage);
  }
  return reason;
}

export function registerCert(program: Command): void {
  const cert = program.command('cert').description('certificate requests, issuance, revocation and the registry');
  addRequestCommand(cert);
  addIssueCommand(cert);
  addApproveCommand(cert);
  addRejectCommand(cert);
  addRequestsCommand(cert);
  addStatusCommands(cert);
  addListCommand(cert);
  addShowCommand(cert);
  addExportCommand(cert);
  addImportCommand(cert);
  addBlockKeyCommand(cert);
  addBatchCommands(cert);
}

function addBlockKeyCommand(cert: Command): void {
  cert.command('block-key <file>')
    .description('refuse a key reported compromised in every future CSR (PEM/DER public key, certificate or CSR); docs/ca.md, "Blocked keys"')
    .option('--comment <text>', 'who reported it, and how')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: { comment?: string; json?: boolean }, command: Command) => {
      const result = await withService(await configFrom(command), 'cert block-key', (s) => s.certificates.blockKey(cliActor(), new Uint8Array(readFileSync(file)), opts.comment));
      printJsonOr(!!opts.json, result, () => `${result.blocked ? 'blocked' : 'already blocked'}: ${result.fingerprint}`);
    });
}

/** `--name-control www.example.gov.vn=dns-change:TXT _tinnhiem… seen 2026-12-03` → evidence entries. */
function nameControlOf(values: string[]): NameControlEvidence[] {
  return values.map((value) => {
    const match = /^([^=]+)=([a-z-]+):(.+)$/s.exec(value);
    if (!match || !(NAME_CONTROL_METHODS as readonly string[]).includes(match[2])) {
      throw new CliFailure(`--name-control ${value}: expected <name>=<method>:<evidence>, method one of ${NAME_CONTROL_METHODS.join(', ')}`, EXIT.usage);
    }
    return { name: match[1], method: match[2] as NameControlEvidence['method'], evidence: match[3] };
  });
}

function addRequestCommand(cert: Command): void {
  cert.command('request')
    .description('submit a CSR under a profile (issued at once when the profile needs no approval)')
    .requiredOption('--profile <id>', 'official-signing, organisation-seal, tls-server, …')
    .requiredOption('--csr <file>', 'PKCS#10 request, PEM or DER')
    .option('--holder <file>', 'JSON {"subject": {...}, "emails": [...]}: the holder data the RA vouches for')
    .option('--renews <serial>', 'renewal or re-key of this certificate')
    .option('--json', 'machine-readable output')
    .action(async (opts: { profile: string; csr: string; holder?: string; renews?: string; json?: boolean }, command: Command) => {
      const outcome = await withService(await configFrom(command), 'cert request', (s) =>
        s.certificates.ra.submit(cliActor(), { csr: new Uint8Array(readFileSync(opts.csr)), profileId: opts.profile, holder: readHolder(opts.holder), predecessorSerial: opts.renews }),
      );
      printJsonOr(!!opts.json, outcome, () => requestLine(outcome.request));
    });
}

function addIssueCommand(cert: Command): void {
  cert.command('issue')
    .description('direct issuance by the operator, for profiles that need no approval')
    .requiredOption('--profile <id>', 'a profile with "approvals": 0 (e.g. tls-server)')
    .requiredOption('--csr <file>', 'PKCS#10 request, PEM or DER')
    .option('--holder <file>', 'JSON holder data')
    .option('--out <file>', 'write the certificate (PEM) here')
    .option('--json', 'machine-readable output')
    .action(async (opts: { profile: string; csr: string; holder?: string; out?: string; json?: boolean }, command: Command) => {
      const result = await withService(await configFrom(command), 'cert issue', async (s) => {
        const outcome = await s.certificates.ra.issueDirect(cliActor(), { csr: new Uint8Array(readFileSync(opts.csr)), profileId: opts.profile, holder: readHolder(opts.holder) });
        const record = await s.certificates.ca.certificate(outcome.issued!.serial, outcome.issued!.issuerId);
        return { request: outcome.request, certificate: record, pem: s.certificates.pem(record) };
      });
      if (opts.out) writeFileSync(opts.out, result.pem);
      printJsonOr(!!opts.json, { serial: result.certificate.serial, issuerId: result.certificate.issuerId, der: result.certificate.der }, () => (opts.out ? line(result.certificate) : result.pem.trim()));
    });
}

function addApproveCommand(cert: Command): void {
  const approve = cert
    .command('approve <requestId>')
    .description('approve a request as a named RA officer, who proves it is them (dual control: never the requester; n distinct officers)')
    .requiredOption('--officer <login>', "the approving officer's account (ra-officer or admin)");
  addPersonOptions(approve, 'the officer')
    .option('--name-control <name=method:evidence>', `how control of a DNS name was checked (${NAME_CONTROL_METHODS.join(', ')}); once per name`, (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: PersonOptions & { officer: string; nameControl: string[]; json?: boolean }, command: Command) => {
      const outcome = await withService(await configFrom(command), 'cert approve', async (s) => {
        const { actor, context } = await proveOfficer(s, opts.officer, opts, 'cert approve', OFFICER_ROLES);
        return s.certificates.ra.approve(actor, id, nameControlOf(opts.nameControl), context);
      });
      printJsonOr(!!opts.json, outcome, () => requestLine(outcome.request));
    });
}

function addRejectCommand(cert: Command): void {
  const reject = cert
    .command('reject <requestId>')
    .description('reject a request as a named RA officer, who proves it is them')
    .requiredOption('--officer <login>', "the rejecting officer's account (ra-officer or admin)")
    .requiredOption('--reason <text>', 'why');
  addPersonOptions(reject, 'the officer')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: PersonOptions & { officer: string; reason: string; json?: boolean }, command: Command) => {
      const r = await withService(await configFrom(command), 'cert reject', async (s) => {
        const { actor, context } = await proveOfficer(s, opts.officer, opts, 'cert reject', OFFICER_ROLES);
        return s.certificates.ra.reject(actor, id, opts.reason, context);
      });
      printJsonOr(!!opts.json, r, () => requestLine(r));
    });
}

const OFFICER_ROLES = ['ra-officer', 'admin'] as const;

function addRequestsCommand(cert: Command): void {
  cert.command('requests')
    .description('list certificate requests')
    .option('--status <status>', 'pending | approved | issued | rejected')
    .option('--json', 'machine-readable output')
    .action(async (opts: { status?: CertificateRequestRecord['status']; json?: boolean }, command: Command) => {
      const list = await withService(await configFrom(command), 'cert requests', (s) => s.certificates.ra.list(opts.status, 500));
      printJsonOr(!!opts.json, list, () => list.map(requestLine).join('\n') || 'no requests');
    });
}

function addStatusCommands(cert: Command): void {
  for (const action of ['revoke', 'hold', 'release'] as const) {
    const c = cert
      .command(`${action} [serial]`)
      .description(action === 'revoke' ? 'revoke a certificate, or (with --agency/--national-id/--tax-code) every valid one of a holder' : action === 'hold' ? 'put a certificate on hold (certificateHold)' : 'release a certificate from hold')
      .option('--comment <text>', 'recorded in the audit log')
      .option('--json', 'machine-readable output');
    if (action === 'revoke') {
      c.option('--reason <reason>', `${REVOCATION_REASONS.filter((r) => r !== 'certificateHold').join(', ')}`, 'unspecified')
        .option('--invalidity-date <iso>', 'RFC 5280 §5.3.2: when the key was (suspected) compromised')
        .option('--agency <O>', 'bulk: every valid certificate of this agency (exact O)')
        .option('--national-id <cccd>', 'bulk: every valid certificate of this person')
        .option('--tax-code <mst>', 'bulk: every valid certificate of this organisation');
    }
    c.action(async (serial: string | undefined, opts: Record<string, string | boolean | undefined>, command: Command) => {
      const config = await configFrom(command);
      const bulk = opts.agency || opts.nationalId || opts.taxCode;
      if (!serial && !bulk) throw new CliFailure('give a serial (or, for revoke, --agency, --national-id or --tax-code)', EXIT.usage);
      if (bulk) {
        const bar = opts.json ? undefined : progressBar('revoking');
        const result = await withService(config, 'cert revoke', (s) =>
          s.certificates.bulkRevoke(cliActor(), { agency: opts.agency as string, nationalId: opts.nationalId as string, taxCode: opts.taxCode as string }, reasonOf(opts.reason as string), opts.comment as string, bar),
        );
        printJsonOr(!!opts.json, result, () => `revoked ${result.revoked.length}, failed ${result.failed.length}${result.failed.map((f) => `\n  ${f.serial}: ${f.detail}`).join('')}`);
        return;
      }
      const invalidity = opts.invalidityDate ? new Date(String(opts.invalidityDate)) : null;
      if (invalidity && Number.isNaN(invalidity.getTime())) throw new CliFailure('--invalidity-date: not a date', EXIT.usage);
      const updated = await withService(config, `cert ${action}`, (s) =>
        s.certificates.ca.changeStatus({ actor: cliActor(), serial: serial!, action, reason: action === 'revoke' ? reasonOf(opts.reason as string) : undefined, invalidityDate: invalidity, comment: opts.comment as string }),
      );
      printJsonOr(!!opts.json, updated, () => line(updated));
    });
  }
}

function addListCommand(cert: Command): void {
  cert.command('list')
    .description('search the registry')
    .option('--search <text>', 'part of the holder name or subject, or a serial')
    .option('--national-id <cccd>')
    .option('--tax-code <mst>')
    .option('--agency <text>')
    .option('--status <status>', 'good | revoked | hold | expired')
    .option('--profile <id>')
    .option('--issuer <id>')
    .option('--expires-within <days>', 'valid now and expiring within this many days (expiry report)')
    .option('--limit <n>', 'page size (max 500)', '50')
    .option('--offset <n>', 'page offset', '0')
    .option('--json', 'machine-readable output')
    .action(async (opts: Record<string, string | boolean | undefined>, command: Command) => {
      const limit = Number(opts.limit);
      const offset = Number(opts.offset);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500 || !Number.isInteger(offset) || offset < 0) throw new CliFailure('--limit 1–500, --offset ≥ 0', EXIT.usage);
      const page = await withReadOnlyStores(await configFrom(command), 'cert list', (s) =>
        s.searchCertificates({
          text: opts.search as string,
          nationalId: opts.nationalId as string,
          taxCode: opts.taxCode as string,
          agency: opts.agency as string,
          status: opts.status as CertificateSearch['status'],
          profileId: opts.profile as string,
          issuerId: opts.issuer as string,
          expiresWithinDays: opts.expiresWithin !== undefined ? Number(opts.expiresWithin) : undefined,
          limit,
          offset,
        }),
      );
      printJsonOr(!!opts.json, { total: page.total, items: page.items.map(({ der: _d, tbs: _t, ...c }) => c) }, () => [`${page.total} certificates`, ...page.items.map(line)].join('\n'));
    });
}

function addShowCommand(cert: Command): void {
  cert.command('show <serial>')
    .description('one certificate: status, holder, validity, history')
    .option('--json', 'machine-readable output')
    .action(async (serial: string, opts: { json?: boolean }, command: Command) => {
      const record = await withService(await configFrom(command), 'cert show', (s) => s.certificates.ca.certificate(serial));
      const { der: _d, tbs: _t, ...c } = record;
      // --json: the record with the certificate as PEM and base64 DER (src/cli/json-output.ts).
      printJsonOr(!!opts.json, record, () => Object.entries(c).map(([k, v]) => `${k.padEnd(22)} ${v instanceof Date ? v.toISOString() : String(v ?? '-')}`).join('\n'));
    });
}

function addExportCommand(cert: Command): void {
  cert.command('export <serial>')
    .description('write a certificate as PEM, DER, or with its chain as PKCS#7')
    .option('--format <format>', 'pem | der | p7b', 'pem')
    .option('--out <file>', 'file to write (default: standard output, PEM only)')
    .action(async (serial: string, opts: { format: string; out?: string }, command: Command) => {
      if (!['pem', 'der', 'p7b'].includes(opts.format)) throw new CliFailure('--format: pem, der or p7b', EXIT.usage);
      if (opts.format !== 'pem' && !opts.out) throw new CliFailure(`--out is required for ${opts.format}`, EXIT.usage);
      const bytes = await withService(await configFrom(command), 'cert export', async (s) => {
        const c = await s.certificates.ca.certificate(serial);
        if (opts.format === 'pem') return Buffer.from(s.certificates.pem(c));
        if (opts.format === 'der') return c.der!;
        return Buffer.from(await s.certificates.chainPkcs7(c));
      });
      if (opts.out) writeFileSync(opts.out, bytes);
      else process.stdout.write(bytes);
    });
}

function addImportCommand(cert: Command): void {
  cert.command('import <path>')
    .description('import existing certificates: a PEM bundle, or a folder of .pem/.crt/.cer files (ours or other CAs\')')
    .option('--json', 'machine-readable output')
    .action(async (path: string, opts: { json?: boolean }, command: Command) => {
      const files = statSync(path).isDirectory() ? readdirSync(path).filter((f) => /\.(pem|crt|cer)$/i.test(f)).map((f) => join(path, f)) : [path];
      const text = files.map((f) => {
        const raw = readFileSync(f);
        return raw.includes('-----BEGIN') ? raw.toString('utf8') : `-----BEGIN CERTIFICATE-----\n${raw.toString('base64')}\n-----END CERTIFICATE-----\n`;
      });
      const result = await withService(await configFrom(command), 'cert import', (s) => s.certificates.importCertificates(cliActor(), text.join('\n')));
      printJsonOr(!!opts.json, result, () => [`imported ${result.imported.length}, skipped ${result.skipped.length}`, ...result.imported.map((i) => `  ${i.serial}  ${i.issuer}  status from ${i.statusSource}`)].join('\n'));
    });
}

export function registerCrl(program: Command): void {
  const crl = program.command('crl').description('certificate revocation lists');
  crl.command('generate')
    .description('generate and publish CRLs now (the service also does on every revocation and on a schedule); the root\'s CRL only here')
    .option('--issuer <id>', 'one issuer (default: every issuing CA)')
    .option('--kind <kind>', 'full | delta | both', 'both')
    .option('--json', 'machine-readable output')
    .action(async (opts: { issuer?: string; kind: string; json?: boolean }, command: Command) => {
      if (!['full', 'delta', 'both'].includes(opts.kind)) throw new CliFailure('--kind: full, delta or both', EXIT.usage);
      const kinds = opts.kind === 'both' ? (['full', 'delta'] as const) : ([opts.kind] as Array<'full' | 'delta'>);
      const out = await withService(await configFrom(command), 'crl generate', async (s) => {
        const ids = opts.issuer ? [opts.issuer] : (await s.certificates.ca.issuers()).filter((i) => i.role === 'issuing' && i.status === 'active').map((i) => i.id);
        const result: Array<{ issuer: string; kind: string; number: string }> = [];
        for (const id of ids) for (const c of await s.certificates.ca.generateCrls(id, [...kinds], { actor: cliActor(), newBase: kinds.includes('full') })) result.push({ issuer: id, kind: c.kind, number: c.number.toString() });
        return result;
      });
      printJsonOr(!!opts.json, out, () => out.map((c) => `${c.issuer}  ${c.kind.padEnd(5)} #${c.number}`).join('\n'));
    });
}
