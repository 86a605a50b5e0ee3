import { DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { allDevicesSubject, AUDIO_HISTORY_STREAM, chunkDurationMs, decodeAudioChunk, deviceSubject, STREAMS, type AudioChunk } from '@voicebus/protocol';
import type { Bus, Logger } from '@voicebus/runtime';

type NatsConnection = Bus['nc'];

export interface AudioHistoryOptions {
  /** How long the server keeps each device's audio.in: longer than a user turn plus a restart. */
  maxAgeMs: number;
  /** A replay gives up after this long (and hands over what it has). */
  fetchTimeoutMs: number;
  /** Copies on a JetStream cluster (the KV buckets' count), so a node's loss keeps the history. */
  replicas: number;
}

export const AUDIO_HISTORY_DEFAULTS: AudioHistoryOptions = { maxAgeMs: 30_000, fetchTimeoutMs: 2000, replicas: 1 };

/**
 * Every device's recent microphone audio, kept by the NATS server itself: a JetStream stream
 * in memory over `voice.v1.*.audio.in` with a max age of a few tens of seconds (the chunks as
 * they were published, headers and all). A session that restarted, or took a device over, in
 * the middle of a user turn gets that turn's audio from here instead of losing the turn. The
 * session service owns the stream (it creates it; docs/architecture.md, what is kept where).
 */
export class AudioHistory {
  readonly options: AudioHistoryOptions;
  private readonly nc: NatsConnection;
  private readonly log: Logger;

  private constructor(nc: NatsConnection, log: Logger, options: AudioHistoryOptions) {
    this.nc = nc;
    this.log = log;
    this.options = options;
  }

  /** Creates the stream (or finds it); undefined without JetStream, where turns in progress stay lost on a restart. */
  static async open(nc: NatsConnection, log: Logger, options: Partial<AudioHistoryOptions> = {}): Promise<AudioHistory | undefined> {
    const opts = { ...AUDIO_HISTORY_DEFAULTS, ...options };
    try {
      const jsm = await jetstreamManager(nc as never);
      const config = {
        name: AUDIO_HISTORY_STREAM,
        subjects: [allDevicesSubject(STREAMS.audioIn)],
        storage: StorageType.Memory,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_age: nanos(opts.maxAgeMs),
        num_replicas: opts.replicas,
      };
      try {
        await jsm.streams.info(AUDIO_HISTORY_STREAM);
      } catch {
        await jsm.streams.add(config);
      }
      return new AudioHistory(nc, log, opts);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'no audio history (JetStream?): a turn in progress is lost when the session restarts');
      return undefined;
    }
  }

  /**
   * The device's audio captured from `fromUs` to `toUs` (capture time, µs), in order. The server
   * files messages by arrival, not capture time, so the read starts a second early and the
   * capture timestamps choose; it stops at the first chunk past `toUs` or after the timeout.
   */
  async between(deviceId: string, fromUs: number, toUs: number): Promise<AudioChunk[]> {
    const chunks: AudioChunk[] = [];
    const js = jetstream(this.nc as never);
    const consumer = await js.consumers.get(AUDIO_HISTORY_STREAM, {
      filter_subjects: deviceSubject(deviceId, STREAMS.audioIn),
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(fromUs / 1000 - 1000).toISOString(),
    });
    const messages = await consumer.consume({ max_messages: 500 });
    const timer = setTimeout(() => void messages.stop(), this.options.fetchTimeoutMs);
    try {
      for await (const m of messages) {
        let chunk: AudioChunk;
        try {
          chunk = decodeAudioChunk(m.data, m.headers);
        } catch {
          continue; // what the bus would have rejected is not replayed either
        }
        if (chunk.captureTsUs >= toUs) break;
        if (chunk.captureTsUs + chunkDurationMs(chunk) * 1000 > fromUs) chunks.push(chunk);
        if (m.info.pending === 0) break;
      }
    } finally {
      clearTimeout(timer);
      await messages.close().catch(() => {});
    }
    this.log.debug({ deviceId, chunks: chunks.length }, 'audio history replayed');
    return chunks;
  }
}
