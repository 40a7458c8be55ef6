import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Account, Role } from '../../../oidc/account.js';
import { CliFailure, EXIT, cliActor, configFrom, printJsonOr, withService } from '../cli-support.js';
import type { Service } from '../../service/service.js';
import type { ChangeOutcome, ChangeRequest } from '../../accounts/account-changes.js';
import { isPrivileged } from '../../accounts/account-changes.js';
import { describeLoginCertificate } from '../../accounts/login-certificates.js';
import { addPersonOptions, proveOfficer, type PersonOptions } from '../officer-login.js';
import { registerUserChanges } from './user-change-command.js';

/** What commands that change people accept: the administrator they act as (dual control). */
type AsAdmin = PersonOptions & { as?: string };

const addAsAdmin = (command: Command) =>
  addPersonOptions(command.option('--as <login>', 'the administrator making the change (required for admin and ra-officer accounts: dual control)'), 'the --as administrator', '--admin-password-file');

/**
 * A change to a person made as a named, authenticated administrator (through AccountChangeService,
 * so an admin or ra-officer account waits for a second administrator), or, for ordinary accounts
 * without --as, by the host's operator as before.
 */
async function changePerson(s: Service, opts: AsAdmin, command: string, privileged: boolean, request: ChangeRequest, direct: () => Promise<Account>): Promise<ChangeOutcome> {
  if (!opts.as) {
    if (privileged) throw new CliFailure(`${command}: this account holds or would hold admin or ra-officer: name the administrator with --as LOGIN (a second administrator then approves with \`tinnhiem user approve-change\`)`, EXIT.usage);
    return { status: 'done', change: null, account: await direct() };
  }
  const { actor } = await proveOfficer(s, opts.as, { adminPasswordFile: opts.adminPasswordFile, approvalCode: opts.approvalCode }, command, ['admin']);
  return s.accountChanges.request(actor, request);
}

async function accountOf(s: Service, login: string): Promise<Account> {
  const account = await s.accounts.findByLogin(login);
  if (!account) throw new CliFailure(`no account ${login}`, EXIT.usage);
  return account;
}

const pendingLine = (o: { change: { id: string } | null }) => `pending: change ${o.change!.id} awaits a second administrator (tinnhiem user approve-change ${o.change!.id} --as OTHER_ADMIN)`;

/** Passwords never come from argv (visible in `ps` and shell history): a file, stdin, or generated. */
function readPassword(opts: { passwordFile?: string; passwordStdin?: boolean }): { password: string; generated: boolean } {
  if (opts.passwordFile && opts.passwordStdin) throw new CliFailure('give --password-file or --password-stdin, not both', EXIT.usage);
  if (opts.passwordFile) return { password: readFileSync(opts.passwordFile, 'utf8').replace(/\r?\n$/, ''), generated: false };
  if (opts.passwordStdin) return { password: readFileSync(0, 'utf8').replace(/\r?\n$/, ''), generated: false };
  return { password: randomBytes(15).toString('base64url'), generated: true };
}

const describeAccount = (a: Account) =>
  `${(a.username ?? '-').padEnd(20)} ${a.kind.padEnd(12)} ${a.status.padEnd(9)} ${a.fullName}${a.roles.length ? `  [${a.roles.join(', ')}]` : ''}`;

export function registerUser(program: Command): void {
  const user = program.command('user').description('accounts of officials (citizens are created by federated login)');
  addUserAddCommand(user);
  addListCommand(user);
  addSetPasswordCommand(user);
  addStatusCommands(user);
  addCertificateCommand(user);
  addPasskeysCommand(user);
  addDeletePasskeyCommand(user);
  registerUserChanges(user);
}

