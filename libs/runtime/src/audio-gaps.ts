import { RecentSet } from './recent-set.ts';
import type { AudioChunk } from '@voicebus/protocol';
import { chunkKey, type AudioHistory } from './audio-history.ts';
import type { Logger } from './logger.ts';

export interface AudioGapsOptions {
  /** How much of a gap is read back (the audio history's default age). */
  maxGapMs: number;
  /** At most one read per device in this long: a device that skips numbers on purpose costs one read a second. */
  minIntervalMs: number;
}

export const AUDIO_GAPS_DEFAULTS: AudioGapsOptions = { maxGapMs: 30_000, minIntervalMs: 1000 };

type Position = Pick<AudioChunk, 'seq' | 'captureTsUs'>;

/** More than the 500 ms capture sends again after an outage, in 20 ms chunks, with room. */
const RECENT_KEPT = 128;

/**
 * One device's consumer-side view of its audio sequence: the last chunk heard, and the chunks
 * that a gap after it left out, read back from the audio history. A consumer whose
 * subscription came back after the device's audio went on (a NATS outage, a cluster node's
 * loss) gets them before the next chunk instead of a hole in the user's turn. What counts as
 * a gap (a restart, a forged number) is the consumer's rule; this only reads.
 */
export class AudioGaps {
  readonly options: AudioGapsOptions;
  private readonly history: Pick<AudioHistory, 'missing'> | undefined;
  private readonly deviceId: string;
  private last: Position | undefined;
  private lastReadAt = -Infinity;
  /** The chunks heard last (number and capture time), to hear one that comes again once. */
  private readonly recent = new RecentSet<string>(RECENT_KEPT);
  /** The consumer's own load shedding (ActorContext.droppedAudio), and its count when the last chunk was heard. */
  private readonly shed: () => number;
  private shedSeen = 0;

  constructor(deviceId: string, history: Pick<AudioHistory, 'missing'> | undefined, options: Partial<AudioGapsOptions> = {}, shed: () => number = () => 0) {
    this.options = { ...AUDIO_GAPS_DEFAULTS, ...options };
    this.deviceId = deviceId;
    this.history = history;
    this.shed = shed;
  }

  get lastHeard(): Position | undefined {
    return this.last;
  }

  heard(chunk: Position): void {
    this.last = { seq: chunk.seq, captureTsUs: chunk.captureTsUs };
    this.shedSeen = this.shed();
    this.recent.add(chunkKey(chunk));
  }

  /**
   * True for a chunk heard among the last RECENT_KEPT: capture sends the audio of the last
   * 500 ms before a disconnect again. Only the same number at the same capture time counts,
   * so a forged chunk far ahead cannot make the chunks after it look old (a deaf device).
   */
  alreadyHeard(chunk: Position): boolean {
    return this.recent.has(chunkKey(chunk));
  }

  /** True when `next` comes after the last chunk heard with numbers missing between them. */
  isGapBefore(next: Position): boolean {
    return this.last !== undefined && next.seq > this.last.seq + 1 && next.captureTsUs > this.last.captureTsUs;
  }

  /**
   * True when the consumer's own mailbox dropped audio since the last chunk heard (it fell
   * behind): a gap then is its load shedding, which the mailbox counts and logs already.
   */
  get shedSinceHeard(): boolean {
    return this.shed() !== this.shedSeen;
  }

  /**
   * The chunks between the last one heard and `next`, oldest first: none without history,
   * read too recently, or when the history cannot be read (logged: the gap stays unheard).
   */
  async missingBefore(next: Position, log: Logger, now = Date.now()): Promise<AudioChunk[]> {
    const last = this.last;
    if (!last) return [];
    return this.read({ seq: last.seq, captureTsUs: Math.max(last.captureTsUs, next.captureTsUs - this.options.maxGapMs * 1000) }, next, log, now);
  }

  /**
   * The chunks numbered before `next` (from 0) captured within maxGapMs before it: the start of
   * a run that numbers its own chunks (an answer) of which nothing was heard. The consumer
   * keeps those of its run (an answer's turn id); the same rules as missingBefore.
   */
  async missingFromStart(next: Position, log: Logger, now = Date.now()): Promise<AudioChunk[]> {
    if (next.seq === 0) return [];
    return this.read({ seq: -1, captureTsUs: next.captureTsUs - this.options.maxGapMs * 1000 }, next, log, now);
  }

  private async read(after: Position, next: Position, log: Logger, now: number): Promise<AudioChunk[]> {
    // A gap the consumer's own mailbox made since the last chunk it heard (it fell behind and
    // dropped the oldest audio) is left alone: reading it back would undo the shedding.
    if (this.shedSinceHeard || !this.history || now - this.lastReadAt < this.options.minIntervalMs) return [];
    this.lastReadAt = now;
    try {
      return await this.history.missing(this.deviceId, after, next);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'audio history unreadable: the gap stays unheard');
      return [];
    }
  }
}
