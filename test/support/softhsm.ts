import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARE_ENV, Worker } from 'node:worker_threads';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  dir: string;
  /** The private SOFTHSM2_CONF of this token's store. */
  conf: string;
  label: string;
  pin: string;
  soPin: string;
  /** The service's environment for this token (CA_KEY_STORE=pkcs11 plus module, token, PIN, conf). */
  env: Record<string, string>;
  /** `pkcs11-tool` with the module and token already named. */
  pkcs11Tool(args: string[]): string;
  /** Deletes the token (as if the HSM were unplugged); the module still loads. */
  remove(): void;
}

/**
 * A SoftHSM2 token of its own for one test: a temporary token directory, a private SOFTHSM2_CONF
 * (set in this process too, for code that loads the module here), a token made by
 * `softhsm2-util --init-token --free`.
 */
/**
 * Sets a variable in the real environment of this process, where the SoftHSM2 library's getenv
 * reads it: jest gives each test file a copy of process.env, but a worker thread started with
 * SHARE_ENV writes the process's own.
 */
export async function setProcessEnv(name: string, value: string): Promise<void> {
  const worker = new Worker(`process.env[${JSON.stringify(name)}] = ${JSON.stringify(value)};`, { eval: true, env: SHARE_ENV });
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', () => resolve());
  });
  process.env[name] = value;
}

export async function createSoftHsmToken(label = 'tinnhiem-test'): Promise<SoftHsmToken> {
  const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const pin = '4711-test-pin';
  const soPin = '0815-test-so-pin';
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], { env, stdio: 'ignore' });
  await setProcessEnv('SOFTHSM2_CONF', conf);
  return {
    dir,
    conf,
    label,
    pin,
    soPin,
    env: { SOFTHSM2_CONF: conf, CA_KEY_STORE: 'pkcs11', PKCS11_MODULE: SOFTHSM_MODULE, PKCS11_TOKEN: label, PKCS11_PIN: pin },
    pkcs11Tool: (args) => execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', label, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    remove: () => {
      for (const entry of readdirSync(join(dir, 'tokens'))) rmSync(join(dir, 'tokens', entry), { recursive: true, force: true });
    },
  };
}
