import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Config } from '../../config/schema.js';
import { verifyChain } from '../../audit/audit-chain.js';
import { auditPublicKey } from '../../audit/checkpoint.js';
import { readCheckpointFile } from '../../audit/checkpoint-sinks.js';
import { verifyWithCheckpoints, type AnchoredVerification, type CheckpointEvidence } from '../../audit/checkpoint-verification.js';
import { systemClock } from '../../lifecycle/clock.js';
import { checkpointFilePath } from '../../service/audit-checkpoints.js';
import { AuditRepository } from '../../storage/audit-repository.js';
import { CliFailure, EXIT, configFrom, printJsonOr, withDatabase } from '../cli-support.js';
import { registerAuditKey } from './audit-key-command.js';

interface VerifyOptions {
  json?: boolean;
  checkpointFile?: string;
  publicKey?: string;
  tsaCert?: string;
  chainOnly?: boolean;
}

async function readOrFail(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CliFailure(`cannot read ${what} ${path}: ${(err as Error).message}`, EXIT.usage);
  }
}

/** The checkpoints and the key to check them with, from the options or the configuration; null: chain only. */
async function checkpointEvidence(config: Config, opts: VerifyOptions): Promise<CheckpointEvidence | null> {
  if (opts.chainOnly) return null;
  if (!opts.checkpointFile && !config.audit.keyUri && !config.audit.checkpointFile) return null;
  const source = opts.checkpointFile ?? checkpointFilePath(config).path;
  const keyFile = opts.publicKey ?? config.audit.publicKeyFile;
  if (!keyFile) throw new CliFailure('checking checkpoints needs the audit public key: --public-key FILE or AUDIT_PUBLIC_KEY_FILE', EXIT.usage);
  let publicKey;
  try {
    publicKey = auditPublicKey(await readOrFail(keyFile, 'the audit public key'));
  } catch (err) {
    if (err instanceof CliFailure) throw err;
    throw new CliFailure(`${keyFile} is not a PEM public key or certificate: ${(err as Error).message}`, EXIT.usage);
  }
  await readOrFail(source, 'the checkpoint file');
  const tsaFile = opts.tsaCert ?? config.audit.tsaCertFile;
  const tsaCerts = tsaFile ? ((await readOrFail(tsaFile, 'the TSA certificate')).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) : [];
  return { source, lines: await readCheckpointFile(source), publicKey, tsaCerts };
}

function describe(result: AnchoredVerification): string {
  if (!result.ok) return `AUDIT CHAIN BROKEN at event #${result.firstBad!.seq} (${result.firstBad!.problem}): ${result.firstBad!.message}`;
  const lines = [`audit chain intact: ${result.checked} events${result.head ? `, head #${result.head.seq} ${result.head.hash}` : ''}`];
  const c = result.checkpoints;
  if (!c) lines.push('not checked against checkpoints: a rewrite with recomputed hashes or a cut tail would not show (docs/audit.md)');
  else if (!c.lastAnchored) lines.push(`no checkpoint in ${c.source} covers the log yet: none of its ${result.checked} events is anchored`);
  else {
    const stamped = c.lastAnchored.timeStampedAt ? `, time-stamped ${c.lastAnchored.timeStampedAt}` : '';
    lines.push(`anchored: matches ${c.verified} signed checkpoints in ${c.source} (${c.timeStamped} time-stamped); the last, #${c.lastAnchored.seq} signed ${c.lastAnchored.at}${stamped}`);
    lines.push(c.unanchoredEvents ? `${c.unanchoredEvents} events after #${c.lastAnchored.seq} are not anchored yet (the window until the next checkpoint)` : 'every event is anchored');
  }
  return lines.join('\n');
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');

  audit
    .command('verify')
    .description('recompute the hash chain and compare it with the signed checkpoints kept outside the database; name the first event that was edited, deleted, reordered or cut (exit 1)')
    .option('--checkpoint-file <file>', 'checkpoints to compare with (default: AUDIT_CHECKPOINT_FILE, or a copy the auditor kept)')
    .option('--public-key <file>', 'the audit public key (PEM key or certificate; default AUDIT_PUBLIC_KEY_FILE)')
    .option('--tsa-cert <file>', 'require checkpoint time-stamps to be signed by this TSA (or issued by this CA; default AUDIT_TSA_CERT_FILE)')
    .option('--chain-only', 'check the chain alone, without checkpoints')
    .option('--json', 'machine-readable output')
    .action(async (opts: VerifyOptions, command: Command) => {
      const config = await configFrom(command);
      const evidence = await checkpointEvidence(config, opts);
      const result: AnchoredVerification = await withDatabase(config, 'audit verify', async (db) => {
        const events = new AuditRepository(db.knex, systemClock).all();
        return evidence ? verifyWithCheckpoints(events, evidence) : { ...(await verifyChain(events)), checkpoints: null };
      });
      printJsonOr(!!opts.json, result, () => describe(result));
      if (!result.ok) throw new CliFailure(`audit log does not verify at event #${result.firstBad!.seq} (${result.firstBad!.problem})`);
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
      const config = await configFrom(command);
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

  registerAuditKey(audit);
}
