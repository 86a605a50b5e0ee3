import { benchVadCapacity } from './vad-capacity.ts';
for (const [b, lv] of [[true, [350, 400, 450, 500]], [false, [100, 125, 150]]] as const) {
  const r = await benchVadCapacity('silero-v6', b, [...lv], 3, 2);
  console.log(b, r.capacity, r.streamsPerCore.toFixed(0), r.inferredShare, r.points.map((p) => `${p.devices}: p50 ${p.p50Ms.median.toFixed(2)} p99 ${p.p99Ms.median.toFixed(2)} n=${p.n} cpu ${p.cpuShare.median.toFixed(2)} batch ${p.meanBatch.toFixed(1)}`).join('; '));
}
