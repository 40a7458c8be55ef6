import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { DataDirLockedError, acquireDataDirLock } from '../../../src/storage/data-dir-lock.js';

const lockPath = () => join(mkdtempSync(join(tmpdir(), 'tinnhiem-lock-')), 'db.lock');

describe('embedded database lock', () => {
  it('is exclusive within a process and released cleanly', () => {
    const path = lockPath();
    const lock = acquireDataDirLock(path, 'serve');
    expect(() => acquireDataDirLock(path, 'migrate')).toThrow(DataDirLockedError);
    lock.release();
    expect(existsSync(path)).toBe(false);
    acquireDataDirLock(path, 'migrate').release();
  });

  it('refuses while another live process holds it, naming that process', () => {
    const path = lockPath();
    // pid 1 is always alive.
    writeFileSync(path, JSON.stringify({ pid: 1, hostname: hostname(), purpose: 'serve', since: '2026-11-27T09:00:00.000Z' }));
    expect(() => acquireDataDirLock(path, 'audit verify')).toThrow(/in use by `tinnhiem serve` \(pid 1 on .*\)[\s\S]*DATABASE_URL/);
  });

  it('takes over the stale lock of a process that died (SIGKILL, power loss)', () => {
    const path = lockPath();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(path, JSON.stringify({ pid: Number(dead), hostname: hostname(), purpose: 'serve', since: '2026-11-27T09:00:00.000Z' }));
    const lock = acquireDataDirLock(path, 'serve');
    lock.release();
  });
});
