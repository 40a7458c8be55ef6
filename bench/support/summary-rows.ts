/**
 * One row of the benchmark table in the README: every benchmark's JSON report carries a `summary`
 * array of these, and `bench/run.ts` renders every part's rows in one table (docs/performance.md,
 * "Reports").
 */
export interface SummaryRow {
  measure: string;
  result: string;
  reference: string;
  ratio: string;
  /** The bound for this ratio ("≥ 0.8×"), or "" when the row only informs. */
  aim: string;
  /** Whether the ratio meets the aim; null when there is no aim or no figure. */
  met: boolean | null;
}

/** A ratio to two decimals (three below 0.1), or "n/a" for a missing or infinite figure. */
export function ratioText(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  return `${x.toFixed(Math.abs(x) < 0.1 ? 3 : 2)}×`;
}

/** Whether `x` meets `at least` / `at most` `bound` (null without a figure). */
export function meets(x: number | null | undefined, bound: number, direction: 'atLeast' | 'atMost'): boolean | null {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  return direction === 'atLeast' ? x >= bound : x <= bound;
}

/** A number with thousands separators and at most `digits` decimals. */
export function num(x: number, digits = 0): string {
  return Number.isFinite(x) ? x.toLocaleString('en', { maximumFractionDigits: digits }) : 'n/a';
}
