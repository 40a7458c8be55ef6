import type { Command } from 'commander';
import { verifyChain } from '../../audit/audit-chain.js';
import { systemClock } from '../../lifecycle/clock.js';
import { AuditRepository } from '../../storage/audit-repository.js';
import { CliFailure, configFrom, printJsonOr, withDatabase } from '../cli-support.js';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');

  audit
    .command('verify')
    .description('recompute the hash chain; name the first event that was edited, deleted or reordered (exit 1)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const config = configFrom(command);
      const result = await withDatabase(config, 'audit verify', (db) => verifyChain(new AuditRepository(db.knex, systemClock).all()));
      printJsonOr(!!opts.json, result, () =>
        result.ok
          ? `audit chain intact: ${result.checked} events${result.head ? `, head #${result.head.seq} ${result.head.hash}` : ''}`
          : `AUDIT CHAIN BROKEN at event #${result.firstBad!.seq}: ${result.firstBad!.message}`,
      );
      if (!result.ok) throw new CliFailure(`audit chain broken at event #${result.firstBad!.seq}`);
    });

  audit
    .command('list')
    .description('show recent audit events, newest first')
    .option('--action <action>', 'only this action (e.g. certificate.revoke)')
    .option('--actor <actor>', 'only this actor')
    .option('--target <target>', 'only this target')
    .option('--limit <n>', 'how many (max 500)', '50')
    .option('--json', 'machine-readable output')
    .action(async (opts: { action?: string; actor?: string; target?: string; limit: string; json?: boolean }, command: Command) => {
      const config = configFrom(command);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new CliFailure('--limit: expected an integer from 1 to 500', 2);
      const events = await withDatabase(config, 'audit list', (db) =>
        new AuditRepository(db.knex, systemClock).list({ action: opts.action, actor: opts.actor, target: opts.target, limit }),
      );
      const rows = events.map((e) => ({ ...e, prevHash: e.prevHash.toString('hex'), hash: e.hash.toString('hex') }));
      printJsonOr(!!opts.json, rows, () =>
        rows.map((e) => `#${e.seq} ${e.occurredAt.toISOString()} ${e.actor} ${e.action}${e.target ? ` ${e.target}` : ''}`).join('\n') || 'no events',
      );
    });
}