function addUserAddCommand(user: Command): void {
  const add = user
    .command('add')
    .description('create an official; without --password-file/--password-stdin a password is generated and printed ONCE')
    .requiredOption('--username <username>', 'login name (a–z 0–9 . _ -)')
    .requiredOption('--national-id <cccd>', 'personal identification number (CCCD, 12 digits)')
    .requiredOption('--name <fullName>', 'full name, e.g. "Nguyễn Văn An"')
    .option('--email <email>', 'official e-mail address')
    .option('--phone <phone>', 'phone number')
    .option('--agency <agency>', 'agency, e.g. "SỞ TÀI CHÍNH TỈNH SÓC TRĂNG"')
    .option('--unit <unit>', 'unit within the agency')
    .option('--position <position>', 'position')
    .option('--roles <roles>', 'comma-separated: admin, ra-officer, auditor, official', 'official')
    .option('--password-file <file>', 'read the initial password from a file')
    .option('--password-stdin', 'read the initial password from standard input');
  addAsAdmin(add)
    .option('--json', 'machine-readable output')
    .action(async (opts: Record<string, string | boolean | undefined>, command: Command) => {
      const { password, generated } = readPassword(opts as { passwordFile?: string; passwordStdin?: boolean });
      const official = {
        username: String(opts.username),
        nationalId: String(opts.nationalId),
        fullName: String(opts.name),
        email: (opts.email as string) ?? null,
        phone: (opts.phone as string) ?? null,
        agency: (opts.agency as string) ?? null,
        unit: (opts.unit as string) ?? null,
        position: (opts.position as string) ?? null,
        roles: String(opts.roles).split(',').map((r) => r.trim()).filter(Boolean) as Role[],
        password,
      };
      const outcome = await withService(await configFrom(command), 'user add', (s) =>
        changePerson(s, opts as AsAdmin, 'user add', isPrivileged(official.roles), { kind: 'create', official }, () => s.accounts.createOfficial(cliActor(), official)),
      );
      const account = outcome.account;
      printJsonOr(!!opts.json, { status: outcome.status, change: outcome.change?.id, account, ...(generated && { initialPassword: password }) }, () =>
        [account ? describeAccount(account) : pendingLine(outcome), generated ? `initial password: ${password}\n(shown once; the official should change it)` : ''].filter(Boolean).join('\n'),
      );
    });
}

function addListCommand(user: Command): void {
  user
    .command('list')
    .description('list accounts')
    .option('--kind <kind>', 'citizen | official | enterprise | organisation')
    .option('--status <status>', 'active | disabled')
    .option('--search <text>', 'part of a name or username, or a national ID')
    .option('--limit <n>', 'how many (max 1000)', '100')
    .option('--json', 'machine-readable output')
    .action(async (opts: { kind?: Account['kind']; status?: Account['status']; search?: string; limit: string; json?: boolean }, command: Command) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliFailure('--limit: expected an integer from 1 to 1000', EXIT.usage);
      const accounts = await withService(await configFrom(command), 'user list', (s) => s.accounts.list({ kind: opts.kind, status: opts.status, search: opts.search, limit }));
      printJsonOr(!!opts.json, accounts, () => accounts.map(describeAccount).join('\n') || 'no accounts');
    });
}

function addSetPasswordCommand(user: Command): void {
  const set = user
    .command('set-password <login>')
    .description("reset a password (from --password-file or --password-stdin, else generated and printed once); clears a login lock and removes the account's passkeys unless --keep-passkeys")
    .option('--password-file <file>', 'read the password from a file')
    .option('--password-stdin', 'read the password from standard input')
    .option('--keep-passkeys', "keep the account's passkeys (by default a reset removes them: one may be an attacker's)");
  addAsAdmin(set)
    .option('--json', 'machine-readable output')
    .action(async (login: string, opts: AsAdmin & { passwordFile?: string; passwordStdin?: boolean; keepPasskeys?: boolean; json?: boolean }, command: Command) => {
      const { password, generated } = readPassword(opts);
      const outcome = await withService(await configFrom(command), 'user set-password', async (s) => {
        const account = await accountOf(s, login);
        const keepPasskeys = !!opts.keepPasskeys;
        return changePerson(s, opts, 'user set-password', isPrivileged(account.roles), { kind: 'password', account, password, keepPasskeys }, () => s.accounts.setPassword(cliActor(), login, password, { keepPasskeys }));
      });
      printJsonOr(!!opts.json, { status: outcome.status, change: outcome.change?.id, account: outcome.account?.id, ...(generated && { password }) }, () =>
        [outcome.status === 'pending' ? pendingLine(outcome) : `password of ${login} changed`, generated ? `new password for ${login}: ${password}\n(shown once)` : ''].filter(Boolean).join('\n'),
      );
    });
}

