import { allDevicesSubject, AUDIO_HISTORY_STREAM, chunkDurationMs, decodeAudioChunk, deviceSubject, STREAMS, type AudioChunk } from '@voicebus/protocol';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import type { AudioStream } from './bus.ts';
import { StreamHistory, STREAM_HISTORY_DEFAULTS, type StreamHistoryOptions } from './stream-history.ts';

export type AudioHistoryOptions = Pick<StreamHistoryOptions, 'maxAgeMs' | 'fetchTimeoutMs' | 'replicas'>;

/** A chunk's identity: the same number at the same capture time is the same chunk, sent again. */
export const chunkKey = (chunk: Pick<AudioChunk, 'seq' | 'captureTsUs'>): string => `${chunk.seq}:${chunk.captureTsUs}`;

export const AUDIO_HISTORY_DEFAULTS: AudioHistoryOptions = STREAM_HISTORY_DEFAULTS;

/**
 * Every device's recent microphone audio (`voice.v1.*.audio.in` in the `VOICEBUS_AUDIO`
 * memory stream). A session that restarted, or took a device over, in the middle of a user
 * turn gets that turn's audio from here instead of losing the turn, and a restarted vad the
 * audio it did not hear. The session service creates the stream (docs/architecture.md, what
 * is kept where); the vad only reads it.
 */
export class AudioHistory {
  private readonly history: StreamHistory;
  private readonly log: Logger;
  /** Whose audio: the microphones' (`audio.in`, the default), or the answers' (`audio.out`). */
  private readonly audio: AudioStream;

  private constructor(history: StreamHistory, log: Logger, audio: AudioStream = STREAMS.audioIn) {
    this.history = history;
    this.log = log;
    this.audio = audio;
  }

  get options(): AudioHistoryOptions {
    return this.history.options;
  }

  /** Creates the stream (or finds it); undefined without JetStream, where turns in progress stay lost on a restart. */
  static async open(nc: NatsConnection, log: Logger, options: Partial<AudioHistoryOptions> = {}): Promise<AudioHistory | undefined> {
    const history = await StreamHistory.open(nc, log, { ...options, stream: AUDIO_HISTORY_STREAM, subjects: [allDevicesSubject(STREAMS.audioIn)] }, 'a turn in progress is lost when the session restarts');
    return history ? new AudioHistory(history, log) : undefined;
  }

  /**
   * Another service's stream, read only, as the audio history of `audio`: the playback reads the
   * answers' `audio.out` in `VOICEBUS_ANSWERS` so. Undefined when the stream is not there.
   */
  static async find(nc: NatsConnection, log: Logger, stream: string, audio: AudioStream, options: Partial<Pick<AudioHistoryOptions, 'fetchTimeoutMs'>> = {}): Promise<AudioHistory | undefined> {
    const history = await StreamHistory.find(nc, stream, options);
    return history ? new AudioHistory(history, log, audio) : undefined;
  }

  /**
   * The device's audio captured from `fromUs` to `toUs` (capture time, µs), in order. The server
   * files messages by arrival, not capture time, so the read starts a second early and the
   * capture timestamps choose; it stops at the first chunk past `toUs` or after the timeout.
   */
  async between(deviceId: string, fromUs: number, toUs: number): Promise<AudioChunk[]> {
    const chunks: AudioChunk[] = [];
    // A chunk sent again after a NATS outage (capture's OutageHold) is in the stream twice.
    const seen = new Set<string>();
    await this.history.read(deviceSubject(deviceId, this.audio), fromUs / 1000 - 1000, (m) => {
      let chunk: AudioChunk;
      try {
        chunk = decodeAudioChunk(m.data, m.headers);
      } catch {
        return; // what the bus would have rejected is not replayed either
      }
      if (chunk.captureTsUs >= toUs) return true;
      const key = chunkKey(chunk);
      if (chunk.captureTsUs + chunkDurationMs(chunk) * 1000 > fromUs && !seen.has(key)) {
        seen.add(key);
        chunks.push(chunk);
      }
    });
    this.log.debug({ deviceId, chunks: chunks.length }, 'audio history replayed');
    return chunks;
  }

  /**
   * The chunks a consumer missed between two it got (`after` and `before`, a gap in the
   * sequence): those numbered between them and captured between them, in order. A NATS
   * outage or a node's loss leaves such a gap in a consumer that resubscribed late.
   */
  async missing(deviceId: string, after: Pick<AudioChunk, 'seq' | 'captureTsUs'>, before: Pick<AudioChunk, 'seq' | 'captureTsUs'>): Promise<AudioChunk[]> {
    const chunks = await this.between(deviceId, after.captureTsUs + 1, before.captureTsUs);
    return chunks.filter((c) => c.seq > after.seq && c.seq < before.seq && c.captureTsUs > after.captureTsUs);
  }
}
