/**
 * Child process of the bus-hop benchmark: the VAD service's receive path (Bus.subscribeAudio
 * into an ActorHost, one actor per device) recording publish-to-actor latency. Runs in its
 * own process so producer and consumer do not share an event loop, as in production.
 */
import { ActorHost, Bus, createLogger, nowUs, type Actor } from '@voicebus/runtime/internal';
import type { AudioChunk } from '@voicebus/protocol';
import { latencyHistogram } from './stats.ts';

const url = process.argv[2]!;
const log = createLogger({ service: 'bench-receiver', instanceId: 'r', level: 'warn' });
const bus = await Bus.connect({ servers: url, name: 'bench-receiver', log });
let hist = latencyHistogram();
let received = 0;
const host = new ActorHost<AudioChunk>((): Actor<AudioChunk> => ({
  handle(chunk) {
    hist.recordValue(Math.max(1, nowUs() - chunk.sentAtUs!));
    received++;
  },
}), log, { idleMs: 0 });
bus.subscribeAudio('audio.in', (chunk, meta) => host.deliver(meta.deviceId, { message: chunk, droppable: true }));
await bus.flush();
process.on('message', (msg: { cmd: string }) => {
  if (msg.cmd === 'reset') {
    hist = latencyHistogram();
    received = 0;
    process.send!({ ok: true });
  } else if (msg.cmd === 'report') {
    process.send!({
      received,
      p50: hist.getValueAtPercentile(50),
      p99: hist.getValueAtPercentile(99),
      p999: hist.getValueAtPercentile(99.9),
      max: hist.maxValue,
      dropped: host.totalDropped,
    });
  } else if (msg.cmd === 'exit') {
    void bus.drain().then(() => process.exit(0));
  }
});
process.send!({ ready: true });
