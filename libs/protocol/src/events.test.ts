import { describe, expect, it } from 'vitest';
import {
  decodeEvent,
  INTERRUPTION_STRATEGIES,
  TURN_DETECTION_MODES,
  encodeEvent,
  EventDecodeError,
  makeEvent,
  streamOfEvent,
  VoiceEvent,
  type VoiceEvent as VoiceEventT,
} from './events.ts';
import { STREAMS } from './subjects.ts';

const samples: VoiceEventT[] = [
  makeEvent('device.announced', { deviceId: 'd1', source: 'file:a.wav', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: 1, firstCaptureTsUs: 5 }),
  makeEvent('device.ended', { deviceId: 'd1', reason: 'end-of-stream', lastSeq: 10, lastCaptureTsUs: 200_000 }),
  makeEvent('speech.start', { deviceId: 'd1', speechStartUs: 1000, decidedAt: 2, inferenceMs: 0.3 }),
  makeEvent('speech.end', { deviceId: 'd1', speechStartUs: 1000, speechEndUs: 900_000, decidedAt: 2, inferenceMs: 0.3 }),
  makeEvent('turn.start', { deviceId: 'd1', turnId: 'd1-1', speechStartUs: 1000, decidedAt: 3 }),
  makeEvent('turn.end', { deviceId: 'd1', turnId: 'd1-1', speechStartUs: 1000, speechEndUs: 900_000, decidedAt: 3, endOfTurnDelayMs: 712 }),
  makeEvent('turn.latency', {
    deviceId: 'd1', turnId: 'd1-1', speechStartUs: 1, speechEndUs: 2, endOfTurnDelayMs: 700, busMs: 2, modelFirstAudioMs: 600,
    playbackBufferMs: 60, voiceToVoiceMs: 1362, interrupted: false,
  }),
  makeEvent('session.opened', { deviceId: 'd1', model: 'm', resumed: false, turnDetection: 'local', interruption: 'immediate' }),
  makeEvent('session.error', { deviceId: 'd1', code: 1008, kind: 'config', message: 'bad model', retrying: false }),
  makeEvent('transcript', { deviceId: 'd1', role: 'assistant', text: 'Hello.', final: false, turnId: 'd1-1' }),
  makeEvent('assistant.audio.first', { deviceId: 'd1', turnId: 'd1-1', requestedAt: 10, modelFirstAudioMs: 601 }),
  makeEvent('assistant.turn.complete', { deviceId: 'd1', turnId: 'd1-1', interrupted: true, audioMs: 1200 }),
  makeEvent('playback.started', { deviceId: 'd1', turnId: 'd1-1', playedAt: 1, bufferMs: 60 }),
  makeEvent('playback.flushed', { deviceId: 'd1', droppedMs: 420 }),
  makeEvent('control.interrupt', { deviceId: 'd1', turnId: 'd1-1', byTurnId: 'd1-2', reason: 'user speech' }),
  makeEvent('speech.onset', { deviceId: 'd1', atUs: 1_000_000, decidedAt: 1000 }),
  makeEvent('speech.misfire', { deviceId: 'd1', atUs: 1_100_000, decidedAt: 1100 }),
  makeEvent('speech.sustained', { deviceId: 'd1', speechStartUs: 1_000_000, atUs: 1_600_000, sustainedMs: 600, decidedAt: 1600 }),
  makeEvent('assistant.audible', { deviceId: 'd1', turnId: 'd1-1', audible: true, paused: false, at: 1700 }),
  makeEvent('control.flush', { deviceId: 'd1', reason: 'barge-in' }),
];

const bytes = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

