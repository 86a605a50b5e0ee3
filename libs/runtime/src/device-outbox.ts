import { context, type Context } from '@opentelemetry/api';
import { chunkDurationMs, encodeEvent, streamOfEvent, type AudioChunk, type Stream, type VoiceEvent } from '@voicebus/protocol';
import type { AudioStream, Bus } from './bus.ts';
import type { Logger } from './logger.ts';
import { OutageHold, type OutageHoldOptions, type OutageHoldStats } from './outage-hold.ts';
import { StreamHistory } from './stream-history.ts';

type Outgoing =
  | { kind: 'audio'; stream: AudioStream; chunk: AudioChunk; ctx: Context }
  | { kind: 'event'; event: VoiceEvent; ctx: Context };

export interface DeviceOutboxOptions extends Partial<OutageHoldOptions> {
  /** The JetStream stream that keeps `storedStreams` (AUDIO_HISTORY_STREAM, ANSWER_HISTORY_STREAM); none: all live. */
  history?: string | undefined;
  /** The device's streams that `history` keeps: held messages on them are sent stored (acked), the rest live in their turn. */
  storedStreams?: readonly Stream[] | undefined;
  /**
   * Ask the server whether `history` is there before storing into it (OutageHoldBus.historyReady):
   * for a service that makes that stream again itself on a reconnect, racing its own drain, and
   * may read its info. A device's credential may not; its audio sent twice is heard once.
   */
  confirmHistory?: boolean | undefined;
}

/** What an actor publishes a device's messages through: a DeviceOutbox, or the bus straight (publishStraight). */
export type DevicePublisher = Pick<DeviceOutbox, 'publishAudio' | 'tryPublishEvent' | 'close'>;

/** A device's publisher with no hold: what is sent during an outage is lost (tests, and a service given no outbox). */
export function publishStraight(bus: Pick<Bus, 'publishAudio' | 'tryPublishEvent'>, deviceId: string): DevicePublisher {
  return { publishAudio: (stream, chunk) => bus.publishAudio(deviceId, stream, chunk), tryPublishEvent: (event, log) => bus.tryPublishEvent(event, log), close: () => {} };
}

/**
 * One device's publishes, held over a NATS outage in one order (OutageHold): audio and events
 * alike, so an answer's end cannot overtake its audio. The publisher's trace context goes
 * with each message. While the bus is up it is a plain publish.
 */
export class DeviceOutbox {
  readonly deviceId: string;
  private readonly hold: OutageHold<Outgoing>;
  private readonly unregister: () => void;

  constructor(bus: Bus, deviceId: string, log: Logger, options: DeviceOutboxOptions = {}) {
    this.deviceId = deviceId;
    const { history } = options;
    const stored = new Set<Stream>(history ? options.storedStreams : []);
    const streamOf = (m: Outgoing): Stream => (m.kind === 'audio' ? m.stream : streamOfEvent(m.event.type));
    this.hold = new OutageHold<Outgoing>({
      publish: (m) => context.with(m.ctx, () => (m.kind === 'audio' ? bus.publishAudio(deviceId, m.stream, m.chunk) : bus.publishEvent(m.event))),
      store: (m, timeoutMs) => {
        if (!stored.has(streamOf(m))) return undefined;
        return context.with(m.ctx, () => (m.kind === 'audio' ? bus.storeAudio(deviceId, m.stream, m.chunk, history!, timeoutMs) : bus.storeEvent(m.event, history!, timeoutMs)));
      },
      durationMs: (m) => (m.kind === 'audio' ? chunkDurationMs(m.chunk) : 0),
      // Consumers hear a chunk that comes twice once (AudioGaps.alreadyHeard); an event twice would count twice.
      resendable: (m) => m.kind === 'audio',
      ...(stored.size > 0 && options.confirmHistory ? { historyReady: (timeoutMs: number) => StreamHistory.exists(bus.nc, history!, timeoutMs) } : {}),
    }, log, options);
    this.unregister = bus.onOutage(this.hold);
  }

  get isHolding(): boolean {
    return this.hold.isHolding;
  }

  get stats(): OutageHoldStats {
    return this.hold.stats;
  }

  get options(): OutageHoldOptions {
    return this.hold.options;
  }

  publishAudio(stream: AudioStream, chunk: AudioChunk): void {
    this.hold.send({ kind: 'audio', stream, chunk, ctx: context.active() });
  }

  /** Like Bus.tryPublishEvent: an event that fails validation is logged, never thrown, and never held. */
  tryPublishEvent(event: VoiceEvent, log: Logger): boolean {
    try {
      if (this.hold.isHolding) encodeEvent(event);
      this.hold.send({ kind: 'event', event, ctx: context.active() });
      return true;
    } catch (err) {
      log.error({ err, type: event.type }, 'could not publish event');
      return false;
    }
  }

  /** Resolves when nothing is held any more. */
  settled(): Promise<void> {
    return this.hold.settled();
  }

  close(): void {
    this.unregister();
    this.hold.close();
  }
}
