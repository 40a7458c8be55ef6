import type { Command } from 'commander';
import { databaseTarget, openDatabase } from '../../storage/db.js';
import { cliLogger, configFrom, printJsonOr } from '../cli-support.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (the server also applies them on start)')
    .option('--status', 'only list applied and pending migrations')
    .option('--json', 'machine-readable output')
    .action(async (opts: { status?: boolean; json?: boolean }, command: Command) => {
      const config = await configFrom(command);
      const target = databaseTarget(config);
      // A migration over a large registry (an index on a million rows) may outlast the query bound
      // meant for requests; the operator runs this one deliberately.
      if (target.kind === 'postgres') target.queryTimeoutMs = 0;
      const db = await openDatabase(target, { purpose: 'migrate', log: await cliLogger(config) });
      try {
        if (opts.status) {
          const status = await db.migrationStatus();
          printJsonOr(!!opts.json, status, () =>
            [...status.applied.map((m) => `applied  ${m}`), ...status.pending.map((m) => `pending  ${m}`)].join('\n') || 'no migrations',
          );
          return;
        }
        const applied = await db.migrateLatest();
        printJsonOr(!!opts.json, { applied }, () => (applied.length ? applied.map((m) => `applied  ${m}`).join('\n') : 'the database is up to date'));
      } finally {
        await db.close();
      }
    });
}
