import fc from 'fast-check';
import { HEADERS, isEventStream, STREAMS, type Stream } from '@voicebus/protocol';

/**
 * What the fuzzer sends, by kind. `mustReject`: every subscriber must refuse it at the
 * boundary (counted, never reaching an actor). The others are valid messages with hostile
 * values (a sequence number reset or far ahead, a capture time an hour ahead): the services
 * may take them in, but the conversation must go on as if they had not been sent.
 */
export const HOSTILE_KINDS = {
  'random-bytes': { mustReject: true, what: 'random bytes, no headers' },
  'not-an-object': { mustReject: true, what: 'JSON that is not an object: arrays, numbers, strings, null' },
  'unknown-type': { mustReject: true, what: 'an event whose type the protocol does not know (a fresh text every time)' },
  'wrong-field-type': { mustReject: true, what: 'a real event with one field of the wrong type' },
  'missing-field': { mustReject: true, what: 'a real event without one of v, type, deviceId, ts' },
  'device-mismatch': { mustReject: true, what: 'a real event naming another device than its subject' },
  'wrong-stream': { mustReject: true, what: 'a real event of another stream (a turn.end on control)' },
  'huge-body': { mustReject: true, what: 'a 900 KB body (events: JSON; audio: 28 s of PCM)' },
  'bad-audio-header': { mustReject: true, what: 'a real chunk with a header missing or garbage (sequence, capture time, rate, channels, encoding)' },
  'bad-audio-body': { mustReject: true, what: 'a real chunk\'s headers on an empty, odd-length or partial-frame body' },
  'bad-lease-header': { mustReject: true, what: 'a real event or chunk with a Voice-Lease header that is not <service>:<token>' },
  'stale-lease': { mustReject: true, what: 'a real event or chunk re-sent with its publisher\'s lease token at 0 (older than any lease)' },
  flood: { mustReject: true, what: 'a burst of 200 random-byte messages on one subject at once' },
  'hostile-sequence': { mustReject: false, what: 'a real chunk re-sent with its sequence number repeated, behind, back at 0 or a million ahead' },
  'future-stamp': { mustReject: false, what: 'a real chunk re-sent stamped an hour in the future (its sequence repeated)' },
} as const satisfies Record<string, { mustReject: boolean; what: string }>;

export type HostileKind = keyof typeof HOSTILE_KINDS;

/** A message as the fuzzer publishes it on `voice.v1.<device>.<stream>`. */
export interface HostileMessage {
  kind: HostileKind;
  stream: Stream;
  body: Uint8Array;
  headers: Record<string, string>;
}

/** A real message seen on the device's subjects: the mutations start from it. */
export interface SeenMessage {
  stream: Stream;
  body: Uint8Array;
  headers: Record<string, string>;
}

/** Set on every fuzz message that has headers, so the fuzzer never samples its own output. */
export const FUZZ_HEADER = 'Voice-Fuzz';

const AUDIO_STREAMS: readonly Stream[] = [STREAMS.audioIn, STREAMS.audioOut];
const CORE_FIELDS = ['v', 'type', 'deviceId', 'ts'] as const;
/** A value that is none of the protocol's types for any field of these names. */
const WRONG_CORE_VALUES: Record<(typeof CORE_FIELDS)[number], unknown[]> = {
  v: [2, '1', null, [1], { v: 1 }, -1],
  type: [7, null, [], { type: 'turn.end' }, true],
  deviceId: [42, null, ['dev1'], { id: 'dev1' }, ''],
  ts: ['yesterday', null, [], { ms: 1 }, true],
};
const BAD_LEASES = ['garbage', 'session:', ':5', 'session:abc', 'vad:-1', 'playback:1e309', 'session:1.5', 'session:0x10', `session:${'9'.repeat(40)}`];
const HUGE = 900 * 1024;
const FLOOD = 200;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const json = (value: unknown) => encoder.encode(JSON.stringify(value));

/**
 * Makes hostile messages for one device's subjects, deterministically from a seed: fast-check
 * draws the raw material (bytes, JSON values, type names), the mutations start from real
 * messages of the running conversation, so a field-level mutation is the smallest step from
 * something a service would take.
 */
