/**
 * Child process of the bus-hop benchmark: the VAD service's receive path (Bus.subscribeAudio
 * into an ActorHost, one actor per device) recording publish-to-actor latency. Runs in its
 * own process so producer and consumer do not share an event loop, as in production.
 */
import { createServer } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ActorHost, Bus, createLogger, nowUs, type Actor } from '@voicebus/runtime/internal';
import type { AudioChunk } from '@voicebus/protocol';
import { RAW_FRAME_BYTES } from './bus-hop-wire.ts';
import { latencyHistogram, percentileWithLosses } from './stats.ts';

const url = process.argv[2]!;
const log = createLogger({ service: 'bench-receiver', instanceId: 'r', level: 'warn' });
const bus = await Bus.connect({ servers: url, name: 'bench-receiver', log });
let hist = latencyHistogram();
// Where a late chunk lost its time: before the subscription callback (client socket, server,
// producer) or between the callback and the actor (this host's mailboxes).
let toCallback = latencyHistogram();
let loop = monitorEventLoopDelay({ resolution: 1 });
let received = 0;
let droppedBefore = 0;
const host = new ActorHost<AudioChunk>((): Actor<AudioChunk> => ({
  handle(chunk) {
    hist.recordValue(Math.max(1, nowUs() - chunk.sentAtUs!));
    received++;
  },
}), log, { idleMs: 0 });
bus.subscribeAudio('audio.in', (chunk, meta) => {
  toCallback.recordValue(Math.max(1, nowUs() - chunk.sentAtUs!));
  host.deliver(meta.deviceId, { message: chunk, droppable: true });
});
await bus.flush();
// Baseline: the same chunks over a bare TCP socket between the same two processes (no NATS
// server, no client library, no actor host): what crossing processes costs on this machine.
let raw = latencyHistogram();
let rawReceived = 0;
const rawServer = createServer((sock) => {
  sock.setNoDelay(true);
  let pending: Buffer = Buffer.alloc(0);
  sock.on('data', (data: Buffer) => {
    const now = nowUs();
    pending = pending.length ? Buffer.concat([pending, data]) : data;
    let at = 0;
    for (; at + RAW_FRAME_BYTES <= pending.length; at += RAW_FRAME_BYTES) {
      raw.recordValue(Math.max(1, now - pending.readDoubleLE(at)));
      rawReceived++;
    }
    pending = pending.subarray(at);
  });
});
await new Promise<void>((resolve) => rawServer.listen(0, '127.0.0.1', resolve));
const rawPort = (rawServer.address() as { port: number }).port;
process.on('message', (msg: { cmd: string; sent?: number }) => {
  if (msg.cmd === 'reset') {
    hist = latencyHistogram();
    toCallback = latencyHistogram();
    loop.disable();
    loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    received = 0;
    raw = latencyHistogram();
    rawReceived = 0;
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
      toCallbackP99: toCallback.getValueAtPercentile(99),
      loopDelayP99: loop.percentile(99) / 1000,
      rawReceived,
      rawP99: percentileWithLosses(raw, 99, rawReceived, Math.max(msg.sent ?? rawReceived, rawReceived)),
      dropped: host.totalDropped - droppedBefore,
    });
  } else if (msg.cmd === 'exit') {
    rawServer.close();
    void bus.drain().then(() => process.exit(0));
  }
});
process.send!({ ready: true, rawPort });
