import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { headers } from '@nats-io/nats-core';
import { encodeAudioChunk, makeEvent, STREAMS, type AudioChunk } from '@voicebus/protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ActorHost, type Actor } from './actor-host.ts';
import { Bus } from './bus.ts';
import { LocalRouter } from './local-connection.ts';
import { expectCalls, memoryLogger } from './testing.ts';

let server: NatsServer;
let producer: Bus;
let consumer: Bus;
const { log, lines } = memoryLogger();

beforeAll(async () => {
  server = await startNatsServer();
  producer = await Bus.connect({ servers: server.url, name: 'producer', log });
  consumer = await Bus.connect({ servers: server.url, name: 'consumer', log });
});
afterAll(async () => {
  await producer?.drain();
  await consumer?.drain();
  await server?.stop();
});

function chunk(seq: number): AudioChunk {
  return { seq, captureTsUs: 1_000_000 + seq * 20_000, sampleRate: 16000, channels: 1, pcm: new Int16Array(320).fill(seq % 1000) };
}

describe('ActorHost on a real nats-server', () => {
  it('keeps per-device order under interleaved devices, one actor per device', async () => {
    const devices = ['ord-a', 'ord-b', 'ord-c'];
    const perDevice = 200;
    const created: string[] = [];
    const seen = new Map<string, number[]>();
    const all = expectCalls<string>(devices.length * perDevice);
    const host = new ActorHost<AudioChunk>(({ deviceId }) => {
      created.push(deviceId);
      const mine: number[] = [];
      seen.set(deviceId, mine);
      return {
        async handle(c) {
          // Yield between messages so interleaving across devices really happens.
          if (c.seq % 7 === 0) await new Promise((r) => setImmediate(r));
          mine.push(c.seq);
          all.push(deviceId);
        },
      };
    }, log);
    const sub = consumer.subscribeAudio('audio.in', (c, meta) => host.deliver(meta.deviceId, { message: c, droppable: true }));
    await consumer.flush();
    for (let i = 0; i < perDevice; i++) for (const d of devices) producer.publishAudio(d, 'audio.in', chunk(i));
    await producer.flush();
    await all.done;
    sub.unsubscribe();
    expect(created.sort()).toEqual(devices);
    for (const d of devices) expect(seen.get(d)).toEqual(Array.from({ length: perDevice }, (_, i) => i));
    await host.close();
  });

  it('restarts a throwing actor with fresh state while other devices keep flowing', async () => {
    const generations = new Map<string, number>();
    const handledBy: { deviceId: string; seq: number; gen: number; count: number }[] = [];
    const done = expectCalls<void>(2 * 20 - 1); // the poisoned message is not handled
    const host = new ActorHost<AudioChunk>(({ deviceId, restarts }) => {
      generations.set(deviceId, restarts);
      let count = 0; // state that must reset on restart
      const actor: Actor<AudioChunk> = {
        handle(c) {
          if (deviceId === 'crashy' && c.seq === 10) throw new Error('boom at 10');
          count++;
          handledBy.push({ deviceId, seq: c.seq, gen: restarts, count });
          done.push();
        },
      };
      return actor;
    }, log);
    const sub = consumer.subscribeAudio('audio.in', (c, meta) => host.deliver(meta.deviceId, { message: c, droppable: true }));
    await consumer.flush();
    for (let i = 0; i < 20; i++) {
      producer.publishAudio('crashy', 'audio.in', chunk(i));
      producer.publishAudio('steady', 'audio.in', chunk(i));
    }
    await producer.flush();
    await done.done;
    sub.unsubscribe();
    const crashy = handledBy.filter((h) => h.deviceId === 'crashy');
    const steady = handledBy.filter((h) => h.deviceId === 'steady');
    expect(steady.map((h) => h.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(steady.every((h) => h.gen === 0)).toBe(true);
    expect(crashy.map((h) => h.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const afterCrash = crashy.find((h) => h.seq === 11)!;
    expect(afterCrash.gen).toBe(1);
    expect(afterCrash.count).toBe(1); // fresh state
    const crashLine = lines().find((l) => l.msg === 'actor crashed; restarting it with fresh state');
    expect(crashLine?.deviceId).toBe('crashy');
    expect(host.stats().find((s) => s.deviceId === 'crashy')?.restarts).toBe(1);
    await host.close();
  });

  it('drops and counts the oldest audio when a mailbox overflows, never control', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handled: string[] = [];
    type M = { kind: 'audio'; seq: number } | { kind: 'flush' };
    const firstSeen = expectCalls<void>(1);
    const host = new ActorHost<M>(() => ({
      async handle(m) {
        if (m.kind === 'audio' && m.seq === 0) {
          firstSeen.push();
          await gate; // a stalled actor: everything else queues
        }
        handled.push(m.kind === 'audio' ? `a${m.seq}` : 'flush');
      },
    }), log, { mailboxCapacity: 5 });
    host.deliver('slow', { message: { kind: 'audio', seq: 0 }, droppable: true });
    await firstSeen.done;
    for (let i = 1; i <= 10; i++) host.deliver('slow', { message: { kind: 'audio', seq: i }, droppable: true });
    host.deliver('slow', { message: { kind: 'flush' }, droppable: false });
    expect(host.stats()[0]!.dropped).toBe(6);
    expect(host.totalDropped).toBe(6);
    release();
    await host.whenIdle();
    expect(handled).toEqual(['a0', 'a7', 'a8', 'a9', 'a10', 'flush']);
    expect(lines().some((l) => l.msg === 'mailbox full: dropping oldest audio' && l.deviceId === 'slow')).toBe(true);
    await host.close();
  });

  it('passivates idle actors and recreates them on the next message', async () => {
    const stops: string[] = [];
    let creations = 0;
    const stopped = expectCalls<void>(1);
    const host = new ActorHost<number>(() => {
      creations++;
      return { handle() {}, stop: (reason) => { stops.push(reason); stopped.push(); } };
    }, log, { idleMs: 50, onPassivated: (id) => passivated.push(id) });
    const passivated = expectCalls<string>(1);
    host.deliver('idle-dev', { message: 1, droppable: true });
    await stopped.done;
    expect(stops).toEqual(['idle']);
    // Told once the actor stopped, so its lease can go.
    expect(await passivated.done).toEqual(['idle-dev']);
    expect(host.has('idle-dev')).toBe(false);
    host.deliver('idle-dev', { message: 2, droppable: true });
    await host.whenIdle();
    expect(creations).toBe(2);
    await host.close();
  });

  it('does not passivate an actor that keeps getting messages, however long it runs', async () => {
    const stops: string[] = [];
    // On a clock the test moves: exactly the times said, however loaded the machine.
    vi.useFakeTimers();
    try {
      const host = new ActorHost<number>(() => ({ handle() {}, stop: (reason) => void stops.push(reason) }), log, { idleMs: 60 });
      // A message every 20 ms for 300 ms: five idle times long, never 60 ms quiet.
      for (let i = 0; i < 15; i++) {
        host.deliver('busy-dev', { message: i, droppable: true });
        await vi.advanceTimersByTimeAsync(20);
      }
      expect(stops).toEqual([]);
      expect(host.has('busy-dev')).toBe(true);
      // Then quiet: not yet at 59 ms, passivated by 61.
      await vi.advanceTimersByTimeAsync(39);
      expect(stops).toEqual([]);
      await vi.advanceTimersByTimeAsync(2);
      expect(stops).toEqual(['idle']);
      await host.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts invalid audio and events instead of delivering them', async () => {
    const delivered: unknown[] = [];
    const rejectedBefore = consumer.rejectedTotal();
    const got = expectCalls<void>(1);
    const sub = consumer.subscribeEvents(STREAMS.turn, (e) => {
      delivered.push(e);
      got.push();
    }, { deviceId: 'junk' });
    const audioSub = consumer.subscribeAudio('audio.in', (c) => delivered.push(c), { deviceId: 'junk' });
    await consumer.flush();
    producer.nc.publish('voice.v1.junk.turn', new TextEncoder().encode('{"type":"turn.end"}'));
    producer.nc.publish('voice.v1.junk.turn', new Uint8Array([1, 2, 3]));
    const h = headers();
    for (const [k, v] of Object.entries(encodeAudioChunk(chunk(1)).headers)) h.set(k, v);
    producer.nc.publish('voice.v1.junk.audio.in', new Uint8Array(641), { headers: h });
    // a valid event for another device sent on this device's subject
    const foreign = makeEvent('turn.start', { deviceId: 'other', turnId: 't1', speechStartUs: 1, decidedAt: 1 });
    producer.nc.publish('voice.v1.junk.turn', new TextEncoder().encode(JSON.stringify(foreign)));
    // and one valid event last, so we know everything before it was processed
    producer.publishEvent(makeEvent('turn.start', { deviceId: 'junk', turnId: 't2', speechStartUs: 1, decidedAt: 1 }));
    await producer.flush();
    await got.done;
    await consumer.flush();
    expect(delivered).toHaveLength(1);
    expect(consumer.rejectedTotal() - rejectedBefore).toBe(4);
    expect(consumer.rejected.get('audio:odd-length')).toBe(1);
    expect(consumer.rejected.get('event:turn:turn.end')).toBe(1);
    expect(consumer.rejected.get('event:turn:device-mismatch')).toBe(1);
    sub.unsubscribe();
    audioSub.unsubscribe();
  });

  it('an event read back from a history passes the checks a live one does: its stream, its device, its shape', () => {
    const consumer = new Bus(new LocalRouter().connect(), { log: memoryLogger().log });
    const taken: string[] = [];
    const stored = (subject: string, event: unknown) => ({ subject, data: new TextEncoder().encode(JSON.stringify(event)), headers: undefined });
    const start = makeEvent('turn.start', { deviceId: 'd1', turnId: 't1', speechStartUs: 1, decidedAt: 1 });
    consumer.receiveStoredEvent('turn', stored('voice.v1.d1.turn', start), (e) => taken.push(e.type));
    consumer.receiveStoredEvent('session', stored('voice.v1.d1.turn', start), (e) => taken.push(e.type));
    consumer.receiveStoredEvent('turn', stored('voice.v1.d2.turn', start), (e) => taken.push(e.type));
    consumer.receiveStoredEvent('turn', stored('voice.v1.d1.turn', { ...start, speechStartUs: 'soon' }), (e) => taken.push(e.type));
    consumer.receiveStoredEvent('turn', stored('not.a.subject', start), (e) => taken.push(e.type));
    expect(taken).toEqual(['turn.start']);
    expect(Object.fromEntries(consumer.rejected)).toEqual({ 'event:session:other-stream': 1, 'event:turn:device-mismatch': 1, 'event:turn:turn.start': 1, subject: 1 });
  });
});
