/// <reference lib="dom" />
// The speaker's AudioWorklet: a jitter buffer that the audio thread itself plays out.
import type { PlayoutCommand, PlayoutReport, PlayoutWorkletOptions } from './playout-messages.ts';
import { scope, type WorkletProcessor } from './worklet-scope.ts';

interface Segment {
  turnId: string;
  pcm: Float32Array;
  offset: number;
}

interface Turn {
  complete: boolean;
  started: boolean;
  queued: number;
  played: number;
  /** Of the played samples, the non-zero ones. */
  audible: number;
}

/** A pause the user hears: this long, every sample under about -36 dBFS (as the playback service). */
const PAUSE_MIN_MS = 80;
const PAUSE_PEAK = 500 / 32768;
const PROGRESS_EVERY_FRAMES = 2400;

/**
 * The same jitter buffer as the playback service's, run by the audio thread: a turn starts
 * once `targetMs` of it is buffered (or it is complete), underruns play silence and are
 * counted, and flush / pause / resume take effect at the next render quantum (128 frames,
 * about 5 ms), because they are handled here and not behind the page's main thread.
 */
class PlayoutProcessor extends scope.AudioWorkletProcessor implements WorkletProcessor {
  private readonly targetSamples: number;
  private queue: Segment[] = [];
  private readonly turns = new Map<string, Turn>();
  /**
   * Turns flushed (barge-in, a withdrawn speculation): audio for them that is still on its way
   * is dropped, as the playback service drops it, until the turn is reopened (its next pause
   * or end: a speculative answer's turn goes on and is answered again).
   */
  private readonly flushedTurns = new Set<string>();
  private playing = false;
  private playingTurn: string | undefined;
  private paused = false;
  private flushAtPause = false;
  private quietRun = 0;
  private playedTotal = 0;
  private audibleTotal = 0;
  private lastProgress = 0;
  /** Silence played in dry spells since the last report: reported every 100 ms, not every quantum. */
  private pendingSilence: { turnId: string; samples: number } | undefined;

  constructor(options: { processorOptions?: unknown }) {
    super();
    const opts = options.processorOptions as PlayoutWorkletOptions;
    this.targetSamples = Math.round((opts.targetMs / 1000) * scope.sampleRate);
    this.port.onmessage = (e: MessageEvent<PlayoutCommand>) => this.command(e.data);
  }

  private report(r: PlayoutReport): void {
    this.port.postMessage(r);
  }

  private command(c: PlayoutCommand): void {
    switch (c.type) {
      case 'audio': {
        if (this.flushedTurns.has(c.turnId)) return;
        let turn = this.turns.get(c.turnId);
        if (!turn) {
          turn = { complete: false, started: false, queued: 0, played: 0, audible: 0 };
          this.turns.set(c.turnId, turn);
        } else if (turn.complete) return; // late audio of a finished turn
        this.queue.push({ turnId: c.turnId, pcm: c.pcm, offset: 0 });
        turn.queued += c.pcm.length;
        return;
      }
      case 'complete': {
        const turn = this.turns.get(c.turnId);
        if (turn) turn.complete = true;
        return;
      }
      case 'reopen':
        this.flushedTurns.delete(c.turnId);
        return;
      case 'flush':
        if (c.at === 'pause' && this.currentTurn() !== undefined) {
          this.flushAtPause = true;
          this.quietRun = 0;
        } else {
          if (c.turnId) this.flushedTurns.add(c.turnId);
          this.flush(scope.currentFrame);
        }
        return;
      case 'pause':
        if (!this.paused) {
          this.paused = true;
          this.report({ type: 'paused', turnId: this.currentTurn(), frame: scope.currentFrame });
        }
        return;
      case 'resume':
        if (this.paused) {
          this.paused = false;
          this.report({ type: 'resumed', turnId: this.currentTurn(), frame: scope.currentFrame });
        }
        return;
    }
  }

  private currentTurn(): string | undefined {
    return this.queue[0]?.turnId ?? this.playingTurn ?? [...this.turns.keys()][0];
  }

