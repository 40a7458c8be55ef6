import type { Command } from 'commander';
import { cliActor, configFrom, printJsonOr, withService } from '../cli-support.js';

export function registerOidc(program: Command): void {
  const oidc = program.command('oidc').description('the OpenID provider: token signing keys');

  oidc
    .command('keys')
    .description('list the published token signing keys (active, next, retired)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const keys = await withService(await configFrom(command), 'oidc keys', (s) => s.signingKeys.list());
      printJsonOr(!!opts.json, keys, () =>
        keys.map((k) => `${k.alg.padEnd(6)} ${k.state.padEnd(8)} ${k.kid}${k.removeAfter ? `  published until ${k.removeAfter.toISOString()}` : ''}`).join('\n'),
      );
    });

  oidc
    .command('rotate-keys')
    .description('sign with the published `next` keys from now on, retire the current ones (kept until their tokens expire), publish new `next` keys')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const result = await withService(await configFrom(command), 'oidc rotate-keys', (s) => s.signingKeys.rotate(cliActor()));
      printJsonOr(!!opts.json, result, () =>
        [`activated ${result.activated.join(', ')}`, `retired   ${result.retired.join(', ')}`, `new next  ${result.created.join(', ')}`, 'running nodes pick the change up within OIDC_KEY_POLL_SECONDS'].join('\n'),
      );
    });
}
