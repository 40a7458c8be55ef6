import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { HolderData } from '../../../ca/issuance/request.js';
import type { NameControlEvidence } from '../../../ca/records.js';
import type { SubmitInput, RequestOutcome } from '../../certificates/registration-authority.js';
import type { ItemOutcome } from '../../certificates/batch-issuance.js';
import { MAX_BATCH } from '../../certificates/batch-limits.js';
import type { BatchApproval } from '../../certificates/batch-requests.js';
import { CliFailure, EXIT, cliActor, configFrom, printJsonOr, withService } from '../cli-support.js';
import { addPersonOptions, proveOfficer, type PersonOptions } from '../officer-login.js';

const OFFICER_ROLES = ['ra-officer', 'admin'] as const;

/** Non-empty lines of a file, each with its line number (for messages). */
function linesOf(file: string): Array<{ n: number; text: string }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliFailure(`${file}: ${(err as Error).message}`, EXIT.usage);
  }
  const lines = text.split('\n').map((t, i) => ({ n: i + 1, text: t.trim() })).filter((l) => l.text && !l.text.startsWith('#'));
  if (lines.length === 0 || lines.length > MAX_BATCH) throw new CliFailure(`${file}: 1 to ${MAX_BATCH} items per batch, found ${lines.length}`, EXIT.usage);
  return lines;
}

/** One JSON line of `cert request-batch`: the API's CertificateRequestInput (docs/cli.md). */
function submitInputOf(file: string, line: { n: number; text: string }): SubmitInput {
  let item: { csr?: unknown; profile?: unknown; subject?: HolderData['subject']; emails?: string[]; dnsNames?: string[]; predecessorSerial?: string };
  try {
    item = JSON.parse(line.text) as typeof item;
  } catch (err) {
    throw new CliFailure(`${file}:${line.n}: not JSON (${(err as Error).message})`, EXIT.usage);
  }
  if (typeof item.csr !== 'string' || typeof item.profile !== 'string') throw new CliFailure(`${file}:${line.n}: "csr" (PEM) and "profile" are required`, EXIT.usage);
  const holder = item.subject || item.emails || item.dnsNames ? { subject: item.subject, emails: item.emails, dnsNames: item.dnsNames } : undefined;
  return { csr: item.csr, profileId: item.profile, holder, predecessorSerial: item.predecessorSerial };
}

/** A line of `--ids-from`: a request id, or JSON {"id": …, "nameControl": [{name, method, evidence}]}. */
function approvalOf(file: string, line: { n: number; text: string }): BatchApproval {
  if (!line.text.startsWith('{')) return { id: line.text };
  try {
    const item = JSON.parse(line.text) as { id: string; nameControl?: NameControlEvidence[] };
    if (typeof item.id !== 'string') throw new Error('"id" is required');
    return { id: item.id, nameControl: item.nameControl };
  } catch (err) {
    throw new CliFailure(`${file}:${line.n}: ${(err as Error).message}`, EXIT.usage);
  }
}

/** One line per item: `ok <request> <status> [→ serial]` or `failed <detail>`; the exit code says whether any failed. */
function report(json: boolean, outcomes: Array<ItemOutcome<RequestOutcome>>): void {
  const items = outcomes.map((o, index) => (o.ok ? { index, ok: true, request: o.value.request, issued: o.value.issued } : { index, ok: false, problem: { kind: o.error.kind, detail: o.error.detail } }));
  const failed = items.filter((i) => !i.ok).length;
  printJsonOr(json, { issued: outcomes.filter((o) => o.ok && o.value.issued).length, failed, items }, () =>
    outcomes.map((o, i) => (o.ok ? `${i + 1}\tok\t${o.value.request.id}\t${o.value.request.status}${o.value.issued ? `\t→ ${o.value.issued.serial}` : ''}` : `${i + 1}\tfailed\t${o.error.detail}`)).join('\n'),
  );
  // The answer is printed; the exit code (and a line on stderr) says that some items failed.
  if (failed) throw new CliFailure(`${failed} of ${outcomes.length} items failed (the others stand)`, EXIT.failed);
}

/** `cert request-batch` and `cert approve-batch`: the RA officers' batch path (docs/ca.md, "Batch issuance"). */
export function addBatchCommands(cert: Command): void {
  cert.command('request-batch <file>')
    .description(`submit up to ${MAX_BATCH} requests in one call, one JSON per line ({"csr": PEM, "profile": …, "subject": …}); those needing no approval are issued together`)
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: { json?: boolean }, command: Command) => {
      const inputs = linesOf(file).map((line) => submitInputOf(file, line));
      const outcomes = await withService(await configFrom(command), 'cert request-batch', (s) => s.certificates.batch.requests.submitMany(cliActor(), inputs));
      report(!!opts.json, outcomes);
    });

  const approve = cert
    .command('approve-batch')
    .description('approve many pending requests as a named RA officer (dual control per item); those reaching their approvals are issued together')
    .requiredOption('--officer <login>', "the approving officer's account (ra-officer or admin)")
    .option('--all-pending', `every pending request (up to ${MAX_BATCH}, oldest first)`)
    .option('--ids-from <file>', 'one request id per line, or {"id": …, "nameControl": [{"name", "method", "evidence"}]} for requests with DNS names');
  addPersonOptions(approve, 'the officer')
    .option('--json', 'machine-readable output')
    .action(async (opts: PersonOptions & { officer: string; allPending?: boolean; idsFrom?: string; json?: boolean }, command: Command) => {
      if (!!opts.allPending === !!opts.idsFrom) throw new CliFailure('name the requests: --all-pending or --ids-from <file>', EXIT.usage);
      const listed = opts.idsFrom ? linesOf(opts.idsFrom).map((line) => approvalOf(opts.idsFrom!, line)) : null;
      const outcomes = await withService(await configFrom(command), 'cert approve-batch', async (s) => {
        const { actor, context } = await proveOfficer(s, opts.officer, opts, 'cert approve-batch', OFFICER_ROLES);
        const approvals = listed ?? (await s.certificates.ra.list('pending', MAX_BATCH)).reverse().map((r) => ({ id: r.id }));
        if (approvals.length === 0) return [];
        return s.certificates.batch.requests.approveMany(actor, approvals, context);
      });
      report(!!opts.json, outcomes);
    });
}