  private flush(frame: number): void {
    const turnId = this.currentTurn();
    const droppedSamples = this.queue.reduce((n, s) => n + s.pcm.length - s.offset, 0);
    for (const id of this.turns.keys()) this.flushedTurns.add(id);
    if (this.flushedTurns.size > 64) this.flushedTurns.delete(this.flushedTurns.values().next().value!);
    const turn = turnId ? this.turns.get(turnId) : undefined;
    const playedSamples = turn?.played ?? 0;
    const audibleSamples = turn?.audible ?? 0;
    this.queue = [];
    this.turns.clear();
    this.playing = false;
    this.playingTurn = undefined;
    this.paused = false;
    this.flushAtPause = false;
    this.report({ type: 'flushed', turnId, frame, droppedSamples, playedSamples, audibleSamples });
  }

  private reportSilence(): void {
    if (this.pendingSilence) this.report({ type: 'underrun', turnId: this.pendingSilence.turnId, silenceSamples: this.pendingSilence.samples });
    this.pendingSilence = undefined;
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0]?.[0];
    if (!out) return true;
    const blockFrame = scope.currentFrame;
    let i = 0;
    let silence = 0;
    let silentTurn: string | undefined;
    while (i < out.length && !this.paused) {
      const turnId = this.queue[0]?.turnId ?? this.playingTurn;
      const turn = turnId === undefined ? undefined : this.turns.get(turnId);
      if (turnId === undefined || !turn) break;
      if (!this.playing) {
        if (!turn.started && !turn.complete && turn.queued < this.targetSamples) break;
        this.playing = true;
      }
      this.playingTurn = turnId;
      const seg = this.queue[0];
      if (seg && seg.turnId === turnId) {
        const n = Math.min(out.length - i, seg.pcm.length - seg.offset);
        if (!turn.started && n > 0) {
          turn.started = true;
          this.report({ type: 'started', turnId, frame: blockFrame + i });
        }
        for (let k = 0; k < n; k++) {
          const v = seg.pcm[seg.offset + k]!;
          out[i + k] = v;
          if (v !== 0) {
            this.audibleTotal++;
            turn.audible++;
          }
          if (this.flushAtPause) this.quietRun = Math.abs(v) < PAUSE_PEAK ? this.quietRun + 1 : 0;
        }
        seg.offset += n;
        turn.queued -= n;
        turn.played += n;
        this.playedTotal += n;
        i += n;
        if (seg.offset === seg.pcm.length) this.queue.shift();
        if (this.flushAtPause && this.quietRun >= (PAUSE_MIN_MS / 1000) * scope.sampleRate) {
          // The answer reached a pause: it stops here, where the listener hears silence anyway.
          this.flush(blockFrame + i);
          break;
        }
      } else if (turn.complete && turn.queued === 0) {
        this.turns.delete(turnId);
        this.playingTurn = undefined;
        this.playing = false;
        this.report({ type: 'finished', turnId, frame: blockFrame + i, playedSamples: turn.played, audibleSamples: turn.audible });
      } else {
        // Ran dry mid-turn: the rest of the block is silence, counted as an underrun.
        silence = out.length - i;
        silentTurn = turnId;
        if (this.flushAtPause) this.quietRun += silence;
        break;
      }
    }
    out.fill(0, i);
    if (silence > 0 && silentTurn) {
      if (this.pendingSilence?.turnId !== silentTurn) this.reportSilence();
      this.pendingSilence ??= { turnId: silentTurn, samples: 0 };
      this.pendingSilence.samples += silence;
    }
    if (blockFrame - this.lastProgress >= PROGRESS_EVERY_FRAMES) {
      this.lastProgress = blockFrame;
      this.reportSilence();
      this.report({ type: 'progress', frame: blockFrame, playedSamples: this.playedTotal, audibleSamples: this.audibleTotal });
    }
    return true;
  }
}

scope.registerProcessor('voicebus-playout', PlayoutProcessor);
