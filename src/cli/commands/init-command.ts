import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { NewOfficial } from '../../accounts/account-service.js';
import { CliFailure, EXIT, cliActor, configFrom, printJsonOr, withService } from '../cli-support.js';

/** `--admins FILE`: a JSON array of the two first administrators (`username`, `nationalId`, `name`, optional `password`, `email`, `agency`…). */
function readAdmins(file: string): Array<NewOfficial & { generated: boolean }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliFailure(`--admins ${file}: ${(err as Error).message}`, EXIT.usage);
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new CliFailure(`--admins ${file}: expected a JSON array of exactly two administrators`, EXIT.usage);
  return parsed.map((a: Record<string, unknown>, i) => {
    const text = (k: string) => (typeof a[k] === 'string' ? (a[k] as string) : null);
    if (!text('username') || !text('nationalId') || !(text('name') ?? text('fullName'))) throw new CliFailure(`--admins ${file}[${i}]: username, nationalId and name are required`, EXIT.usage);
    return {
      username: text('username')!,
      nationalId: text('nationalId')!,
      fullName: (text('name') ?? text('fullName'))!,
      email: text('email'),
      agency: text('agency'),
      unit: text('unit'),
      position: text('position'),
      roles: ['admin'],
      // Without one, a password is generated and printed once with the enrolment code.
      password: text('password') ?? randomBytes(15).toString('base64url'),
      generated: !text('password'),
    };
  });
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('initialise an installation: master-key check value, sealed cookie/CSRF keys, token signing keys (idempotent); --admins creates the first two administrators')
    .option('--admins <file>', 'JSON array of the first two administrators; each gets an enrolment code for a first passkey, printed ONCE')
    .option('--json', 'machine-readable output')
    .action(async (opts: { admins?: string; json?: boolean }, command: Command) => {
      const config = await configFrom(command);
      const admins = opts.admins ? readAdmins(opts.admins) : undefined;
      const { keys, created } = await withService(
        config,
        'init',
        async (service) => {
          await service.signingKeys.ensureInitialised(cliActor());
          const created = admins ? await service.accountChanges.bootstrapAdmins(cliActor(), admins.map(({ generated: _g, ...official }) => official)) : [];
          return { keys: await service.signingKeys.list(), created };
        },
        { initialise: true },
      );
      const adminsOut = created.map((c, i) => ({ username: c.account.username, id: c.account.id, enrolmentCode: c.code, ...(admins![i].generated && { initialPassword: admins![i].password }) }));
      printJsonOr(!!opts.json, { initialised: true, signingKeys: keys, admins: adminsOut }, () =>
        [
          'installation initialised',
          ...keys.map((k) => `  ${k.alg.padEnd(6)} ${k.state.padEnd(8)} ${k.kid}`),
          ...adminsOut.map((a) => `administrator ${a.username}: enrolment code ${a.enrolmentCode}${a.initialPassword ? `, initial password ${a.initialPassword}` : ''} (shown once; register a passkey at /account within 24 hours)`),
        ].join('\n'),
      );
    });
}
