import { allDevicesSubject, ANSWER_HISTORY_STREAM, ASSISTANT_SAMPLE_RATE, decodeAudioChunk, decodeEvent, parseSubject, STREAMS, type AudioChunk } from '@voicebus/protocol';
import { StreamHistory, type Bus, type Logger, type StreamHistoryOptions } from '@voicebus/runtime';

/** An answer the last playback process did not finish: what the user has still to hear of it. */
export interface UnfinishedAnswer {
  turnId: string;
  /** Until when the last playback was alive to play it (epoch ms; see unheardPart). */
  heardUntilMs?: number | undefined;
  /** The answer's audio as the session sent it, in order (every chunk the history kept). */
  chunks: AudioChunk[];
  /** When its first sample was played (epoch ms), if it was: how far it got is the time since. */
  startedAtMs: number | undefined;
  /** The session said it was complete: nothing more of it will come. */
  complete: boolean;
}

export type AnswerHistoryOptions = Pick<StreamHistoryOptions, 'maxAgeMs' | 'replicas' | 'fetchTimeoutMs' | 'maxBytes'>;

/**
 * A minute of answers, and the stream's size capped: at 24 kHz an answer is 48 kB a second,
 * so a few hundred devices answered at once stay in a few hundred MB of the server's memory.
 */
export const ANSWER_HISTORY_DEFAULTS: AnswerHistoryOptions = { maxAgeMs: 60_000, replicas: 1, fetchTimeoutMs: 5000, maxBytes: 256 * 1024 * 1024 };

/** An answer whose audio has not come for this long is not coming any more. */
const STALLED_ANSWER_MS = 5000;

interface Seen {
  chunks: AudioChunk[];
  startedAtMs: number | undefined;
  complete: boolean;
  /** Played to its end, or flushed: nothing is owed. */
  done: boolean;
}

/**
 * Every device's recent answers (`VOICEBUS_ANSWERS`: the session's `audio.out` and events, and
 * the playback events). The model sends an answer faster than it is spoken, so when a
 * playback dies in the middle of one, the rest was sent already and core NATS has forgotten
 * it: the next playback finds it here, with where the dead one had got to. The playback
 * service owns the stream (it alone reads it; docs/architecture.md, what is kept where).
 */
export class AnswerHistory {
  private readonly history: StreamHistory;
  private readonly log: Logger;

  private constructor(history: StreamHistory, log: Logger) {
    this.history = history;
    this.log = log;
  }

  static async open(nc: Bus['nc'], log: Logger, options: Partial<AnswerHistoryOptions> = {}): Promise<AnswerHistory | undefined> {
    const subjects = [allDevicesSubject(STREAMS.audioOut), allDevicesSubject(STREAMS.session), allDevicesSubject(STREAMS.playback)];
    const history = await StreamHistory.open(nc, log, { ...ANSWER_HISTORY_DEFAULTS, ...options, stream: ANSWER_HISTORY_STREAM, subjects }, 'an answer playing when the playback restarts is cut off');
    return history ? new AnswerHistory(history, log) : undefined;
  }

