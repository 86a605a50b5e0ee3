import { describe, expect, it } from 'vitest';
import { searchCapacity, type SearchOptions } from './capacity-search.ts';

const OPTIONS: SearchOptions = { minDevices: 10, maxDevices: 2000, refineSteps: 3, grain: 10 };

/** A system that carries `limit` devices: what the search measures, and in what order. */
async function search(limit: number, levels: number[], options = OPTIONS) {
  const measured: number[] = [];
  const r = await searchCapacity(levels, async (d) => {
    measured.push(d);
    return { p99: d <= limit ? 5 : 20 };
  }, (p) => p.p99 < 10, options);
  return { ...r, measured };
}

describe('capacity search', () => {
  it('steps down when the first level fails, instead of reporting 0', async () => {
    const r = await search(130, [200, 300, 400]);
    expect(r.measured.slice(0, 2)).toEqual([200, 100]);
    expect(r.capacity).toBeGreaterThanOrEqual(120);
    expect(r.capacity).toBeLessThanOrEqual(130);
  });

  it('goes up through the levels and bisects the gap to the first failure', async () => {
    const r = await search(460, [200, 300, 400, 500, 600]);
    expect(r.measured.slice(0, 4)).toEqual([200, 300, 400, 500]);
    expect(r.capacity).toBeGreaterThanOrEqual(440);
    expect(r.capacity).toBeLessThanOrEqual(460);
    expect(r.points.map((p) => p.devices)).toEqual([...r.points.map((p) => p.devices)].sort((a, b) => a - b));
  });

  it('steps on past the last level when every level passes', async () => {
    const r = await search(1000, [300, 500]);
    expect(r.measured.slice(0, 4)).toEqual([300, 500, 700, 900]);
    expect(r.capacity).toBeGreaterThanOrEqual(980);
    expect(r.capacity).toBeLessThanOrEqual(1000);
  });

  it('reports 0 only when even the fewest devices fail', async () => {
    const r = await search(5, [100]);
    expect(r.capacity).toBe(0);
    expect(r.measured.at(-1)).toBe(10);
  });
});
