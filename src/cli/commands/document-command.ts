import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliFailure, EXIT, cliActor, configFrom, printJsonOr, withService } from '../cli-support.js';

/** `tinnhiem document`: documents registered for QR verification (docs/verify.md). */
export function registerDocument(program: Command): void {
  const document = program.command('document').description('documents registered for QR verification at /verify/{id}');

  document
    .command('register <file>')
    .description('register an issued document: its SHA-256, title, issuer and date are kept (never the file); audited')
    .requiredOption('--title <text>', 'the document\'s title, e.g. "Quyết định số 123/QĐ-UBND"')
    .requiredOption('--issuer <text>', 'the issuing agency')
    .option('--date <yyyy-mm-dd>', 'the document\'s own date')
    .option('--qr <file.svg>', 'write the QR code (SVG) to this file')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: { title: string; issuer: string; date?: string; qr?: string; json?: boolean }, command: Command) => {
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (err) {
        throw new CliFailure(`${file}: ${(err as Error).message}`, EXIT.usage);
      }
      if (opts.date && !/^\d{4}-\d{2}-\d{2}$/.test(opts.date)) throw new CliFailure('--date: YYYY-MM-DD', EXIT.usage);
      const title = opts.title.trim();
      const issuer = opts.issuer.trim();
      if (!title || !issuer) throw new CliFailure('--title and --issuer must not be empty', EXIT.usage);
      const result = await withService(await configFrom(command), 'document register', (s) => s.documents.register(cliActor(), { document: new Uint8Array(bytes), title, issuer, documentDate: opts.date ?? null }));
      if (opts.qr) writeFileSync(opts.qr, result.qrSvg);
      const out = { id: result.document.id, url: result.url, sha256: result.document.sha256, title, issuer, date: result.document.documentDate, qr: opts.qr ?? null };
      printJsonOr(!!opts.json, out, () => `registered ${out.id}\n${out.url}${opts.qr ? `\nQR code: ${opts.qr}` : ''}`);
    });
}