  /**
   * Per device, its last answer if no playback finished or flushed it. A device that plays
   * for itself (a browser said so in its playback events) is left out: its speaker is not ours.
   */
  async unfinished(): Promise<Map<string, UnfinishedAnswer>> {
    const last = new Map<string, { turnId: string; seen: Map<string, Seen>; playsItself: boolean }>();
    const device = (deviceId: string) => {
      let d = last.get(deviceId);
      if (!d) last.set(deviceId, (d = { turnId: '', seen: new Map(), playsItself: false }));
      return d;
    };
    const answer = (d: ReturnType<typeof device>, turnId: string) => {
      let a = d.seen.get(turnId);
      if (!a) d.seen.set(turnId, (a = { chunks: [], startedAtMs: undefined, complete: false, done: false }));
      return a;
    };
    let read = 0;
    await this.history.read(undefined, Date.now() - this.history.options.maxAgeMs, (m) => {
      read++;
      try {
        const { deviceId, stream } = parseSubject(m.subject);
        const d = device(deviceId);
        if (stream === STREAMS.audioOut) {
          const chunk = decodeAudioChunk(m.data, m.headers);
          if (!chunk.turnId || chunk.sampleRate !== ASSISTANT_SAMPLE_RATE || chunk.channels !== 1) return;
          answer(d, chunk.turnId).chunks.push(chunk);
          d.turnId = chunk.turnId;
        } else if (stream === STREAMS.session) {
          const event = decodeEvent(STREAMS.session, m.data);
          if (event.deviceId === deviceId && event.type === 'assistant.turn.complete') answer(d, event.turnId).complete = true;
        } else if (stream === STREAMS.playback) {
          const event = decodeEvent(STREAMS.playback, m.data);
          if (event.deviceId !== deviceId) return;
          if (event.type === 'playback.started') {
            answer(d, event.turnId).startedAtMs = event.playedAt;
            if (event.playout === 'device') d.playsItself = true;
          } else if (event.type === 'playback.finished' || (event.type === 'playback.flushed' && event.turnId)) answer(d, event.turnId!).done = true;
        }
      } catch {
        // What the bus would have refused says nothing about an answer.
      }
    });
    const owed = new Map<string, UnfinishedAnswer>();
    for (const [deviceId, d] of last) {
      const a = d.seen.get(d.turnId);
      if (d.playsItself || !a || a.done || a.chunks.length === 0) continue;
      // The server keeps them in arrival order; a resent chunk is played once.
      const bySeq = new Map(a.chunks.map((c) => [c.seq, c]));
      const chunks = [...bySeq.values()].sort((x, y) => x.seq - y.seq);
      // Never said complete, and its audio stopped coming a while ago (the session died too):
      // it is played to its end, not left open, where it would hold the device's next answers.
      const lastSentMs = chunks.reduce((latest, c) => Math.max(latest, (c.sentAtUs ?? c.captureTsUs) / 1000), 0);
      const complete = a.complete || Date.now() - lastSentMs > STALLED_ANSWER_MS;
      owed.set(deviceId, { turnId: d.turnId, chunks, startedAtMs: a.startedAtMs, complete });
    }
    this.log.info({ messages: read, unfinished: owed.size }, 'answer history read');
    return owed;
  }
}

/**
 * The part of the answer not heard yet: playing started at `startedAtMs` and went on while the
 * last playback lived (`heardUntilMs`, its last lease renewal: at most a heartbeat early, so a
 * few hundred ms are heard again rather than lost). A pause meanwhile is not known here and is
 * heard again too. At least the last chunk is kept, so the answer still ends, played.
 */
export function unheardPart(answer: UnfinishedAnswer, heardUntilMs: number): { chunks: AudioChunk[]; skippedMs: number } {
  if (answer.startedAtMs === undefined) return { chunks: answer.chunks, skippedMs: 0 };
  let skipSamples = Math.max(0, Math.round(((heardUntilMs - answer.startedAtMs) / 1000) * ASSISTANT_SAMPLE_RATE));
  const total = answer.chunks.reduce((n, c) => n + c.pcm.length, 0);
  const lastLength = answer.chunks.at(-1)!.pcm.length;
  skipSamples = Math.min(skipSamples, total - lastLength);
  const skippedMs = (skipSamples / ASSISTANT_SAMPLE_RATE) * 1000;
  const chunks: AudioChunk[] = [];
  for (const c of answer.chunks) {
    if (skipSamples >= c.pcm.length) {
      skipSamples -= c.pcm.length;
      continue;
    }
    chunks.push(skipSamples > 0 ? { ...c, pcm: c.pcm.subarray(skipSamples) } : c);
    skipSamples = 0;
  }
  return { chunks, skippedMs };
}
