import { Option, type Command } from 'commander';
import { createLogger } from '../../logging/logger.js';
import { serve, serviceUrls, stopOnSignals } from '../../service/serve.js';
import { resolveMasterPassphrase } from '../../secrets/installation.js';
import { DEV_PASSWORD, developmentDemo, seedDevelopmentData } from '../../dev/dev-seed.js';
import { startDevDvcqg } from '../../dev/dvcqg-dev.js';
import { CliFailure, cliState, configFrom, EXIT } from '../cli-support.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the service (OIDC provider, CA, OCSP, validation API) until SIGTERM/SIGINT')
    .option('--dev', 'development start: generate a master passphrase, initialise, create demo clients and accounts, print them')
    .addOption(new Option('--role <role>', 'all: every service; ocsp: only the OCSP responder and health routes (a responder fleet)').choices(['all', 'ocsp']).default('all'))
    .action(async (opts: { dev?: boolean; role: 'all' | 'ocsp' }, command: Command) => {
      const config = await configFrom(command);
      const log = createLogger({ level: config.log.level });
      const dev = !!opts.dev;
      if (dev && opts.role !== 'all') throw new CliFailure('--dev starts every service; drop --role', EXIT.usage);
      const { passphrase, generatedAt } = resolveMasterPassphrase(config, dev ? 'dev' : 'required');
      if (generatedAt) log.warn({ file: generatedAt }, 'development start: generated a master passphrase; set MASTER_PASSPHRASE in production');
      // Development: the DVCQG simulator on its own port, as the "log in with DVCQG" upstream.
      const started = dev && !config.federation.upstreamsFile ? await startDevDvcqg(config) : null;
      if (started && 'unavailable' in started) log.warn({ reason: started.unavailable }, 'DVCQG simulator not started: no "log in with DVCQG" in this instance');
      const devDvcqg = started && 'simulator' in started ? started : null;
      const running = await serve(config, { log, purpose: 'serve', masterPassphrase: passphrase, initialise: dev, devCa: dev, role: opts.role, upstreams: devDvcqg?.upstreams, development: dev ? developmentDemo() : undefined });
      stopOnSignals(running, log);
      cliState.keepRunning = true;
      const urls = serviceUrls(config, running.listenUrl);
      const seeded = dev ? await seedDevelopmentData(running.service) : null;
      if (seeded) {
        const lines = [
          '',
          '  tinnhiem is running (development start)',
          '',
          ...Object.entries(urls).map(([name, url]) => `    ${name.padEnd(10)} ${url}`),
          `    database   ${running.service.db.description}`,
          '',
          '  Demo clients (development only):',
          ...seeded.clients.map((c) => `    ${c.clientId.padEnd(22)} secret ${c.secret}`),
          '  Demo officials (development only), password ' + DEV_PASSWORD + ':',
          ...seeded.officials.map((o) => `    ${o.username}  (enrolment code for a first passkey: ${o.enrolmentCode})`),
          '',
          ...(devDvcqg ? [`  DVCQG simulator (development only): ${devDvcqg.simulator.url}, "log in with DVCQG" on the login page`] : []),
          '  Stop with Ctrl-C. Configuration: README.md, .env.example.',
          '',
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      // Last: supervisors and tests take this line as "ready".
      log.info({ urls, database: running.service.db.description }, 'tinnhiem ready');
    });
}
