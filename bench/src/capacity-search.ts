export interface SearchOptions {
  /** The fewest devices tried when stepping down (below it the capacity is reported as 0). */
  minDevices: number;
  /** The most devices tried when stepping up past the given levels. */
  maxDevices: number;
  /** Bisection steps between the highest passing and the lowest failing level. */
  refineSteps: number;
  /** Levels are rounded to this many devices (and bisection stops when the gap is this small). */
  grain: number;
}

export interface SearchResult<P> {
  /** The most devices that passed (0 when even minDevices failed). */
  capacity: number;
  /** Every level measured, by device count. */
  points: { devices: number; point: P }[];
}

/**
 * Finds the most devices that pass: up through `levels` while they pass (and on past the last
 * by its step, to maxDevices), down by halving while the first one fails, then bisects the gap
 * between the highest pass and the lowest fail. A first level that fails is a starting guess
 * that was too high, not a capacity of 0.
 */
export async function searchCapacity<P>(levels: number[], measure: (devices: number) => Promise<P>, passes: (p: P) => boolean, options: SearchOptions): Promise<SearchResult<P>> {
  const { minDevices, maxDevices, refineSteps, grain } = options;
  const tried = new Map<number, P>();
  const ok = async (devices: number): Promise<boolean> => {
    let p = tried.get(devices);
    if (p === undefined) {
      p = await measure(devices);
      tried.set(devices, p);
    }
    return passes(p);
  };
  let best = 0;
  let fail = Infinity;
  const sorted = [...new Set(levels)].sort((a, b) => a - b);
  for (const d of sorted) {
    if (await ok(d)) best = d;
    else {
      fail = d;
      break;
    }
  }
  if (best === 0) {
    // The first level failed: halve until one passes.
    for (let d = sorted[0]!; d > minDevices && best === 0; ) {
      d = Math.max(minDevices, round(d / 2, grain));
      if (await ok(d)) best = d;
      else fail = d;
    }
  } else if (fail === Infinity) {
    // Every level passed: keep stepping up by the last step.
    const step = Math.max(grain, sorted.length > 1 ? sorted.at(-1)! - sorted.at(-2)! : sorted[0]!);
    for (let d = best + step; d <= maxDevices; d += step) {
      if (await ok(d)) best = d;
      else {
        fail = d;
        break;
      }
    }
  }
  for (let i = 0; i < refineSteps && best > 0 && fail < Infinity && fail - best > grain; i++) {
    const mid = round((best + fail) / 2, grain);
    if (mid <= best || mid >= fail) break;
    if (await ok(mid)) best = mid;
    else fail = mid;
  }
  return { capacity: best, points: [...tried].sort((a, b) => a[0] - b[0]).map(([devices, point]) => ({ devices, point })) };
}

function round(x: number, grain: number): number {
  return Math.max(grain, Math.round(x / grain) * grain);
}
