import type { Command } from 'commander';
import { createLogger } from '../../logging/logger.js';
import { serve, serviceUrls, stopOnSignals } from '../../serve.js';
import { cliState, configFrom } from '../cli-support.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the service (OIDC provider, CA, OCSP, validation API) until SIGTERM/SIGINT')
    .option('--dev', 'development start: print the service URLs and demo credentials')
    .action(async (opts: { dev?: boolean }, command: Command) => {
      const config = configFrom(command);
      const log = createLogger({ level: config.log.level });
      const running = await serve(config, { log, dev: opts.dev, purpose: 'serve' });
      stopOnSignals(running, log);
      cliState.keepRunning = true;
      const urls = serviceUrls(config, running.listenUrl);
      log.info({ urls, database: running.service.db.description }, 'tinnhiem ready');
      if (opts.dev) {
        const lines = [
          '',
          '  tinnhiem is running (development start)',
          '',
          ...Object.entries(urls).map(([name, url]) => `    ${name.padEnd(10)} ${url}`),
          `    database   ${running.service.db.description}`,
          '',
          '  Stop with Ctrl-C. Configuration: README.md, .env.example.',
          '',
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
    });
}
