/**
 * Child process of the bus-hop benchmark: the VAD service's receive path (Bus.subscribeAudio
 * into an ActorHost, one actor per device) recording publish-to-actor latency. Runs in its
 * own process so producer and consumer do not share an event loop, as in production.
 */
import { ActorHost, Bus, createLogger, nowUs, type Actor } from '@voicebus/runtime/internal';
import type { AudioChunk } from '@voicebus/protocol';
import { latencyHistogram, percentileWithLosses } from './stats.ts';

const url = process.argv[2]!;
const log = createLogger({ service: 'bench-receiver', instanceId: 'r', level: 'warn' });
const bus = await Bus.connect({ servers: url, name: 'bench-receiver', log });
let hist = latencyHistogram();
let received = 0;
let droppedBefore = 0;
const host = new ActorHost<AudioChunk>((): Actor<AudioChunk> => ({
  handle(chunk) {
    hist.recordValue(Math.max(1, nowUs() - chunk.sentAtUs!));
    received++;
  },
}), log, { idleMs: 0 });
bus.subscribeAudio('audio.in', (chunk, meta) => host.deliver(meta.deviceId, { message: chunk, droppable: true }));
await bus.flush();
process.on('message', (msg: { cmd: string; sent?: number }) => {
  if (msg.cmd === 'reset') {
    hist = latencyHistogram();
    received = 0;
    droppedBefore = host.totalDropped;
    process.send!({ ok: true });
  } else if (msg.cmd === 'report') {
    // Percentiles over every chunk sent: a chunk that never arrived counts as infinitely late.
    const sent = Math.max(msg.sent ?? received, received);
    process.send!({
      received,
      p50: percentileWithLosses(hist, 50, received, sent),
      p99: percentileWithLosses(hist, 99, received, sent),
      p999: percentileWithLosses(hist, 99.9, received, sent),
      max: hist.maxValue,
      dropped: host.totalDropped - droppedBefore,
    });
  } else if (msg.cmd === 'exit') {
    void bus.drain().then(() => process.exit(0));
  }
});
process.send!({ ready: true });
