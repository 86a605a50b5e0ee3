import { fork, type ChildProcess } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { once } from 'node:events';
import { join } from 'node:path';
import { startNatsServer } from '@voicebus/nats-launcher';
import { ActorHost, Bus, createLogger, nowUs } from '@voicebus/runtime/internal';
import type { AudioChunk } from '@voicebus/protocol';
import { RAW_FRAME_BYTES } from './bus-hop-wire.ts';
import { fmtSpread, latencyHistogram, spread, type Spread } from './stats.ts';

export interface BusHopResult {
  devices: number;
  natsP50Us: Spread;
  natsP99Us: Spread;
  natsP999Us: Spread;
  inProcessP50Us: Spread;
  inProcessP99Us: Spread;
  /** NATS p99 / in-process p99, measured in the same run. */
  p99Ratio: Spread;
  chunksPerRun: number;
  /** Chunks sent that never reached the actor (counted as infinitely late in the NATS percentiles), per run. */
  lost: number[];
  /** Chunks dropped by the receiver's mailboxes (part of `lost`), per run. */
  dropped: number[];
  /** p99 from publish to the receiver's subscription callback, before its actor host (µs). */
  toCallbackP99Us: Spread;
  /** How late the receiver's and the producer's event loops ran a 1 ms timer, p99 (µs). */
  receiverLoopDelayP99Us: Spread;
  producerLoopDelayP99Us: Spread;
  /** The same chunks over a bare TCP socket between the same two processes, p99 (µs): the floor that crossing processes sets on this machine. */
  rawSocketP99Us: Spread;
  /** Publishes later than their device's due time by more than 1 ms, p99 of lateness (µs): the bench's own pacing. */
  publishLateP99Us: Spread;
}

const CHUNK_MS = 20;
const pcm = new Int16Array(320).map((_, i) => Math.round(Math.sin(i / 5) * 3000));

/**
 * Paces `devices` streams of 20 ms chunks in real time for `seconds` and calls `send` for
 * each. Deadlines are absolute (start + n * 20 ms), so pacing does not drift. Devices are
 * spread over the 20 ms period as independent microphones would be.
 */
async function paced(devices: number, seconds: number, send: (deviceId: string, seq: number) => void, late = latencyHistogram()): Promise<number> {
  const ticks = Math.round((seconds * 1000) / CHUNK_MS);
  const start = performance.now();
  let sent = 0;
  const slots = Array.from({ length: devices }, (_, d) => ({ id: `bench${d}`, offset: (d * CHUNK_MS) / devices }));
  const events = slots.flatMap((s) => Array.from({ length: ticks }, (_, n) => ({ at: start + n * CHUNK_MS + s.offset, id: s.id, n })));
  events.sort((a, b) => a.at - b.at);
  for (const e of events) {
    const wait = e.at - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    late.recordValue(Math.max(1, Math.round((performance.now() - e.at) * 1000)));
    send(e.id, e.n);
    sent++;
  }
  return sent;
}

function chunk(seq: number): AudioChunk {
  return { seq, captureTsUs: nowUs(), sampleRate: 16000, channels: 1, pcm };
}

async function ask<T>(child: ChildProcess, cmd: string, extra: Record<string, unknown> = {}): Promise<T> {
  const reply = once(child, 'message') as Promise<[T]>;
  child.send({ cmd, ...extra });
  return (await reply)[0];
}

