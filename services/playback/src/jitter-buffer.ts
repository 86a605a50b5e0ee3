import { ASSISTANT_SAMPLE_RATE, DEFAULT_CHUNK_MS } from '@voicebus/protocol';
import { systemPlayoutClock, type PlayoutClock } from './playout-clock.ts';

export interface JitterBufferOptions {
  /** Audio buffered before a turn starts playing. */
  targetMs: number;
  /** Playout frame: the sink receives audio in frames of this length. */
  frameMs: number;
  sampleRate: number;
  clock: PlayoutClock;
}

export const JITTER_BUFFER_DEFAULTS: JitterBufferOptions = {
  targetMs: 60,
  frameMs: DEFAULT_CHUNK_MS,
  sampleRate: ASSISTANT_SAMPLE_RATE,
  clock: systemPlayoutClock,
};

export interface JitterBufferListener {
  /** A frame to hand to the sink, heard at `playedAtUs` (epoch µs on the playout clock). */
  frame(pcm: Int16Array, playedAtUs: number, turnId: string): void;
  /** First audible sample of a turn reached the sink. */
  started(turnId: string, playedAtUs: number, firstReceivedAtUs: number): void;
  /** The turn's audio, marked complete, has all been played. */
  finished(turnId: string, playedMs: number): void;
  /**
   * The turn's audio ran out before it was complete and silence was played instead: once per
   * dry spell, with all of its silence, when it ends (audio again, the turn's end, a flush or
   * a pause), as a browser's worklet reports it. One a frame was 50 a second of a stalled model.
   */
  underrun(turnId: string, silenceMs: number): void;
}

interface Segment {
  turnId: string;
  pcm: Int16Array;
  offset: number;
}

interface TurnState {
  complete: boolean;
  started: boolean;
  firstReceivedAtUs: number;
  playedSamples: number;
  queuedSamples: number;
}

/**
 * Holds assistant audio just long enough to play it smoothly. A turn starts once `targetMs`
 * of it is buffered (or it is complete), then frames go to the sink on a steady clock with
 * absolute deadlines. If audio runs out before the turn is complete, silence is played and
 * counted. `flush()` drops everything at once (barge-in); `pause()` / `resume()` keep it.
 */
export class JitterBuffer {
  readonly options: JitterBufferOptions;
  private readonly listener: JitterBufferListener;
  private queue: Segment[] = [];
  private readonly turns = new Map<string, TurnState>();
  private cancelTimer: (() => void) | undefined;
  private playing = false;
  private playingTurn: string | undefined;
  private paused = false;
  private nextDeadlineMs = 0;
  private lastFrameEndMs = 0;
  private baseMonoMs = 0;
  private baseEpochUs = 0;
  /** Frames played as silence because the turn ran dry. */
  underruns = 0;
  /** The dry spell going on: its turn and the silence played in it so far. */
  private drySpell: { turnId: string; silenceMs: number } | undefined;

  constructor(listener: JitterBufferListener, options: Partial<JitterBufferOptions> = {}) {
    this.listener = listener;
    this.options = { ...JITTER_BUFFER_DEFAULTS, ...options };
  }

  private get frameSamples(): number {
    return Math.round((this.options.sampleRate * this.options.frameMs) / 1000);
  }

