import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Account, Role } from '../../../oidc/account.js';
import { CliFailure, EXIT, cliActor, configFrom, printJsonOr, withService } from '../cli-support.js';

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
}

function addUserAddCommand(user: Command): void {
  user
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
    .option('--password-stdin', 'read the initial password from standard input')
    .option('--json', 'machine-readable output')
    .action(async (opts: Record<string, string | boolean | undefined>, command: Command) => {
      const { password, generated } = readPassword(opts as { passwordFile?: string; passwordStdin?: boolean });
      const account = await withService(configFrom(command), 'user add', (s) =>
        s.accounts.createOfficial(cliActor(), {
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
        }),
      );
      printJsonOr(!!opts.json, { account, ...(generated && { initialPassword: password }) }, () =>
        [describeAccount(account), generated ? `initial password: ${password}\n(shown once; the official should change it)` : ''].filter(Boolean).join('\n'),
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
      const accounts = await withService(configFrom(command), 'user list', (s) => s.accounts.list({ kind: opts.kind, status: opts.status, search: opts.search, limit }));
      printJsonOr(!!opts.json, accounts, () => accounts.map(describeAccount).join('\n') || 'no accounts');
    });
}

function addSetPasswordCommand(user: Command): void {
  user
    .command('set-password <login>')
    .description('set a password (from --password-file or --password-stdin, else generated and printed once); clears a login lock')
    .option('--password-file <file>', 'read the password from a file')
    .option('--password-stdin', 'read the password from standard input')
    .option('--json', 'machine-readable output')
    .action(async (login: string, opts: { passwordFile?: string; passwordStdin?: boolean; json?: boolean }, command: Command) => {
      const { password, generated } = readPassword(opts);
      const account = await withService(configFrom(command), 'user set-password', (s) => s.accounts.setPassword(cliActor(), login, password));
      printJsonOr(!!opts.json, { account: account.id, ...(generated && { password }) }, () =>
        generated ? `new password for ${login}: ${password}\n(shown once)` : `password of ${login} changed`,
      );
    });
}

function addStatusCommands(user: Command): void {
  for (const [name, status] of [['disable', 'disabled'], ['enable', 'active']] as const) {
    user
      .command(`${name} <login>`)
      .description(name === 'disable' ? 'disable an account: it can no longer log in, and its sessions stop at their next use' : 'enable a disabled account')
      .option('--json', 'machine-readable output')
      .action(async (login: string, opts: { json?: boolean }, command: Command) => {
        const account = await withService(configFrom(command), `user ${name}`, (s) => s.accounts.setStatus(cliActor(), login, status));
        printJsonOr(!!opts.json, account, () => `${login}: ${status}`);
      });
  }
}

function addCertificateCommand(user: Command): void {
  user
    .command('add-certificate <login>')
    .description('register a certificate (PEM or DER file) to an account for certificate login, when its subject names no CCCD of the account')
    .requiredOption('--cert <file>', 'the certificate')
    .option('--json', 'machine-readable output')
    .action(async (login: string, opts: { cert: string; json?: boolean }, command: Command) => {
      const certificate = readFileSync(opts.cert);
      const result = await withService(configFrom(command), 'user add-certificate', async (s) => {
        const account = await s.accounts.findByLogin(login);
        if (!account) throw new CliFailure(`no account ${login}`, EXIT.usage);
        return s.certificateLogin.registerCertificate(cliActor(), account.id, certificate.toString('latin1').includes('-----BEGIN') ? certificate.toString('utf8') : certificate);
      });
      printJsonOr(!!opts.json, result, () => `${login}: certificate ${result.subjectDn} registered (SHA-256 ${result.fingerprint})`);
    });
}

function addPasskeysCommand(user: Command): void {
  user
    .command('passkeys <login>')
    .description("list an account's passkeys")
    .option('--json', 'machine-readable output')
    .action(async (login: string, opts: { json?: boolean }, command: Command) => {
      const passkeys = await withService(configFrom(command), 'user passkeys', async (s) => {
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
      await withService(configFrom(command), 'user delete-passkey', async (s) => {
        const account = await s.accounts.findByLogin(login);
        if (!account) throw new CliFailure(`no account ${login}`, EXIT.usage);
        await s.passkeys.remove(cliActor(), account.id, id);
      });
      printJsonOr(!!opts.json, { deleted: id }, () => `${login}: passkey ${id} deleted`);
    });
}
