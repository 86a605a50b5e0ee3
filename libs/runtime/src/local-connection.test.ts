import { NoRespondersError, RequestError, type Msg } from '@nats-io/nats-core';
import { makeEvent } from '@voicebus/protocol';
import { describe, expect, it } from 'vitest';
import { Bus } from './bus.ts';
import { LocalRouter, subjectMatches } from './local-connection.ts';
import { StreamHistory } from './stream-history.ts';
import { memoryLogger } from './testing.ts';

describe('subjectMatches (NATS wildcards)', () => {
  it('matches a token with *, the rest with a trailing >, and nothing of another length', () => {
    expect(subjectMatches('voice.v1.*.audio.in', 'voice.v1.dev1.audio.in')).toBe(true);
    expect(subjectMatches('voice.v1.*.audio.in', 'voice.v1.dev1.audio.out')).toBe(false);
    expect(subjectMatches('voice.v1.*.audio.in', 'voice.v1.dev1.audio.in.x')).toBe(false);
    expect(subjectMatches('voice.v1.>', 'voice.v1.dev1.turn')).toBe(true);
    expect(subjectMatches('voice.v1.>', 'voice.v1')).toBe(false);
    expect(subjectMatches('voice.v1.dev1.turn', 'voice.v1.dev1.turn')).toBe(true);
    expect(subjectMatches('voice.v1.dev1.turn', 'voice.v1.dev2.turn')).toBe(false);
  });
});

describe('LocalRouter and its connections', () => {
  it('delivers after publish returns, in the order published, what handlers publish after what was queued before it', async () => {
    const nc = new LocalRouter().connect();
    const seen: string[] = [];
    nc.subscribe('a.*', { callback: (_e, m) => {
      seen.push(m.subject);
      if (m.subject === 'a.1') nc.publish('a.from-handler');
    } });
    nc.publish('a.1');
    nc.publish('a.2');
    expect(seen).toEqual([]);
    await nc.flush();
    expect(seen).toEqual(['a.1', 'a.2', 'a.from-handler']);
  });

  it('gives a queue group each message once, spread over its members, and every plain subscriber each message', async () => {
    const nc = new LocalRouter().connect();
    const counts = { q1: 0, q2: 0, plain: 0 };
    nc.subscribe('x.>', { queue: 'q', callback: () => void counts.q1++ });
    nc.subscribe('x.>', { queue: 'q', callback: () => void counts.q2++ });
    nc.subscribe('x.>', { callback: () => void counts.plain++ });
    for (let i = 0; i < 200; i++) nc.publish(`x.${i}`);
    await nc.flush();
    expect(counts.plain).toBe(200);
    expect(counts.q1 + counts.q2).toBe(200);
    expect(counts.q1).toBeGreaterThan(0);
    expect(counts.q2).toBeGreaterThan(0);
  });

  it('copies the payload at publish, as a write to a socket does', async () => {
    const nc = new LocalRouter().connect();
    const got: Uint8Array[] = [];
    nc.subscribe('p', { callback: (_e, m) => void got.push(m.data) });
    const body = new Uint8Array([1, 2, 3]);
    nc.publish('p', body);
    body[0] = 9; // the publisher reuses its buffer once publish returned
    await nc.flush();
    expect([...got[0]!]).toEqual([1, 2, 3]);
  });

  it('answers a request from a subscriber, and one nobody listens to at once with no responders', async () => {
    const nc = new LocalRouter().connect();
    nc.subscribe('svc.status', { callback: (_e, m: Msg) => void m.respond(JSON.stringify({ up: true })) });
    expect((await nc.request('svc.status', undefined, { timeout: 1000 })).json()).toEqual({ up: true });
    const err = await nc.request('nobody.home', undefined, { timeout: 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestError);
    expect((err as Error).cause).toBeInstanceOf(NoRespondersError);
  });

  it('has no JetStream: a history is "not there", not a hang or a crash', async () => {
    const { log, lines } = memoryLogger();
    const history = await StreamHistory.open(new LocalRouter().connect(), log, { stream: 'X', subjects: ['x.>'], maxAgeMs: 1000, replicas: 1 }, 'nothing kept');
    expect(history).toBeUndefined();
    expect(lines().some((l) => String(l.err).includes('jetstream is not enabled'))).toBe(true);
  });

  it('carries a Bus\'s encoded audio and events, headers included, and ends its status stream when closed', async () => {
    const router = new LocalRouter();
    const { log } = memoryLogger();
    const fencing = { service: 'vad', tokenOf: () => 7, isStale: () => false };
    const sender = new Bus(router.connect(), { log, fencing });
    const receiver = new Bus(router.connect(), { log });
    const chunks: { seq: number; pcm: number[]; lease: number | undefined }[] = [];
    const events: string[] = [];
    receiver.subscribeAudio('audio.in', (c, meta) => void chunks.push({ seq: c.seq, pcm: [...c.pcm], lease: meta.lease }));
    receiver.subscribeEvents('capture', (e) => void events.push(e.type));
    sender.publishAudio('dev1', 'audio.in', { seq: 3, captureTsUs: 1_000_000, sampleRate: 16000, channels: 1, pcm: Int16Array.from({ length: 320 }, (_, i) => i - 160) });
    sender.publishEvent(makeEvent('device.ended', { deviceId: 'dev1', reason: 'end-of-stream', lastSeq: 3, lastCaptureTsUs: 1_000_000 }));
    await receiver.flush();
    expect(chunks).toEqual([{ seq: 3, pcm: Array.from({ length: 320 }, (_, i) => i - 160), lease: 7 }]);
    expect(events).toEqual(['device.ended']);
    // One service's shutdown drains its own connection: the others' go on.
    await sender.drain();
    expect(sender.nc.isClosed()).toBe(true);
    expect(() => sender.nc.publish('after.close')).toThrow(/closed/);
    expect(receiver.nc.isClosed()).toBe(false);
    const third = new Bus(router.connect(), { log });
    third.publishEvent(makeEvent('device.ended', { deviceId: 'dev1', reason: 'end-of-stream', lastSeq: 4, lastCaptureTsUs: 1_020_000 }));
    await receiver.flush();
    expect(events).toEqual(['device.ended', 'device.ended']);
    // A closed connection's subscriptions are gone with it.
    await receiver.drain();
    third.publishEvent(makeEvent('device.ended', { deviceId: 'dev1', reason: 'end-of-stream', lastSeq: 5, lastCaptureTsUs: 1_040_000 }));
    await third.flush();
    expect(events).toHaveLength(2);
  });
});
