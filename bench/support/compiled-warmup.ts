/**
 * A warm-up that ends when V8's optimising compiler is done with the code it runs. V8's code space
 * grows by what it compiles (`getHeapCodeStatistics().code_and_metadata_size`), so the warm-up
 * ends after `quietRounds` rounds in a row that each add less than `quietBytes` of code, after at
 * least `minRounds` rounds and at most `maxRounds`. A round whose code shrank (a collection
 * flushed code) is not quiet: what was flushed is compiled again.
 */
import { getHeapCodeStatistics } from 'node:v8';

export interface CompiledWarmup {
  rounds: number;
  /** False when the code still grew at `maxRounds`. */
  compiled: boolean;
  minRounds: number;
  quietRounds: number;
  quietCodeBytes: number;
}

/** Optimised code and its metadata in V8's heap, in bytes. */
export const compiledCode = (): number => getHeapCodeStatistics().code_and_metadata_size;

export async function warmUntilCompiled(round: () => Promise<void>, { minRounds = 10, maxRounds = 100, quietRounds = 3, quietBytes = 8 * 1024 } = {}): Promise<CompiledWarmup> {
  const limit = Math.max(minRounds, maxRounds);
  let rounds = 0;
  let quiet = 0;
  while (rounds < minRounds || (quiet < quietRounds && rounds < limit)) {
    const before = compiledCode();
    await round();
    rounds++;
    const added = compiledCode() - before;
    quiet = added >= 0 && added < quietBytes ? quiet + 1 : 0;
  }
  return { rounds, compiled: quiet >= quietRounds, minRounds, quietRounds, quietCodeBytes: quietBytes };
}
