import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * PGlite has no inter-process locking: a second process opening the same directory silently
 * writes a diverging copy and corrupts it (seen: "Aborted()" on the next open). This is the
 * exclusive lock that makes the embedded database belong to one process at a time.
 *
 * The lock is a file created with O_EXCL holding the owner's pid, host and purpose. A lock whose
 * owner is gone (SIGKILL, power loss) is stale and is taken over atomically by rename, so a
 * restart after a crash never needs manual cleanup.
 */
export interface LockHolder {
  pid: number;
  hostname: string;
  purpose: string;
  since: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly path: string,
    readonly holder: LockHolder | null,
  ) {
    const who = holder ? `\`tinnhiem ${holder.purpose}\` (pid ${holder.pid} on ${holder.hostname}, since ${holder.since})` : 'another process';
    super(
      `The embedded database ${path} is in use by ${who}.\n` +
        'The embedded database (PGlite) belongs to one process at a time, and a second one would corrupt it.\n' +
        'Stop that process first, or use PostgreSQL (DATABASE_URL) to run several processes on one database.',
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): LockHolder | null {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return typeof parsed.pid === 'number' ? parsed : null;
  } catch {
    return null;
  }
}

function isStale(holder: LockHolder | null, path: string): boolean {
  if (!holder) {
    // Unreadable: either being written this instant, or left half-written by a crash.
    // Only the second kind is old; give a writer a moment.
    try {
      // The file system's clock, compared with the wall clock: a fake service clock has no say here.
      // eslint-disable-next-line no-restricted-syntax
      return Date.now() - statSync(path).mtimeMs > 5_000;
    } catch {
      return true;
    }
  }
  if (holder.hostname !== hostname()) return false; // cannot check another host's processes
  // Our own pid in the file means a previous incarnation (e.g. pid 1 in a restarted container).
  return holder.pid === process.pid || !isAlive(holder.pid);
}

/** Locks this process holds, so a second open in the same process is refused too. */
const heldHere = new Set<string>();

export function acquireDataDirLock(path: string, purpose: string): DataDirLock {
  if (heldHere.has(path)) throw new DataDirLockedError(path.replace(/\.lock$/, ''), readHolder(path));
  mkdirSync(dirname(path), { recursive: true });
  // Shown to a refused second process: the host's wall clock (the lock is taken before any service exists).
  // eslint-disable-next-line no-restricted-syntax
  const me: LockHolder = { pid: process.pid, hostname: hostname(), purpose, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, JSON.stringify(me));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        heldHere.delete(path);
        process.off('exit', release);
        const holder = readHolder(path);
        if (holder?.pid === me.pid && holder.since === me.since) rmSync(path, { force: true });
      };
      process.on('exit', release);
      heldHere.add(path);
      return { path, release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(path);
    if (!isStale(holder, path)) throw new DataDirLockedError(path.replace(/\.lock$/, ''), holder);
    // Take the stale lock out of the way atomically: of several racing processes only one
    // rename succeeds; the others see ENOENT and retry the exclusive create.
    const aside = `${path}.stale-${randomBytes(4).toString('hex')}`;
    try {
      renameSync(path, aside);
      rmSync(aside, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new DataDirLockedError(path.replace(/\.lock$/, ''), readHolder(path));
}
