import type { Command } from 'commander';
import { cliActor, configFrom, printJsonOr, withService } from '../cli-support.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('initialise an installation: master-key check value, sealed cookie/CSRF keys, token signing keys (idempotent)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const config = configFrom(command);
      const keys = await withService(
        config,
        'init',
        async (service) => {
          await service.signingKeys.ensureInitialised(cliActor());
          return service.signingKeys.list();
        },
        { initialise: true },
      );
      printJsonOr(!!opts.json, { initialised: true, signingKeys: keys }, () =>
        ['installation initialised', ...keys.map((k) => `  ${k.alg.padEnd(6)} ${k.state.padEnd(8)} ${k.kid}`)].join('\n'),
      );
    });
}
