import { createHash } from 'node:crypto';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { deviceSubject, encodeAudioChunk, encodeEvent, HEADERS, isEventStream, makeEvent, STREAMS, streamOfEvent, VoiceEvent, type Stream, type VoiceEvent as VoiceEventType } from '@voicebus/protocol';
import { Bus, connectNats, DeviceOwnership } from '@voicebus/runtime/internal';
import { memoryLogger } from '@voicebus/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_KINDS, HostileMessages, type HostileKind, type HostileMessage } from './hostile-messages.ts';

const DEVICE = 'dev1';
const ALL_STREAMS = Object.values(STREAMS) as Stream[];
const KNOWN = new Set(VoiceEvent.options.map((o) => o.shape.type.value as string));

let server: NatsServer;
let nc: NatsConnection;
let leases: DeviceOwnership;
let lease: string;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connectNats({ servers: server.url, name: 'fuzz-test' });
  // A real lease for the device, so a token of 0 is older than the current one.
  leases = await DeviceOwnership.start(nc, { service: 'session', instanceId: 'i1', bucket: 'fuzz_test_owners' }, memoryLogger().log);
  expect(await leases.acquire(DEVICE)).toBe(true);
  lease = `session:${leases.tokenOf(DEVICE)}`;
});
afterAll(async () => {
  await leases?.releaseAll();
  await nc?.drain();
  await server?.stop();
});

/** One real message per stream, as a service publishes it (the lease header on what a leaseholder sends). */
function realMessages(): { stream: Stream; body: Uint8Array; headers: Record<string, string>; type?: string }[] {
  const events: VoiceEventType[] = [
    makeEvent('device.ended', { ts: 1, deviceId: DEVICE, reason: 'end-of-stream', lastSeq: 10, lastCaptureTsUs: 1 }),
    makeEvent('speech.onset', { ts: 1, deviceId: DEVICE, atUs: 1, decidedAt: 1 }),
    makeEvent('turn.start', { ts: 1, deviceId: DEVICE, turnId: 't1', speechStartUs: 1, decidedAt: 1 }),
    makeEvent('session.closed', { ts: 1, deviceId: DEVICE, reason: 'bye' }),
    makeEvent('playback.paused', { ts: 1, deviceId: DEVICE }),
    makeEvent('control.pause', { ts: 1, deviceId: DEVICE, turnId: 't1' }),
  ];
  const chunk = (stream: Stream, sampleRate: 16000 | 24000) => {
    const { body, headers } = encodeAudioChunk({ seq: 7, captureTsUs: 1_000_000, sampleRate, channels: 1, pcm: new Int16Array(sampleRate / 50).fill(300) });
    return { stream, body, headers: stream === STREAMS.audioOut ? { ...headers, [HEADERS.lease]: lease } : headers };
  };
  return [
    ...events.map((e) => {
      const stream = streamOfEvent(e.type);
      const headers: Record<string, string> = stream === STREAMS.capture ? {} : { [HEADERS.lease]: lease };
      return { stream, body: encodeEvent(e), headers, type: e.type };
    }),
    chunk(STREAMS.audioIn, 16000),
    chunk(STREAMS.audioOut, 24000),
  ];
}

/** A consumer the way every service is one: a Bus on every stream of the device, fenced by the leases. */
function consumer() {
  const bus = new Bus(nc, { log: memoryLogger().log, fencing: leases });
  const delivered = new Map<Stream, number>();
  const count = (s: Stream) => () => delivered.set(s, (delivered.get(s) ?? 0) + 1);
  const subs = ALL_STREAMS.map((s) => (isEventStream(s) ? bus.subscribeEvents(s, count(s), { deviceId: DEVICE }) : bus.subscribeAudio(s as 'audio.in' | 'audio.out', count(s), { deviceId: DEVICE })));
  return { bus, delivered, close: () => subs.forEach((s) => s.unsubscribe()) };
}

function publish(messages: { stream: Stream; body: Uint8Array; headers: Record<string, string> }[]): void {
  for (const m of messages) {
    const h = natsHeaders();
    for (const [k, v] of Object.entries(m.headers)) h.set(k, v);
    nc.publish(deviceSubject(DEVICE, m.stream), m.body, Object.keys(m.headers).length > 0 ? { headers: h } : {});
  }
}

describe('HostileMessages, through a real Bus on a real nats-server', () => {
  it('every kind that must be refused is refused at the boundary on every stream it is made for; the real messages it starts from are taken', async () => {
    const hostile = new HostileMessages(DEVICE, 7, KNOWN);
    const real = realMessages();
    for (const r of real) hostile.observe(r, r.type);
    const made: HostileMessage[] = [];
    for (const stream of ALL_STREAMS) {
      for (const kind of hostile.kindsFor(stream)) {
        // Several of each: the mutations rotate through their variants.
        for (let i = 0; i < 12; i++) made.push(...hostile.make(kind, stream));
      }
    }
    const kindsMade = new Set(made.map((m) => m.kind));
    expect([...kindsMade].sort()).toEqual((Object.keys(HOSTILE_KINDS) as HostileKind[]).sort());
    const mustReject = made.filter((m) => HOSTILE_KINDS[m.kind].mustReject);
    const valid = made.filter((m) => !HOSTILE_KINDS[m.kind].mustReject);

    const c = consumer();
    publish(mustReject);
    publish(real); // a barrier too: every real message is taken after the hostile ones
    await nc.flush();
    await expect.poll(() => [...c.delivered.values()].reduce((a, b) => a + b, 0), { timeout: 10_000 }).toBe(real.length);
    expect(c.bus.rejectedTotal()).toBe(mustReject.length);
    expect(Object.fromEntries(c.delivered)).toEqual(Object.fromEntries(real.map((r) => [r.stream, 1])));
    // The valid ones with hostile values pass the boundary: the services must cope with them.
    publish(valid);
    await nc.flush();
    await expect.poll(() => c.delivered.get(STREAMS.audioIn), { timeout: 10_000 }).toBe(1 + valid.length);
    c.close();
  });

  it('draws the same messages from the same seed', () => {
    const draw = (seed: number) => {
      const h = new HostileMessages(DEVICE, seed, KNOWN);
      for (const r of realMessages()) h.observe(r, r.type);
      return ALL_STREAMS.flatMap((s) => h.kindsFor(s).flatMap((k) => h.make(k, s).map((m) => createHash('sha1').update(m.body).digest('hex'))));
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
  });
});
