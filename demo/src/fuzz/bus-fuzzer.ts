import { headers as natsHeaders, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { decodeAudioChunk, decodeEvent, deviceSubject, deviceWildcard, isEventStream, parseSubject, STREAMS, VoiceEvent, type Stream } from '@voicebus/protocol';
import { FUZZ_HEADER, HOSTILE_KINDS, HostileMessages, type HostileKind, type HostileMessage } from './hostile-messages.ts';

export interface BusFuzzerOptions {
  /** The device whose subjects are fuzzed while its conversation runs. */
  deviceId: string;
  /** Hostile messages per second (a flood counts as one). */
  ratePerS: number;
  /** A flood of random bytes on one subject this often. */
  floodEveryMs: number;
  seed: number;
}

export const BUS_FUZZER_DEFAULTS: Omit<BusFuzzerOptions, 'deviceId'> = { ratePerS: 100, floodEveryMs: 5000, seed: 1 };

/**
 * The connection each stream's messages are sent on: that stream's entitled publisher (a
 * device's credential for its audio and capture events, a service's for what it owns), so the
 * server lets them through and the services' boundaries are what is tested, not permissions.
 */
export type FuzzPublishers = Record<Stream, NatsConnection>;

/** Sent per kind and stream. */
export type SentCounts = Map<HostileKind, Map<Stream, number>>;

const ALL_STREAMS = Object.values(STREAMS) as Stream[];
const KNOWN_TYPES = new Set(VoiceEvent.options.map((o) => o.shape.type.value as string));
const TICK_MS = 10;

/**
 * Sends hostile messages on every subject of one device while its real conversation runs,
 * at a steady rate with a flood now and then. The mutations start from the device's own real
 * traffic, which it watches (never its own output, marked with `Voice-Fuzz`).
 */
export class BusFuzzer {
  readonly options: BusFuzzerOptions;
  readonly sent: SentCounts = new Map();
  private readonly messages: HostileMessages;
  private readonly observer: NatsConnection;
  private readonly publishers: FuzzPublishers;
  private watch: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private due = 0;
  private lastTickAt = 0;
  private lastFloodAt = Date.now();
  private turn = 0;
  private readonly kindTurn = new Map<Stream, number>();
  startedAt = 0;
  stoppedAt = 0;

  constructor(observer: NatsConnection, publishers: FuzzPublishers, options: Pick<BusFuzzerOptions, 'deviceId'> & Partial<BusFuzzerOptions>) {
    this.options = { ...BUS_FUZZER_DEFAULTS, ...options };
    this.observer = observer;
    this.publishers = publishers;
    this.messages = new HostileMessages(this.options.deviceId, this.options.seed, KNOWN_TYPES);
  }

  start(): void {
    this.startedAt = Date.now();
    this.watch = this.observer.subscribe(deviceWildcard(this.options.deviceId), {
      callback: (err, msg) => {
        if (err || msg.headers?.has(FUZZ_HEADER)) return;
        const stream = parseSubject(msg.subject).stream;
        const headers: Record<string, string> = {};
        for (const [k, v] of msg.headers ?? []) headers[k] = v[0] ?? '';
        try {
          // Only what a service would take is a starting point for a mutation.
          if (isEventStream(stream)) this.messages.observe({ stream, body: msg.data, headers }, decodeEvent(stream, msg.data).type);
          else {
            decodeAudioChunk(msg.data, msg.headers);
            this.messages.observe({ stream, body: msg.data, headers }, undefined);
          }
        } catch {
          // another fuzzer's, or a service's bug: not a sample
        }
      },
    });
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  private tick(): void {
    // Paced by the time that passed, not by the ticks: a timer that fires late on a loaded
    // machine would otherwise lower the rate. At most a second's backlog goes at once.
    const tickAt = performance.now();
    const elapsedMs = Math.min(1000, tickAt - (this.lastTickAt || tickAt - TICK_MS));
    this.lastTickAt = tickAt;
    this.due += (this.options.ratePerS * elapsedMs) / 1000;
    const now = Date.now();
    if (now - this.lastFloodAt >= this.options.floodEveryMs) {
      this.lastFloodAt = now;
      this.send(this.messages.make('flood', this.nextStream()));
    }
    for (; this.due >= 1; this.due--) {
      const stream = this.nextStream();
      // Each stream goes through its kinds in turn.
      const kinds = this.messages.kindsFor(stream).filter((k) => k !== 'flood');
      const n = this.kindTurn.get(stream) ?? 0;
      this.kindTurn.set(stream, n + 1);
      this.send(this.messages.make(kinds[n % kinds.length]!, stream));
    }
  }

  private nextStream(): Stream {
    return ALL_STREAMS[this.turn++ % ALL_STREAMS.length]!;
  }

  private send(batch: HostileMessage[]): void {
    for (const m of batch) {
      const h = natsHeaders();
      for (const [k, v] of Object.entries(m.headers)) h.set(k, v);
      this.publishers[m.stream].publish(deviceSubject(this.options.deviceId, m.stream), m.body, Object.keys(m.headers).length > 0 ? { headers: h } : {});
      let byStream = this.sent.get(m.kind);
      if (!byStream) this.sent.set(m.kind, (byStream = new Map()));
      byStream.set(m.stream, (byStream.get(m.stream) ?? 0) + 1);
    }
  }

  /** Stops sending; resolves once the server has every message sent (each publisher flushed). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.watch?.unsubscribe();
    this.stoppedAt = Date.now();
    await Promise.all([...new Set(Object.values(this.publishers))].map((nc) => nc.flush()));
  }

  /** Messages sent on `stream` that every subscriber must refuse. */
  mustRejectOn(stream: Stream): number {
    let n = 0;
    for (const [kind, byStream] of this.sent) if (HOSTILE_KINDS[kind].mustReject) n += byStream.get(stream) ?? 0;
    return n;
  }
}
