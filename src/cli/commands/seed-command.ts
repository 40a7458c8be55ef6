import type { Command } from 'commander';
import { seedRegistry } from '../../dev/seed-registry.js';
import { CliFailure, EXIT, configFrom, printJsonOr, withService } from '../cli-support.js';
import { progressBar } from '../progress.js';

export function registerSeed(program: Command): void {
  program
    .command('seed')
    .description('fill the registry with a realistic demo: officials across agencies, seals, TLS servers, some revoked, held and expired (development)')
    .option('--certificates <n>', 'how many certificates', '2339')
    .option('--seed <n>', 'random seed (the same seed gives the same people)', '2339')
    .option('--json', 'machine-readable output')
    .action(async (opts: { certificates: string; seed: string; json?: boolean }, command: Command) => {
      const count = Number(opts.certificates);
      if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new CliFailure('--certificates: 1 to 100000', EXIT.usage);
      const bar = opts.json ? undefined : progressBar('seeding');
      const result = await withService(await configFrom(command), 'seed', (s) => seedRegistry(s, count, { seed: Number(opts.seed), onProgress: bar }));
      printJsonOr(!!opts.json, result, () =>
        `seeded ${result.issued + result.importedExpired} certificates in ${result.seconds.toFixed(1)} s: ${result.issued} issued (${result.revoked} revoked, ${result.held} on hold), ${result.importedExpired} expired imported from a previous CA`,
      );
    });
}
