import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';

/**
 * From the sources (docs/cli.md, "Compiled or from the sources"), tsx keeps its transforms in
 * TMPDIR/tsx-<uid>. A directory there that another local user made, or may write to, would let
 * them choose the code we run: then nothing is cached (and so nothing of theirs is read).
 */
const bin = fileURLToPath(new URL('../../../bin/tinnhiem.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'tinnhiem-tsx-cache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const helpFromSources = (dir: string) => spawnSync(process.execPath, [bin, '--help'], { env: { ...process.env, TMPDIR: dir, TINNHIEM_FROM_SOURCES: '1' }, encoding: 'utf8' });
const cacheOf = (dir: string) => join(dir, `tsx-${process.geteuid!()}`);

describe('the tsx cache when running from the sources', () => {
  it('is not used in a directory others may write to', () => {
    const dir = join(scratch, 'shared');
    mkdirSync(cacheOf(dir), { recursive: true });
    chmodSync(cacheOf(dir), 0o777);
    const run = helpFromSources(dir);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: tinnhiem');
    expect(readdirSync(cacheOf(dir))).toEqual([]);
  }, 60_000);

  it('is used in our own directory', () => {
    const dir = join(scratch, 'own');
    mkdirSync(dir);
    expect(helpFromSources(dir).status).toBe(0);
    expect(readdirSync(cacheOf(dir)).length).toBeGreaterThan(0);
  }, 60_000);
});