export class HostileMessages {
  private readonly deviceId: string;
  private readonly otherDeviceId: string;
  private readonly bytes: Uint8Array[];
  private readonly nonObjects: unknown[];
  private readonly typeNames: string[];
  private readonly seen = new Map<Stream, Map<string, SeenMessage>>();
  private n = 0;

  constructor(deviceId: string, seed: number, knownTypes: ReadonlySet<string>) {
    this.deviceId = deviceId;
    this.otherDeviceId = `${deviceId}-not`;
    const pool = { seed, numRuns: 512 };
    this.bytes = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 2048 }), pool);
    this.nonObjects = fc.sample(fc.oneof(fc.array(fc.jsonValue(), { maxLength: 8 }), fc.double({ noNaN: true }), fc.integer(), fc.string(), fc.constant(null), fc.boolean()), pool);
    this.typeNames = fc.sample(fc.string({ minLength: 0, maxLength: 80 }), pool).filter((t) => !knownTypes.has(t));
  }

  /** Keeps the newest real message of each event type (and the newest chunk) per stream. */
  observe(message: SeenMessage, eventType: string | undefined): void {
    let byType = this.seen.get(message.stream);
    if (!byType) this.seen.set(message.stream, (byType = new Map()));
    byType.set(eventType ?? 'audio', message);
  }

  /** The kinds that can be made for `stream` now (some need a real message to start from). */
  kindsFor(stream: Stream): HostileKind[] {
    const audio = AUDIO_STREAMS.includes(stream);
    const sample = this.sampleOf(stream);
    const kinds: HostileKind[] = ['random-bytes', 'huge-body', 'flood'];
    if (!audio) kinds.push('not-an-object', 'unknown-type');
    if (!sample) return kinds;
    if (audio) kinds.push('bad-audio-header', 'bad-audio-body');
    else kinds.push('wrong-field-type', 'missing-field', 'device-mismatch');
    if (!audio && this.sampleOtherThan(stream)) kinds.push('wrong-stream');
    if (this.sampleOf(stream, true)) kinds.push('bad-lease-header', 'stale-lease');
    if (stream === STREAMS.audioIn) kinds.push('hostile-sequence', 'future-stamp');
    return kinds;
  }

  /** One message (a `flood` is FLOOD of them) of `kind` on `stream`; `kind` must be one of kindsFor(stream). */
  make(kind: HostileKind, stream: Stream): HostileMessage[] {
    this.n++;
    const mark = { [FUZZ_HEADER]: kind };
    const msg = (body: Uint8Array, headers: Record<string, string> = mark): HostileMessage => ({ kind, stream, body, headers });
    switch (kind) {
      case 'random-bytes':
        return [msg(this.pick(this.bytes), {})];
      case 'flood':
        return Array.from({ length: FLOOD }, () => msg(this.pick(this.bytes), {}));
      case 'huge-body':
        return [AUDIO_STREAMS.includes(stream) ? msg(new Uint8Array(HUGE), this.audioHeadersOf(stream)) : msg(json({ v: 1, type: 'transcript', deviceId: this.deviceId, ts: 1, text: 'x'.repeat(HUGE) }))];
      case 'not-an-object':
        return [msg(json(this.pick(this.nonObjects)))];
      case 'unknown-type':
        return [msg(json({ v: 1, type: this.pick(this.typeNames), deviceId: this.deviceId, ts: 1 }))];
      case 'wrong-field-type': {
        const event = this.eventOf(stream);
        const field = this.pick(CORE_FIELDS);
        return [msg(json({ ...event, [field]: this.pick(WRONG_CORE_VALUES[field]) }))];
      }
      case 'missing-field': {
        const event = this.eventOf(stream);
        delete event[this.pick(CORE_FIELDS)];
        return [msg(json(event))];
      }
      case 'device-mismatch':
        return [msg(json({ ...this.eventOf(stream), deviceId: this.otherDeviceId }))];
      case 'wrong-stream': {
        const other = this.sampleOtherThan(stream)!;
        return [msg(other.body, { ...mark, ...leaseOnly(other.headers) })];
      }
      case 'bad-audio-header': {
        const sample = this.sampleOf(stream)!;
        const headers: Record<string, string> = { ...sample.headers, ...mark };
        const which = this.n % 6;
        if (which === 0) delete headers[HEADERS.seq];
        else if (which === 1) headers[HEADERS.captureTsUs] = 'soon';
        else if (which === 2) headers[HEADERS.sampleRate] = '12345';
        else if (which === 3) headers[HEADERS.channels] = '7';
        else if (which === 4) headers[HEADERS.encoding] = 'opus';
        else headers[HEADERS.seq] = '-1';
        return [msg(sample.body, headers)];
      }
      case 'bad-audio-body': {
        const sample = this.sampleOf(stream)!;
        const headers: Record<string, string> = { ...sample.headers, ...mark };
        const which = this.n % 3;
        if (which === 0) return [msg(new Uint8Array(0), headers)];
        if (which === 1) return [msg(sample.body.subarray(0, Math.max(1, sample.body.byteLength - 1) | 1), headers)];
        // Two channels of 16-bit samples need multiples of 4 bytes.
        return [msg(sample.body.subarray(0, 6), { ...headers, [HEADERS.channels]: '2' })];
      }
      case 'bad-lease-header': {
        const sample = this.sampleOf(stream, true)!;
        return [msg(sample.body, { ...sample.headers, ...mark, [HEADERS.lease]: this.pick(BAD_LEASES) })];
      }
      case 'stale-lease': {
        const sample = this.sampleOf(stream, true)!;
        const service = sample.headers[HEADERS.lease]!.split(':')[0]!;
        return [msg(sample.body, { ...sample.headers, ...mark, [HEADERS.lease]: `${service}:0` })];
      }
      case 'hostile-sequence': {
        const sample = this.sampleOf(stream)!;
        const seq = Number(sample.headers[HEADERS.seq]);
        const choices = [seq, Math.max(0, seq - 5), 0, seq + 1_000_000];
        return [msg(sample.body, { ...sample.headers, ...mark, [HEADERS.seq]: String(choices[this.n % choices.length]) })];
      }
      case 'future-stamp': {
        const sample = this.sampleOf(stream)!;
        const hourAhead = Number(sample.headers[HEADERS.captureTsUs]) + 3_600_000_000;
        return [msg(sample.body, { ...sample.headers, ...mark, [HEADERS.captureTsUs]: String(hourAhead) })];
      }
    }
  }

  private pick<T>(values: readonly T[]): T {
    return values[this.n++ % values.length]!;
  }

  /** One of the real messages seen on `stream` (with `leased`, one whose publisher stamped a lease). */
  private sampleOf(stream: Stream, leased = false): SeenMessage | undefined {
    const all = [...(this.seen.get(stream)?.values() ?? [])].filter((m) => !leased || m.headers[HEADERS.lease]);
    return all.length > 0 ? all[this.n % all.length] : undefined;
  }

  /** A real event of another JSON stream than `stream`. */
  private sampleOtherThan(stream: Stream): SeenMessage | undefined {
    for (const [other] of this.seen) if (other !== stream && isEventStream(other)) return this.sampleOf(other);
    return undefined;
  }

  private eventOf(stream: Stream): Record<string, unknown> {
    return JSON.parse(decoder.decode(this.sampleOf(stream)!.body)) as Record<string, unknown>;
  }

  private audioHeadersOf(stream: Stream): Record<string, string> {
    const sample = this.sampleOf(stream);
    return sample ? { ...sample.headers, [FUZZ_HEADER]: 'huge-body' } : {
      [HEADERS.seq]: '1', [HEADERS.captureTsUs]: '1', [HEADERS.sampleRate]: '16000', [FUZZ_HEADER]: 'huge-body',
    };
  }
}

/** A message of another stream keeps only its lease header (its trace context would be noise). */
function leaseOnly(headers: Record<string, string>): Record<string, string> {
  const lease = headers[HEADERS.lease];
  return lease ? { [HEADERS.lease]: lease } : {};
}
