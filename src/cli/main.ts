import { Command, CommanderError } from 'commander';
import { packageVersion } from '../lifecycle/version.js';
import { reportFailure, EXIT, cliState } from './cli-support.js';
import { registerServe } from './commands/serve-command.js';
import { registerMigrate } from './commands/migrate-command.js';
import { registerAudit } from './commands/audit-command.js';
import { registerConfig } from './commands/config-command.js';
import { registerInit } from './commands/init-command.js';
import { registerOidc } from './commands/oidc-command.js';
import { registerClient } from './commands/client-command.js';
import { registerUser } from './commands/user-command.js';
import { registerCa } from './commands/ca-command.js';
import { registerCert, registerCrl } from './commands/cert-command.js';
import { registerSeed } from './commands/seed-command.js';
import { registerTrust } from './commands/trust-command.js';
import { registerDocument } from './commands/document-command.js';

export function buildProgram(): Command {
  const program = new Command('tinnhiem')
    .description('tinnhiem: OpenID provider, certificate authority, OCSP and signature validation for e-government')
    .version(packageVersion())
    .option('-c, --config <file>', 'JSON configuration file (environment variables override it; default $TINNHIEM_CONFIG)')
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerInit(program);
  registerMigrate(program);
  registerAudit(program);
  registerOidc(program);
  registerClient(program);
  registerUser(program);
  registerCa(program);
  registerCert(program);
  registerCrl(program);
  registerSeed(program);
  registerTrust(program);
  registerDocument(program);
  registerConfig(program);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; usage errors are already printed.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    return reportFailure(err);
  }
}

const code = await runCli(process.argv);
// `serve` keeps running until its signal handler exits; every other command ends here, even if
// a library left a handle open.
if (code !== EXIT.ok || !cliState.keepRunning) process.exit(code);
