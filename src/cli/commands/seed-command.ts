import type { Command } from 'commander';
import { seedRegistry } from '../../dev/seed-registry.js';
import { DEV_POLICY_ARC } from '../../../ca/profiles/profile.js';
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
      const config = await configFrom(command);
      // The demo people's RSA keys are published (src/dev/demo-rsa-keys.ts) and the whole registry
      // is invented: such certificates must never come from an operator's CA. An installation that
      // declares its own policy arc is one (`ca init` requires it outside --dev; docs/ca.md,
      // "Policy OIDs"), so the demo runs only under the development arc, before anything is opened.
      const arc = config.ca.policyArc;
      if (arc !== undefined && arc !== DEV_POLICY_ARC && !arc.startsWith(`${DEV_POLICY_ARC}.`)) {
        throw new CliFailure(`seed: refused: CA_POLICY_ARC is ${arc}, an operator's CA; the demo registry (invented people, published keys) is for a development CA only (CA_POLICY_ARC unset)`, EXIT.usage);
      }
      const bar = opts.json ? undefined : progressBar('seeding');
      const result = await withService(config, 'seed', (s) => seedRegistry(s, count, { seed: Number(opts.seed), onProgress: bar }));
      printJsonOr(!!opts.json, result, () =>
        `seeded ${result.issued + result.importedExpired} certificates in ${result.seconds.toFixed(1)} s: ${result.issued} issued (${result.revoked} revoked, ${result.held} on hold), ${result.importedExpired} expired imported from a previous CA`,
      );
    });
}
