import type { Command } from 'commander';
import { configTable, redactConfig } from '../../config/load-config.js';
import { configFrom, printJsonOr } from '../cli-support.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('show')
    .description('validate the configuration and print it with secrets redacted')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }, command: Command) => {
      const redacted = redactConfig(configFrom(command));
      printJsonOr(!!opts.json, redacted, () => JSON.stringify(redacted, null, 2));
    });
  config
    .command('variables')
    .description('the environment variables as a markdown table (defaults and meaning)')
    .action(() => {
      process.stdout.write(`${configTable()}\n`);
    });
}
