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
