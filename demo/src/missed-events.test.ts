import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { allDevicesSubject, ANSWER_HISTORY_STREAM, DEVICE_REGISTRY_STREAM, makeEvent, STREAMS, TURN_HISTORY_STREAM } from '@voicebus/protocol';
import { Bus, connectNats, StreamHistory, type OutageListener } from '@voicebus/runtime';
import { memoryLogger } from '@voicebus/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationMonitor, type TurnRow } from './conversation-monitor.ts';
import { MissedEvents } from './missed-events.ts';

/** A TCP hop between the monitor and nats-server that the test cuts and mends: only the monitor loses its connection. */
class CuttableProxy {
  private readonly server: Server;
  private readonly open = new Set<Socket>();
  private down = false;
  constructor(upstreamPort: number) {
    this.server = createServer((client) => {
      if (this.down) return void client.destroy();
      const upstream = tcpConnect(upstreamPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.open.add(s);
        s.on('close', () => this.open.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }
  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `nats://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }
  cut(): void {
    this.down = true;
    for (const s of this.open) s.destroy();
  }
  mend(): void {
    this.down = false;
  }
  close(): void {
    this.cut();
    this.server.close();
  }
}

const outage = (bus: Bus, what: keyof OutageListener) =>
  new Promise<void>((resolve) => {
    const off = bus.onOutage({ disconnected: () => what === 'disconnected' && (off(), resolve()), reconnected: () => what === 'reconnected' && (off(), resolve()) });
  });

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('the demo monitor across its own reconnect', () => {
  it('reads back from the services\' histories the turn, its answer and the device\'s end it missed, and counts what it saw live once', async () => {
    const { log } = memoryLogger('services');
    const services = await connectNats({ servers: server.url, name: 'services' });
    // The histories as vad and playback make them (their subjects), for the services' own recovery.
    await StreamHistory.open(services, log, { stream: TURN_HISTORY_STREAM, subjects: [allDevicesSubject(STREAMS.turn)] }, '');
    await StreamHistory.open(services, log, { stream: ANSWER_HISTORY_STREAM, subjects: [allDevicesSubject(STREAMS.audioOut), allDevicesSubject(STREAMS.session), allDevicesSubject(STREAMS.playback)] }, '');
    await StreamHistory.open(services, log, { stream: DEVICE_REGISTRY_STREAM, subjects: [allDevicesSubject(STREAMS.capture)], maxMsgsPerSubject: 1 }, '');
    const publisher = new Bus(services, { log });

    const proxy = new CuttableProxy(server.port);
    const monitorLog = memoryLogger('demo');
    const nc = await connectNats({ servers: await proxy.listen(), name: 'demo-monitor' });
    const bus = new Bus(nc, { log: monitorLog.log });
    const monitor = new ConversationMonitor(bus, ['d1'], { keepUserAudio: false });
    const missed = new MissedEvents(bus, (event) => monitor.take(event), monitorLog.log);
    const rows: TurnRow[] = [];
    monitor.on('row', (_d, row) => rows.push(row));
    await bus.flush();
    try {
      const t0 = Date.now() * 1000;
      publisher.publishEvent(makeEvent('device.announced', { deviceId: 'd1', source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: Date.now(), firstCaptureTsUs: t0 }));
      // A turn answered before the cut, seen live: read back again with the rest, it counts once.
      const first = { turnId: 'd1-t0', speechStartUs: t0 + 10_000, speechEndUs: t0 + 50_000, endOfTurnDelayMs: 700, busMs: 4, modelFirstAudioMs: 300, playbackBufferMs: 20, voiceToVoiceMs: 1000 };
      publisher.publishEvent(makeEvent('turn.end', { deviceId: 'd1', turnId: 'd1-t0', speechStartUs: first.speechStartUs, speechEndUs: first.speechEndUs, decidedAt: Date.now(), endOfTurnDelayMs: 700 }));
      publisher.publishEvent(makeEvent('turn.latency', { deviceId: 'd1', ...first, interrupted: false }));
      publisher.publishEvent(makeEvent('turn.start', { deviceId: 'd1', turnId: 'd1-t1', speechStartUs: t0 + 100_000, decidedAt: Date.now() }));
      await publisher.flush();
      await bus.flush();
      expect(rows.map((r) => r.turnId), 'seen live').toEqual(['d1-t0']);

      const lost = outage(bus, 'disconnected');
      proxy.cut();
      await lost;
      // Everything from here on the monitor cannot hear: the turn ends, is answered, the device ends.
      const latency = { turnId: 'd1-t1', speechStartUs: t0 + 100_000, speechEndUs: t0 + 900_000, endOfTurnDelayMs: 700, busMs: 4, modelFirstAudioMs: 300, playbackBufferMs: 20, voiceToVoiceMs: 1100 };
      publisher.publishEvent(makeEvent('turn.end', { deviceId: 'd1', turnId: 'd1-t1', speechStartUs: latency.speechStartUs, speechEndUs: latency.speechEndUs, decidedAt: Date.now(), endOfTurnDelayMs: 700 }));
      publisher.publishEvent(makeEvent('assistant.audible', { deviceId: 'd1', turnId: 'd1-t1', audible: true, paused: false, at: Date.now() }));
      publisher.publishEvent(makeEvent('assistant.audible', { deviceId: 'd1', turnId: 'd1-t1', audible: false, paused: false, at: Date.now() + 1 }));
      publisher.publishEvent(makeEvent('turn.latency', { deviceId: 'd1', ...latency, interrupted: false }));
      publisher.publishEvent(makeEvent('device.ended', { deviceId: 'd1', reason: 'end-of-stream', lastSeq: 99, lastCaptureTsUs: t0 + 2_000_000 }));
      await publisher.flush();

      const back = outage(bus, 'reconnected');
      proxy.mend();
      await back;
      await missed.settled();
      const d = monitor.devices.get('d1')!;
      expect(rows.map((r) => [r.turnId, r.answered, r.voiceToVoiceMs])).toEqual([['d1-t0', true, 1000], ['d1-t1', true, 1100]]);
      expect(d.ended, 'device.ended, read from the device registry').toBe(true);
      expect(monitor.finished).toBe(true);
      // The first turn's two events again, the second turn's three, its two audible events, the device's last capture event.
      expect(missed.stats.events).toBe(8);
    } finally {
      proxy.close();
      await nc.close();
      await services.close();
    }
  });
});