  get bufferedMs(): number {
    return (this.queue.reduce((n, s) => n + s.pcm.length - s.offset, 0) / this.options.sampleRate) * 1000;
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  /** The turn whose audio is at the head of the buffer (playing or about to). */
  get currentTurnId(): string | undefined {
    return this.queue[0]?.turnId ?? [...this.turns.keys()][0];
  }

  push(turnId: string, pcm: Int16Array): void {
    if (pcm.length === 0) return;
    let turn = this.turns.get(turnId);
    if (!turn) {
      turn = { complete: false, started: false, firstReceivedAtUs: this.options.clock.epochUs(), playedSamples: 0, queuedSamples: 0 };
      this.turns.set(turnId, turn);
    } else if (turn.complete) {
      return; // audio after the turn was declared complete is late and dropped
    }
    this.queue.push({ turnId, pcm, offset: 0 });
    turn.queuedSamples += pcm.length;
    this.maybeStart();
  }

  /** No more audio will come for `turnId`. */
  complete(turnId: string): void {
    const turn = this.turns.get(turnId);
    if (!turn) return;
    turn.complete = true;
    this.maybeStart();
    // Everything of it has already gone to the sink: it is finished now.
    if (turn.queuedSamples === 0 && turn.started) {
      this.finish(turnId);
      if (this.queue.length === 0) this.stop();
    }
  }

  /** Drops everything buffered; returns the turn that was playing and how much was dropped. */
  flush(): { turnId: string | undefined; droppedMs: number } {
    const turnId = this.currentTurnId;
    const droppedMs = this.bufferedMs;
    this.queue = [];
    this.turns.clear();
    this.playingTurn = undefined;
    this.stop();
    this.paused = false;
    return { turnId, droppedMs };
  }

  pause(): void {
    this.paused = true;
    this.stop();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.maybeStart();
  }

  close(): void {
    this.stop();
  }

  private stop(): void {
    this.endDrySpell();
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.playing = false;
  }

  private maybeStart(): void {
    if (this.playing || this.paused || this.queue.length === 0) return;
    const head = this.turns.get(this.queue[0]!.turnId)!;
    const queuedMs = (head.queuedSamples / this.options.sampleRate) * 1000;
    // Resuming a turn that already started does not wait for the target again.
    if (!head.started && !head.complete && queuedMs < this.options.targetMs) return;
    this.playing = true;
    const { clock } = this.options;
    this.baseMonoMs = clock.monotonicMs();
    this.baseEpochUs = clock.epochUs();
    // Never start before the previous frame has finished playing.
    this.nextDeadlineMs = Math.max(this.baseMonoMs, this.lastFrameEndMs);
    if (this.nextDeadlineMs > this.baseMonoMs) this.schedule();
    else this.tick();
  }

  private schedule(): void {
    this.cancelTimer = this.options.clock.at(this.nextDeadlineMs, () => this.tick());
  }

  private tick(): void {
    if (!this.playing) return;
    // The turn being played stays current while it runs dry, so the gap is an underrun.
    const turnId = this.queue[0]?.turnId ?? this.playingTurn;
    const turn = turnId === undefined ? undefined : this.turns.get(turnId);
    if (turnId === undefined || !turn) {
      this.stop();
      return;
    }
    this.playingTurn = turnId;
    const frame = this.take(turnId);
    const playedAtUs = this.baseEpochUs + Math.round((this.nextDeadlineMs - this.baseMonoMs) * 1000);
    let emitted: Int16Array;
    if (frame.length === this.frameSamples || (turn.complete && frame.length > 0)) {
      emitted = frame;
      this.endDrySpell();
    } else {
      // Ran dry mid-turn: play what there is, then silence up to a whole frame.
      emitted = new Int16Array(this.frameSamples);
      emitted.set(frame);
      this.underruns++;
      if (this.drySpell?.turnId !== turnId) this.endDrySpell();
      this.drySpell ??= { turnId, silenceMs: 0 };
      this.drySpell.silenceMs += ((this.frameSamples - frame.length) / this.options.sampleRate) * 1000;
    }
    if (!turn.started && frame.length > 0) {
      turn.started = true;
      this.listener.started(turnId, playedAtUs, turn.firstReceivedAtUs);
    }
    turn.playedSamples += emitted.length;
    this.listener.frame(emitted, playedAtUs, turnId);
    this.nextDeadlineMs += (emitted.length / this.options.sampleRate) * 1000;
    this.lastFrameEndMs = this.nextDeadlineMs;
    if (turn.complete && turn.queuedSamples === 0) {
      this.finish(turnId);
      if (this.queue.length === 0) {
        this.stop();
        return;
      }
      // The next turn waits for its own target before it starts.
      const nextHead = this.turns.get(this.queue[0]!.turnId)!;
      if (!nextHead.started && !nextHead.complete && (nextHead.queuedSamples / this.options.sampleRate) * 1000 < this.options.targetMs) {
        this.stop();
        return;
      }
    }
    if (this.playing) this.schedule();
  }

  private take(turnId: string): Int16Array {
    const out = new Int16Array(this.frameSamples);
    let filled = 0;
    const turn = this.turns.get(turnId)!;
    while (filled < out.length && this.queue[0]?.turnId === turnId) {
      const seg = this.queue[0]!;
      const n = Math.min(out.length - filled, seg.pcm.length - seg.offset);
      out.set(seg.pcm.subarray(seg.offset, seg.offset + n), filled);
      seg.offset += n;
      filled += n;
      turn.queuedSamples -= n;
      if (seg.offset === seg.pcm.length) this.queue.shift();
    }
    return filled === out.length ? out : out.subarray(0, filled);
  }

  private endDrySpell(): void {
    const spell = this.drySpell;
    this.drySpell = undefined;
    if (spell) this.listener.underrun(spell.turnId, spell.silenceMs);
  }

  private finish(turnId: string): void {
    const turn = this.turns.get(turnId);
    if (!turn) return;
    if (this.drySpell?.turnId === turnId) this.endDrySpell();
    this.turns.delete(turnId);
    if (this.playingTurn === turnId) this.playingTurn = undefined;
    this.listener.finished(turnId, (turn.playedSamples / this.options.sampleRate) * 1000);
  }
}