function addStatusCommands(user: Command): void {
  const disable = user
    .command('disable <login>')
    .description('disable an account: it can no longer log in, and its sessions stop at their next use (admin and ra-officer accounts: dual control)');
  addAsAdmin(disable)
    .option('--json', 'machine-readable output')
    .action(async (login: string, opts: AsAdmin & { json?: boolean }, command: Command) => {
      const outcome = await withService(await configFrom(command), 'user disable', async (s) => {
        const account = await accountOf(s, login);
        return changePerson(s, opts, 'user disable', isPrivileged(account.roles), { kind: 'disable', account }, () => s.accounts.setStatus(cliActor(), login, 'disabled'));
      });
      printJsonOr(!!opts.json, outcome.account ?? { status: outcome.status, change: outcome.change?.id }, () => (outcome.status === 'pending' ? pendingLine(outcome) : `${login}: disabled`));
    });
  const enable = user
    .command('enable <login>')
    .description('enable a disabled account (admin and ra-officer accounts: dual control, as disabling)');
  addAsAdmin(enable)
    .option('--json', 'machine-readable output')
    .action(async (login: string, opts: AsAdmin & { json?: boolean }, command: Command) => {
      const outcome = await withService(await configFrom(command), 'user enable', async (s) => {
        const account = await accountOf(s, login);
        return changePerson(s, opts, 'user enable', isPrivileged(account.roles), { kind: 'enable', account }, () => s.accounts.setStatus(cliActor(), login, 'active'));
      });
      printJsonOr(!!opts.json, outcome.account ?? { status: outcome.status, change: outcome.change?.id }, () => (outcome.status === 'pending' ? pendingLine(outcome) : `${login}: active`));
    });
}

function addCertificateCommand(user: Command): void {
  const add = user
    .command('add-certificate <login>')
    .description('register a certificate (PEM or DER file) to an account for certificate login, when its subject names no CCCD of the account (admin and ra-officer accounts: dual control)')
    .requiredOption('--cert <file>', 'the certificate');
  addAsAdmin(add)
    .option('--json', 'machine-readable output')
    .action(async (login: string, opts: AsAdmin & { cert: string; json?: boolean }, command: Command) => {
      const file = readFileSync(opts.cert);
      const certificate = file.toString('latin1').includes('-----BEGIN') ? file.toString('utf8') : file;
      const outcome = await withService(await configFrom(command), 'user add-certificate', async (s) => {
        const account = await accountOf(s, login);
        const { fingerprint, subjectDn } = describeLoginCertificate(certificate);
        const change = await changePerson(s, opts, 'user add-certificate', isPrivileged(account.roles), { kind: 'certificate', account, certificate }, async () => {
          await s.certificateLogin.registerCertificate(cliActor(), account.id, certificate);
          return account;
        });
        return { status: change.status, change: change.change?.id, fingerprint, subjectDn };
      });
      printJsonOr(!!opts.json, outcome, () => (outcome.status === 'pending' ? pendingLine({ change: { id: outcome.change! } }) : `${login}: certificate ${outcome.subjectDn} registered (SHA-256 ${outcome.fingerprint})`));
    });
}

function addPasskeysCommand(user: Command): void {
  user
    .command('passkeys <login>')
    .description("list an account's passkeys")
    .option('--json', 'machine-readable output')
    .action(async (login: string, opts: { json?: boolean }, command: Command) => {
      const passkeys = await withService(await configFrom(command), 'user passkeys', async (s) => {
        const account = await s.accounts.findByLogin(login);
        if (!account) throw new CliFailure(`no account ${login}`, EXIT.usage);
        return (await s.passkeys.list(account.id)).map(({ publicKey: _key, ...rest }) => rest);
      });
      printJsonOr(!!opts.json, passkeys, () =>
        passkeys.length ? passkeys.map((p) => `${p.id}  ${p.name}  ${p.deviceType}  last used ${p.lastUsedAt?.toISOString() ?? 'never'}`).join('\n') : `${login} has no passkey`,
      );
    });
}

function addDeletePasskeyCommand(user: Command): void {
  user
    .command('delete-passkey <login> <id>')
    .description('delete a passkey of an account (a lost or stolen authenticator)')
    .option('--json', 'machine-readable output')
    .action(async (login: string, id: string, opts: { json?: boolean }, command: Command) => {
      await withService(await configFrom(command), 'user delete-passkey', async (s) => {
        const account = await s.accounts.findByLogin(login);
        if (!account) throw new CliFailure(`no account ${login}`, EXIT.usage);
        await s.passkeys.remove(cliActor(), account.id, id);
      });
      printJsonOr(!!opts.json, { deleted: id }, () => `${login}: passkey ${id} deleted`);
    });
}
