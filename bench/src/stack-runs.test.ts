import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { scalingPoint, watchDemoProcesses, type StackRun } from './stack-runs.ts';

describe('stack runs: which processes a stack\'s CPU is summed over', () => {
  it('counts the demo\'s nats-server once, as nats, with the pid of its latest start', () => {
    const stdout = new PassThrough();
    const child = Object.assign(new EventEmitter(), { stdout, stderr: new PassThrough(), pid: undefined }) as unknown as ChildProcess;
    const started: string[] = [];
    const pids = watchDemoProcesses(child, (name) => started.push(name));
    stdout.write('[demo] started nats-server (pid 11)\n[demo] started vad (pid 12)\n');
    stdout.write('[demo] started nats-server (pid 13)\n');
    expect(started).toEqual(['nats', 'vad', 'nats']);
    expect([...pids()]).toEqual([['nats', 13], ['vad', 12]]);
  });

  it('sums each process once over the steady window, in-process or not', () => {
    const flat = (name: string, cpuPerS: number) => ({ name, cpuSeconds: 0, peakRssMb: 100, samples: [0, 5, 10, 15].map((t) => ({ t, cpu: t * cpuPerS })) });
    const run: StackRun = { devices: 10, rows: [], wallSeconds: 15, captureStartS: 1, inputSeconds: 12, usage: [flat('nats', 0.1), flat('vad', 0.3), flat('gemini-sim', 0.5)] };
    const p = scalingPoint(run);
    // 10 % + 30 % of a core over 10 devices; the simulator stands in for Google and is not the stack's.
    expect(p.stackCpuPercentPerDevice).toBeCloseTo(4, 6);
    expect(p.services.map((s) => s.name)).toEqual(['nats', 'vad']);
  });
});
