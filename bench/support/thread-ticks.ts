/**
 * A pass's CPU by thread: the main thread's, and V8's other threads' (its optimising compiler and
 * the collector's helpers), from the clock ticks (user + system) of /proc/self/task/<tid>/stat.
 * Linux only (elsewhere: empty readings, a split of zeros); 10 ms granularity.
 */
import { readdirSync, readFileSync } from 'node:fs';

export function threadTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return ticks;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(tid, Number(f[11]) + Number(f[12]));
    } catch {
      // a thread that ended since the listing
    }
  }
  return ticks;
}

/** Milliseconds of CPU since `before`: the main thread's, and the other threads' together. */
export function threadSplit(before: Map<string, number>): { main: number; others: number } {
  const split = { main: 0, others: 0 };
  for (const [tid, t] of threadTicks()) split[tid === String(process.pid) ? 'main' : 'others'] += (t - (before.get(tid) ?? 0)) * 10;
  return split;
}
