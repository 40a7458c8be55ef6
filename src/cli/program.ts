import { Command, CommanderError } from 'commander';
import { packageVersion } from '../lifecycle/version.js';
import { reportFailure, EXIT } from './cli-support.js';

type Register = (program: Command) => void;

/**
 * Every top-level command, with the module that defines it, imported only when that command
 * runs: `tinnhiem --help` loads none of them, `tinnhiem cert list` only the cert module (and
 * what its action imports). The descriptions here are the ones `--help` lists; a unit test
 * checks they match the modules' own (test/unit/cli/program.test.ts).
 */
export const COMMANDS: ReadonlyArray<{ name: string; description: string; load: () => Promise<Register> }> = [
  { name: 'serve', description: 'run the service (OIDC provider, CA, OCSP, validation API) until SIGTERM/SIGINT', load: async () => (await import('./commands/serve-command.js')).registerServe },
  { name: 'init', description: 'initialise an installation: master-key check value, sealed cookie/CSRF keys, token signing keys (idempotent); --admins creates the first two administrators', load: async () => (await import('./commands/init-command.js')).registerInit },
  { name: 'migrate', description: 'apply pending database migrations (the server also applies them on start)', load: async () => (await import('./commands/migrate-command.js')).registerMigrate },
  { name: 'audit', description: 'the tamper-evident audit log', load: async () => (await import('./commands/audit-command.js')).registerAudit },
  { name: 'oidc', description: 'the OpenID provider: token signing keys', load: async () => (await import('./commands/oidc-command.js')).registerOidc },
  { name: 'client', description: 'the registry of relying parties (portals, services)', load: async () => (await import('./commands/client-command.js')).registerClient },
  { name: 'user', description: 'accounts of officials (citizens are created by federated login)', load: async () => (await import('./commands/user-command.js')).registerUser },
  { name: 'ca', description: 'the CA hierarchy: root, issuing CAs, OCSP signers', load: async () => (await import('./commands/ca-command.js')).registerCa },
  { name: 'cert', description: 'certificate requests, issuance, revocation and the registry', load: async () => (await import('./commands/cert-command.js')).registerCert },
  { name: 'crl', description: 'certificate revocation lists', load: async () => (await import('./commands/cert-command.js')).registerCrl },
  { name: 'seed', description: 'fill the registry with a realistic demo: officials across agencies, seals, TLS servers, some revoked, held and expired (development)', load: async () => (await import('./commands/seed-command.js')).registerSeed },
  { name: 'trust', description: 'trust anchors and intermediate CAs of the signature validator', load: async () => (await import('./commands/trust-command.js')).registerTrust },
  { name: 'document', description: 'documents registered for QR verification at /verify/{id}', load: async () => (await import('./commands/document-command.js')).registerDocument },
  { name: 'config', description: 'inspect the configuration', load: async () => (await import('./commands/config-command.js')).registerConfig },
];

/** The command a command line names (`tinnhiem -c f.json cert list`, `tinnhiem help cert` → cert), if any. */
export function commandNamed(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '-c' || arg === '--config') {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    if (arg === 'help') return args[i + 1];
    return arg;
  }
  return undefined;
}

/**
 * The program for one command line: the named command fully defined, the others as entries of
 * the help list. `all` defines every command (the unit test of the descriptions).
 */
export async function buildProgram(args: readonly string[] | 'all'): Promise<Command> {
  const program = new Command('tinnhiem')
    .description('tinnhiem: OpenID provider, certificate authority, OCSP and signature validation for e-government')
    .version(packageVersion())
    .option('-c, --config <file>', 'JSON configuration file (environment variables override it; default $TINNHIEM_CONFIG)')
    .showHelpAfterError()
    .exitOverride();
  const named = args === 'all' ? undefined : commandNamed(args);
  for (const entry of COMMANDS) {
    if (args === 'all' || entry.name === named) (await entry.load())(program);
    else program.command(entry.name).description(entry.description);
  }
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = await buildProgram(argv.slice(2));
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
