/**
 * The root key's passphrase for a ceremony (docs/ca.md, "The root key"): from `--root-passphrase-file`,
 * else a development installation's `DATA_DIR/dev-root-passphrase`, else asked on the terminal
 * (not echoed). Never from the environment or the configuration, which the service reads too.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { devRootPassphrase } from '../secrets/installation.js';
import { CliFailure, EXIT } from './cli-support.js';

export interface RootOptions {
  rootPassphraseFile?: string;
  rootKeyDir?: string;
}

/** Adds --root-passphrase-file and --root-key-dir to a ceremony command. */
export function rootKeyOptions(command: Command): Command {
  return command
    .option('--root-passphrase-file <file>', 'the root key\'s passphrase (else asked on the terminal); never MASTER_PASSPHRASE')
    .option('--root-key-dir <dir>', 'where root: keys are (default DATA_DIR/root-keys; e.g. removable media)');
}

function ask(prompt: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(prompt, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}

export async function rootPassphrase(config: Config, opts: RootOptions): Promise<{ passphrase?: string; keyDir?: string }> {
  let passphrase: string | undefined;
  if (opts.rootPassphraseFile) {
    try {
      passphrase = readFileSync(opts.rootPassphraseFile, 'utf8').trim();
    } catch (error) {
      throw new CliFailure(`cannot read --root-passphrase-file ${opts.rootPassphraseFile}: ${(error as Error).message}`, EXIT.usage);
    }
  } else {
    passphrase = devRootPassphrase(config, false);
    if (passphrase === undefined && process.stdin.isTTY) passphrase = (await ask('root key passphrase: ')).trim();
  }
  if (passphrase !== undefined && passphrase.length < 12) throw new CliFailure('the root passphrase must have at least 12 characters', EXIT.usage);
  return { passphrase, keyDir: opts.rootKeyDir };
}
