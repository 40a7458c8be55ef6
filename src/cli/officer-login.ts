import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { Account, Role } from '../../oidc/account.js';
import type { Service } from '../service/service.js';
import { CliFailure, EXIT, cliActor } from './cli-support.js';

/** The options of every command that acts as a named person (docs/cli.md, docs/security.md). */
export interface PersonOptions {
  passwordFile?: string;
  /** `user` commands, whose --password-file is the new password: the administrator's own. */
  adminPasswordFile?: string;
  approvalCode?: string;
}

/** `--password-file` (or `--admin-password-file` where --password-file already means the account's new password). */
export function addPersonOptions(command: Command, who: string, passwordOption = '--password-file'): Command {
  return command
    .option(`${passwordOption} <file>`, `${who}'s password, from a file (else asked on the terminal)`)
    .option('--approval-code <code>', `for ${who} with passkeys: a one-time approval code created in their console session (/admin/approval-code)`);
}

/** Reads a password from the terminal without echoing it; refuses when there is no terminal. */
async function promptPassword(login: string): Promise<string> {
  if (!process.stdin.isTTY) throw new CliFailure(`${login}'s password: give --password-file, or run on a terminal to be asked`, EXIT.usage);
  const muted = new Writable({ write: (_chunk, _enc, done) => done() });
  process.stderr.write(`password of ${login}: `);
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

function readPasswordFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new CliFailure(`--password-file ${file}: ${(err as Error).message}`, EXIT.usage);
  }
}

/**
 * Proves the named person is at the keyboard (password, and an approval code for holders of
 * passkeys), refuses disabled accounts and accounts without one of `roles`, and returns the actor
 * with the OS user for the audit event. Any refusal exits with code 2 before anything is written.
 */
export async function proveOfficer(service: Service, login: string, opts: PersonOptions, command: string, roles: readonly Role[]): Promise<{ account: Account; actor: string; context: { via: 'cli'; osUser: string } }> {
  const file = opts.adminPasswordFile ?? opts.passwordFile;
  const password = file ? readPasswordFile(file) : await promptPassword(login);
  const osUser = cliActor();
  const proof = await service.officerProof.prove({ login, password, approvalCode: opts.approvalCode, osUser, command });
  if (!proof.ok) throw new CliFailure(proof.detail, EXIT.usage);
  if (!proof.account.roles.some((r) => roles.includes(r))) throw new CliFailure(`${login} does not hold the role ${roles.join(' or ')}`, EXIT.usage);
  return { account: proof.account, actor: proof.actor, context: { via: 'cli', osUser } };
}