export async function benchBusHop(levels: number[], seconds: number, repeats: number): Promise<BusHopResult[]> {
  const server = await startNatsServer({ useEnvUrl: false });
  const log = createLogger({ service: 'bench', instanceId: 'b', level: 'warn' });
  const child = fork(join(import.meta.dirname, 'bus-hop-receiver.ts'), [server.url], { stdio: 'inherit' });
  const [{ rawPort }] = (await once(child, 'message')) as [{ rawPort: number }];
  const rawSock = netConnect(rawPort, '127.0.0.1');
  rawSock.setNoDelay(true);
  await once(rawSock, 'connect');
  const rawFrame = Buffer.alloc(RAW_FRAME_BYTES);
  Buffer.from(pcm.buffer).copy(rawFrame, 8);
  const producer = await Bus.connect({ servers: server.url, name: 'bench-producer', log });
  const results: BusHopResult[] = [];
  try {
    for (const devices of levels) {
      const nats = { p50: [] as number[], p99: [] as number[], p999: [] as number[] };
      const local = { p50: [] as number[], p99: [] as number[] };
      const ratio: number[] = [];
      let chunksPerRun = 0;
      const lost: number[] = [];
      const dropped: number[] = [];
      const diag = { raw: [] as number[], toCallback: [] as number[], rxLoop: [] as number[], txLoop: [] as number[], late: [] as number[] };
      for (let r = 0; r < repeats; r++) {
        await ask(child, 'reset');
        const late = latencyHistogram();
        const txLoop = monitorEventLoopDelay({ resolution: 1 });
        txLoop.enable();
        chunksPerRun = await paced(devices, seconds, (id, seq) => producer.publishAudio(id, 'audio.in', chunk(seq)), late);
        txLoop.disable();
        diag.txLoop.push(txLoop.percentile(99) / 1000);
        diag.late.push(late.getValueAtPercentile(99));
        await producer.flush();
        // The last chunks may still be in flight; ask again until all arrived.
        const sent = { sent: chunksPerRun };
        let report = await ask<{ received: number; p50: number; p99: number; p999: number; dropped: number; toCallbackP99: number; loopDelayP99: number }>(child, 'report', sent);
        for (let i = 0; i < 50 && report.received < chunksPerRun; i++) {
          await new Promise((res) => setTimeout(res, 20));
          report = await ask(child, 'report', sent);
        }
        // After a second more, whatever has not arrived is lost, and counts.
        lost.push(chunksPerRun - report.received);
        dropped.push(report.dropped);
        nats.p50.push(report.p50);
        nats.p99.push(report.p99);
        nats.p999.push(report.p999);
        diag.toCallback.push(report.toCallbackP99);
        diag.rxLoop.push(report.loopDelayP99);

        // Baseline: the same pacing and actor host, with a direct call instead of NATS.
        const hist = latencyHistogram();
        const host = new ActorHost<AudioChunk>(() => ({ handle: (c) => void hist.recordValue(Math.max(1, nowUs() - c.sentAtUs!)) }), log, { idleMs: 0 });
        await paced(devices, seconds, (id, seq) => host.deliver(id, { message: { ...chunk(seq), sentAtUs: nowUs() }, droppable: true }));
        await host.whenIdle();
        local.p50.push(hist.getValueAtPercentile(50));
        local.p99.push(hist.getValueAtPercentile(99));
        ratio.push(report.p99 / Math.max(1, hist.getValueAtPercentile(99)));

        // Floor: a bare socket between the same processes, one write per chunk, same pacing.
        const rawSent = await paced(devices, seconds, () => {
          rawFrame.writeDoubleLE(nowUs(), 0);
          rawSock.write(Buffer.from(rawFrame));
        });
        let rawReport = await ask<{ rawReceived: number; rawP99: number }>(child, 'report', { sent: rawSent });
        for (let i = 0; i < 50 && rawReport.rawReceived < rawSent; i++) {
          await new Promise((res) => setTimeout(res, 20));
          rawReport = await ask(child, 'report', { sent: rawSent });
        }
        diag.raw.push(rawReport.rawP99);
      }
      results.push({
        devices,
        natsP50Us: spread(nats.p50),
        natsP99Us: spread(nats.p99),
        natsP999Us: spread(nats.p999),
        inProcessP50Us: spread(local.p50),
        inProcessP99Us: spread(local.p99),
        p99Ratio: spread(ratio),
        chunksPerRun,
        lost,
        dropped,
        rawSocketP99Us: spread(diag.raw),
        toCallbackP99Us: spread(diag.toCallback),
        receiverLoopDelayP99Us: spread(diag.rxLoop),
        producerLoopDelayP99Us: spread(diag.txLoop),
        publishLateP99Us: spread(diag.late),
      });
      const last = results.at(-1)!;
      console.log(`  bus hop ${devices}: nats p99 ${fmtSpread(last.natsP99Us, 0)} µs, bare socket p99 ${fmtSpread(last.rawSocketP99Us, 0)}, to the callback p99 ${fmtSpread(last.toCallbackP99Us, 0)}, receiver loop delay p99 ${fmtSpread(last.receiverLoopDelayP99Us, 0)}, producer loop delay p99 ${fmtSpread(last.producerLoopDelayP99Us, 0)}, publish late p99 ${fmtSpread(last.publishLateP99Us, 0)}`);
    }
  } finally {
    const exited = once(child, 'exit');
    child.send({ cmd: 'exit' });
    await exited;
    rawSock.destroy();
    await producer.drain();
    await server.stop();
  }
  return results;
}
