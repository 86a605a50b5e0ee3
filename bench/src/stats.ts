import hdr from 'hdr-histogram-js';

/** A latency histogram in microseconds (HDR: constant memory, exact percentiles to 3 digits). */
export function latencyHistogram() {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** Median of repeated runs with the spread, as every figure in BENCHMARKS.md is reported. */
export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, runs: values };
}

export function fmtSpread(s: Spread, digits = 2): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/**
 * The fewest samples for which percentile `p` is more than the largest few values: at least 5
 * samples lie above it. Below that (n=4 turns and a "p99"), a percentile is the maximum and is
 * not printed as a percentile.
 */
export function minSamplesFor(p: number): number {
  return Math.ceil(5 / (1 - p / 100) - 1e-9);
}

/** Percentile `p` of values given as an HDR histogram of `n` samples, or undefined when n is too small for it. */
export function percentileIfMeaningful(hist: { getValueAtPercentile(p: number): number }, p: number, n: number): number | undefined {
  return n >= minSamplesFor(p) ? hist.getValueAtPercentile(p) : undefined;
}

/**
 * Percentile `p` over `sent` samples of which only `received` arrived: a lost sample counts as
 * infinitely late, so a loss above 1 - p makes the percentile infinite instead of silently
 * leaving the losses out.
 */
export function percentileWithLosses(hist: { getValueAtPercentile(p: number): number }, p: number, received: number, sent: number): number {
  if (sent === 0) return NaN;
  const rank = Math.ceil((p / 100) * sent);
  if (rank > received) return Infinity;
  return hist.getValueAtPercentile(Math.min(100, (rank / received) * 100));
}

/** A number for a table: '–' when not meaningful, '∞' when lost samples decide it. */
export function fmtValue(v: number | undefined, digits = 1): string {
  if (v === undefined || Number.isNaN(v)) return '–';
  if (v === Infinity) return '∞';
  return v.toFixed(digits);
}
