import type { Command } from 'commander';
import { configFrom, printJsonOr } from '../cli-support.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('show')
    .description('validate the configuration and print it with secrets redacted')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const { redactConfig } = await import('../../config/load-config.js');
      const redacted = redactConfig(await configFrom(command));
      printJsonOr(!!opts.json, redacted, () => JSON.stringify(redacted, null, 2));
    });
  config
    .command('variables')
    .description('the environment variables as a markdown table (defaults and meaning)')
    .action(async () => {
      const { configTable } = await import('../../config/load-config.js');
      process.stdout.write(`${configTable()}\n`);
    });
}
