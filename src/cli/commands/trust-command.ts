import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { TrustListing } from '../../validation/trust-store.js';
import { CliFailure, EXIT, cliActor, configFrom, printJsonOr, withService } from '../cli-support.js';

const line = (e: TrustListing) => `${e.sha256}  ${(e.timestamping ? 'anchor+tsa' : e.kind).padEnd(12)} ${e.source.padEnd(11)} ${e.notAfter.slice(0, 10)}  ${e.subject}${e.label ? `  [${e.label}]` : ''}`;

/** `tinnhiem trust`: the signature validator's trust anchors and intermediates. */
export function registerTrust(program: Command): void {
  const trust = program.command('trust').description('trust anchors and intermediate CAs of the signature validator');

  trust
    .command('add <file>')
    .description('add CA certificates (PEM bundle or DER) as trust anchors or intermediates; audited')
    .option('--intermediate', 'an intermediate CA (fills chains), not a trust anchor')
    .option('--label <text>', 'a note for operators, e.g. "VGCA G2 root"')
    .option('--timestamping', 'an anchor trusted for time-stamping authorities (a TSA root, or a pinned TSA certificate)')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: { intermediate?: boolean; label?: string; timestamping?: boolean; json?: boolean }, command: Command) => {
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (err) {
        throw new CliFailure(`${file}: ${(err as Error).message}`, EXIT.usage);
      }
      const added = await withService(await configFrom(command), 'trust add', (s) => s.validation.trust.add(cliActor(), bytes, opts.intermediate ? 'intermediate' : 'anchor', opts.label ?? null, !!opts.timestamping));
      printJsonOr(!!opts.json, added, () => added.map((a) => `${a.added ? 'added' : 'already present'}  ${a.sha256}  ${a.subject}`).join('\n'));
    });

  trust
    .command('list')
    .description('every anchor and intermediate: ours, configured (VALIDATION_TRUST_ANCHORS) and added')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const list = await withService(await configFrom(command), 'trust list', (s) => s.validation.trust.list());
      printJsonOr(!!opts.json, list, () => list.map(line).join('\n') || '(empty)');
    });

  trust
    .command('remove <sha256>')
    .description('remove an added entry by the SHA-256 of its certificate; audited')
    .action(async (sha256: string, _opts: unknown, command: Command) => {
      if (!/^[0-9a-fA-F:]{64,95}$/.test(sha256)) throw new CliFailure('give the SHA-256 fingerprint of the certificate (64 hex digits, as `trust list` shows)', EXIT.usage);
      const removed = await withService(await configFrom(command), 'trust remove', (s) => s.validation.trust.remove(cliActor(), sha256));
      if (!removed) throw new CliFailure(`no added trust entry ${sha256} (our own CA and configured anchors are not removed here)`);
      process.stdout.write(`removed ${sha256}\n`);
    });
}
