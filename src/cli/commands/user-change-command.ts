import type { Command } from 'commander';
import type { AccountChange } from '../../storage/account-control-repository.js';
import { CliFailure, EXIT, configFrom, printJsonOr, withService } from '../cli-support.js';
import { addPersonOptions, proveOfficer, type PersonOptions } from '../officer-login.js';

/**
 * Dual control over people from the command line: the pending account changes, their approval
 * or rejection by a second administrator (who proves it is them), and enrolment codes.
 */
export function registerUserChanges(user: Command): void {
  addChangesCommand(user);
  addDecisionCommands(user);
  addEnrolmentCodeCommand(user);
}

const changeLine = (c: AccountChange) => `${c.id}  ${c.status.padEnd(8)} ${c.kind.padEnd(15)} ${c.label.padEnd(20)} requested by ${c.requestedBy} ${c.createdAt.toISOString()}`;

function addChangesCommand(user: Command): void {
  user
    .command('changes')
    .description('account changes (pending ones await a second administrator)')
    .option('--status <status>', 'pending | done | rejected', 'pending')
    .option('--json', 'machine-readable output')
    .action(async (opts: { status: AccountChange['status']; json?: boolean }, command: Command) => {
      if (!['pending', 'done', 'rejected'].includes(opts.status)) throw new CliFailure('--status: pending, done or rejected', EXIT.usage);
      const changes = await withService(await configFrom(command), 'user changes', (s) => s.accountChanges.list({ status: opts.status, limit: 200 }));
      printJsonOr(!!opts.json, changes, () => changes.map(changeLine).join('\n') || `no ${opts.status} account changes`);
    });
}

function addDecisionCommands(user: Command): void {
  const approve = user
    .command('approve-change <id>')
    .description('carry out a pending account change as a second administrator (never the one who asked)')
    .requiredOption('--as <login>', 'the approving administrator');
  addPersonOptions(approve, 'the administrator')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: PersonOptions & { as: string; json?: boolean }, command: Command) => {
      const outcome = await withService(await configFrom(command), 'user approve-change', async (s) => {
        const { actor, context } = await proveOfficer(s, opts.as, opts, 'user approve-change', ['admin']);
        return s.accountChanges.approve(actor, id, context);
      });
      printJsonOr(!!opts.json, outcome, () => `change ${id} approved and carried out${outcome.account ? ` (${outcome.account.username ?? outcome.account.id})` : ''}`);
    });
  const reject = user
    .command('reject-change <id>')
    .description('reject a pending account change')
    .requiredOption('--as <login>', 'the rejecting administrator')
    .requiredOption('--reason <text>', 'why');
  addPersonOptions(reject, 'the administrator')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: PersonOptions & { as: string; reason: string; json?: boolean }, command: Command) => {
      const change = await withService(await configFrom(command), 'user reject-change', async (s) => {
        const { actor, context } = await proveOfficer(s, opts.as, opts, 'user reject-change', ['admin']);
        return s.accountChanges.reject(actor, id, opts.reason, context);
      });
      printJsonOr(!!opts.json, change, () => changeLine(change));
    });
}

function addEnrolmentCodeCommand(user: Command): void {
  const code = user
    .command('enrolment-code <login>')
    .description("an enrolment code for the account's first passkey or login certificate, printed ONCE (admin and ra-officer accounts: usable after a second administrator approves)")
    .requiredOption('--as <login>', 'the administrator issuing it');
  addPersonOptions(code, 'the administrator')
    .option('--json', 'machine-readable output')
    .action(async (login: string, opts: PersonOptions & { as: string; json?: boolean }, command: Command) => {
      const outcome = await withService(await configFrom(command), 'user enrolment-code', async (s) => {
        const { actor } = await proveOfficer(s, opts.as, opts, 'user enrolment-code', ['admin']);
        const account = await s.accounts.findByLogin(login);
        if (!account) throw new CliFailure(`no account ${login}`, EXIT.usage);
        return s.accountChanges.request(actor, { kind: 'enrolment-code', account });
      });
      printJsonOr(!!opts.json, { status: outcome.status, change: outcome.change?.id, code: outcome.code }, () =>
        [`enrolment code for ${login}: ${outcome.code}`, '(shown once; usable once within 24 hours)', outcome.status === 'pending' ? `usable after a second administrator approves change ${outcome.change!.id}` : ''].filter(Boolean).join('\n'),
      );
    });
}
