/// <reference lib="dom" />
/** Wall-clock epoch ms with sub-millisecond resolution (the stack's `...At` fields). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function nowUs(): number {
  return Math.round(nowMs() * 1000);
}