describe('events', () => {
  it.each(samples.map((e) => [e.type, e] as const))('%s round-trips on its own stream', (_type, event) => {
    const stream = streamOfEvent(event.type);
    expect(decodeEvent(stream, encodeEvent(event))).toEqual(event);
  });

  it('maps each family to its stream', () => {
    expect(streamOfEvent('speech.start')).toBe(STREAMS.vad);
    expect(streamOfEvent('turn.end')).toBe(STREAMS.turn);
    expect(streamOfEvent('control.flush')).toBe(STREAMS.control);
    expect(streamOfEvent('playback.underrun')).toBe(STREAMS.playback);
  });

  it('every event type belongs to exactly one stream', () => {
    const types = VoiceEvent.options.map((o) => o.shape.type.value);
    expect(new Set(types).size).toBe(types.length);
  });

  it('rejects an event sent on the wrong stream', () => {
    const turnEnd = samples.find((e) => e.type === 'turn.end')!;
    expect(() => decodeEvent(STREAMS.control, encodeEvent(turnEnd))).toThrow(EventDecodeError);
  });

  it.each([
    ['not json', 'hello'],
    ['null', 'null'],
    ['array', '[]'],
    ['no type', { v: 1, deviceId: 'd1', ts: 1 }],
    ['unknown type', { v: 1, type: 'turn.sideways', deviceId: 'd1', ts: 1 }],
    ['wrong version', { v: 2, type: 'turn.start', deviceId: 'd1', ts: 1, turnId: 't', speechStartUs: 1, decidedAt: 1 }],
    ['bad device id', { v: 1, type: 'turn.start', deviceId: 'a.b', ts: 1, turnId: 't', speechStartUs: 1, decidedAt: 1 }],
    ['negative timestamp', { v: 1, type: 'turn.start', deviceId: 'd1', ts: 1, turnId: 't', speechStartUs: -5, decidedAt: 1 }],
    ['missing field', { v: 1, type: 'turn.start', deviceId: 'd1', ts: 1, speechStartUs: 1, decidedAt: 1 }],
    ['string for number', { v: 1, type: 'turn.start', deviceId: 'd1', ts: '1', turnId: 't', speechStartUs: 1, decidedAt: 1 }],
  ])('rejects %s with a typed error', (_name, body) => {
    expect(() => decodeEvent(STREAMS.turn, bytes(body))).toThrow(EventDecodeError);
  });

  it('rejects invalid UTF-8 and oversized bodies', () => {
    expect(() => decodeEvent(STREAMS.vad, Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]))).toThrow(EventDecodeError);
    expect(() => decodeEvent(STREAMS.vad, new Uint8Array(300 * 1024).fill(0x20))).toThrow(/exceeds/);
  });

  it('names the event type and the bad field in the error', () => {
    try {
      decodeEvent(STREAMS.turn, bytes({ v: 1, type: 'turn.end', deviceId: 'd1', ts: 1, turnId: 't', speechStartUs: 1, speechEndUs: 2, decidedAt: 3 }));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(EventDecodeError);
      expect((err as EventDecodeError).eventType).toBe('turn.end');
      expect((err as Error).message).toContain('endOfTurnDelayMs');
    }
  });

  it('keys a rejection by a bounded set of kinds: any type the protocol does not know is `unknown-type`', () => {
    // Old code: the attacker's own text was the kind, so 20k distinct types made 20k log lines, counters and metric labels.
    const kinds = new Set<string | undefined>();
    for (let i = 0; i < 100; i++) {
      try {
        decodeEvent(STREAMS.turn, bytes({ v: 1, type: `forged.${i}`, deviceId: 'd1', ts: 1 }));
      } catch (err) {
        kinds.add((err as EventDecodeError).eventType);
        expect((err as Error).message).toContain(`forged.${i}`);
      }
    }
    expect([...kinds]).toEqual(['unknown-type']);
  });

  it('refuses to encode an invalid event', () => {
    const bad = makeEvent('speech.start', { deviceId: 'bad id', speechStartUs: 1, decidedAt: 1, inferenceMs: 0 });
    expect(() => encodeEvent(bad)).toThrow(EventDecodeError);
  });
});

describe('strategy and turn-detection enums on the wire', () => {
  it('rejects an interruption strategy or turn-detection mode that does not exist', () => {
    const body = (fields: Record<string, unknown>) =>
      new TextEncoder().encode(JSON.stringify({ v: 1, type: 'session.opened', deviceId: 'd1', ts: 1, model: 'm', resumed: false, turnDetection: 'local', interruption: 'immediate', ...fields }));
    expect(decodeEvent('session', body({})).type).toBe('session.opened');
    expect(() => decodeEvent('session', body({ interruption: 'eventually' }))).toThrow(/interruption/);
    expect(() => decodeEvent('session', body({ turnDetection: 'psychic' }))).toThrow(/turnDetection/);
    expect(INTERRUPTION_STRATEGIES).toEqual(['immediate', 'pause', 'deferred', 'ignore']);
    expect(TURN_DETECTION_MODES).toEqual(['local', 'server']);
  });
});
