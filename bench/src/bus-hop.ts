import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { startNatsServer } from '@voicebus/nats-launcher';
import { ActorHost, Bus, createLogger, nowUs } from '@voicebus/runtime/internal';
import type { AudioChunk } from '@voicebus/protocol';
import { latencyHistogram, spread, type Spread } from './stats.ts';

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
}

const CHUNK_MS = 20;
const pcm = new Int16Array(320).map((_, i) => Math.round(Math.sin(i / 5) * 3000));

/**
 * Paces `devices` streams of 20 ms chunks in real time for `seconds` and calls `send` for
 * each. Deadlines are absolute (start + n * 20 ms), so pacing does not drift. Devices are
 * spread over the 20 ms period as independent microphones would be.
 */
async function paced(devices: number, seconds: number, send: (deviceId: string, seq: number) => void): Promise<number> {
  const ticks = Math.round((seconds * 1000) / CHUNK_MS);
  const start = performance.now();
  let sent = 0;
  const slots = Array.from({ length: devices }, (_, d) => ({ id: `bench${d}`, offset: (d * CHUNK_MS) / devices }));
  const events = slots.flatMap((s) => Array.from({ length: ticks }, (_, n) => ({ at: start + n * CHUNK_MS + s.offset, id: s.id, n })));
  events.sort((a, b) => a.at - b.at);
  for (const e of events) {
    const wait = e.at - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
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
  await once(child, 'message');
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
      for (let r = 0; r < repeats; r++) {
        await ask(child, 'reset');
        chunksPerRun = await paced(devices, seconds, (id, seq) => producer.publishAudio(id, 'audio.in', chunk(seq)));
        await producer.flush();
        // The last chunks may still be in flight; ask again until all arrived.
        const sent = { sent: chunksPerRun };
        let report = await ask<{ received: number; p50: number; p99: number; p999: number; dropped: number }>(child, 'report', sent);
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

        // Baseline: the same pacing and actor host, with a direct call instead of NATS.
        const hist = latencyHistogram();
        const host = new ActorHost<AudioChunk>(() => ({ handle: (c) => void hist.recordValue(Math.max(1, nowUs() - c.sentAtUs!)) }), log, { idleMs: 0 });
        await paced(devices, seconds, (id, seq) => host.deliver(id, { message: { ...chunk(seq), sentAtUs: nowUs() }, droppable: true }));
        await host.whenIdle();
        local.p50.push(hist.getValueAtPercentile(50));
        local.p99.push(hist.getValueAtPercentile(99));
        ratio.push(report.p99 / Math.max(1, hist.getValueAtPercentile(99)));
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
      });
    }
  } finally {
    const exited = once(child, 'exit');
    child.send({ cmd: 'exit' });
    await exited;
    await producer.drain();
    await server.stop();
  }
  return results;
}
