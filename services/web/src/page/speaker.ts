/// <reference lib="dom" />
import { ASSISTANT_SAMPLE_RATE, type AudioChunk } from '@voicebus/protocol';
import { framePresentedAtMs, readAudioClock } from './audio-clock.ts';
import { nowMs } from './page-clock.ts';
import type { PlayoutCommand, PlayoutReport } from './playout-messages.ts';
import { Resampler } from './resampler.ts';

/** What the speaker reports, with wall-clock times (epoch ms) at which samples reach the speaker. */
export interface SpeakerListener {
  started(turnId: string, playedAt: number, bufferMs: number): void;
  finished(turnId: string, playedMs: number, at: number): void;
  flushed(turnId: string | undefined, droppedMs: number, at: number): void;
  underrun(turnId: string, silenceMs: number): void;
  paused(turnId: string | undefined, at: number): void;
  resumed(turnId: string | undefined, at: number): void;
}

export interface SpeakerOptions {
  /** Jitter buffer target, as the playback service's (60 ms). */
  targetMs: number;
}

export const SPEAKER_DEFAULTS: SpeakerOptions = { targetMs: 60 };

/** The page's own record of what it played, for people and tests (window.voicebus). */
export interface PlayoutRecord {
  /** Assistant samples the worklet handed to the speaker, at the assistant's rate. */
  playedSamples: number;
  /** Of those, the non-zero ones. */
  audibleSamples: number;
  turns: Record<string, TurnPlayout>;
}

/**
 * One turn's audio in the page. The counts add up over everything the turn's turn id brought,
 * a flushed answer and the one after it alike (a speculative answer that was withdrawn and the
 * answer that replaced it): received = played + dropped, and played is what was heard.
 */
export interface TurnPlayout {
  /** The turn's first audio (of its first answer, if a flush dropped one). */
  receivedAt: number;
  receivedSamples: number;
  startedAt?: number;
  stoppedAt?: number;
  playedSamples?: number;
  /** Of the played samples, the non-zero ones (the simulator counts the same in each answer). */
  audibleSamples?: number;
  /** Received samples a flush dropped before they were played. */
  droppedSamples?: number;
  flushed?: boolean;
  /** When the page told the worklet to flush (the command's arrival, on the main thread): stoppedAt − this is the page's part of a barge-in. */
  flushRequestedAt?: number;
  /** Its answer was played to the end. */
  finished?: boolean;
}

/**
 * The speaker: the assistant's 24 kHz audio through the playout worklet (the jitter buffer, in
 * the audio thread) to WebAudio's destination. Times come from the audio clock:
 * `getOutputTimestamp()` maps a context frame to the moment it is presented to the output
 * device, which is the time the audio really left for the speaker.
 */
export class Speaker {
  readonly options: SpeakerOptions;
  readonly record: PlayoutRecord = { playedSamples: 0, audibleSamples: 0, turns: {} };
  private readonly context: AudioContext;
  private readonly node: AudioWorkletNode;
  private readonly listener: SpeakerListener;
  private readonly upsampler: Resampler | undefined;
  private readonly ratio: number;
  /**
   * When the answer now buffered for each turn began to arrive: the start of its buffering, for
   * `bufferMs`. A flush forgets it, so an answer after a withdrawn speculative one counts from
   * its own first audio, not from audio nobody heard.
   */
  private readonly answerSince = new Map<string, number>();
  private flushAtPause = false;
  private flushRequestedAt: number | undefined;

  private constructor(context: AudioContext, node: AudioWorkletNode, listener: SpeakerListener, options: SpeakerOptions) {
    this.context = context;
    this.node = node;
    this.listener = listener;
    this.options = options;
    // Chromium honours a 24 kHz context; anywhere else the page converts the rate itself.
    this.upsampler = context.sampleRate === ASSISTANT_SAMPLE_RATE ? undefined : new Resampler(ASSISTANT_SAMPLE_RATE, context.sampleRate);
    this.ratio = ASSISTANT_SAMPLE_RATE / context.sampleRate;
    node.port.onmessage = (e: MessageEvent<PlayoutReport>) => this.onReport(e.data);
  }

  static async open(listener: SpeakerListener, options: Partial<SpeakerOptions> = {}): Promise<Speaker> {
    const opts = { ...SPEAKER_DEFAULTS, ...options };
    let context: AudioContext;
    try {
      context = new AudioContext({ sampleRate: ASSISTANT_SAMPLE_RATE, latencyHint: 'interactive' });
    } catch {
      context = new AudioContext({ latencyHint: 'interactive' });
    }
    await context.audioWorklet.addModule('playout-worklet.js');
    const node = new AudioWorkletNode(context, 'voicebus-playout', { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1], processorOptions: { targetMs: opts.targetMs } });
    node.connect(context.destination);
    await context.resume();
    return new Speaker(context, node, listener, opts);
  }

  get running(): boolean {
    return this.context.state === 'running';
  }

  play(chunk: AudioChunk, turnId: string): void {
    const now = nowMs();
    const turn = (this.record.turns[turnId] ??= { receivedAt: now, receivedSamples: 0 });
    turn.receivedSamples += chunk.pcm.length;
    if (!this.answerSince.has(turnId)) this.answerSince.set(turnId, now);
    const f = new Float32Array(chunk.pcm.length);
    for (let i = 0; i < f.length; i++) f[i] = chunk.pcm[i]! / 32768;
    const pcm = this.upsampler ? this.upsampler.push(f) : f;
    this.send({ type: 'audio', turnId, pcm }, [pcm.buffer]);
  }

  complete(turnId: string): void {
    this.send({ type: 'complete', turnId });
  }

  /** Stops the answer (`turnId`, when the command names it); its audio still on the way is dropped until `reopen`. */
  flush(at: 'now' | 'pause' = 'now', turnId?: string): void {
    // The worklet takes commands in order: audio sent after a flush now is the next answer's.
    if (at === 'now') this.answerSince.clear();
    else this.flushAtPause = true;
    this.flushRequestedAt = nowMs();
    this.send({ type: 'flush', at, turnId });
  }

  /** The turn goes on (its next pause or end): a new answer for it plays. */
  reopen(turnId: string): void {
    this.send({ type: 'reopen', turnId });
  }

  pause(): void {
    this.send({ type: 'pause' });
  }

  resume(): void {
    this.send({ type: 'resume' });
  }

  async close(): Promise<void> {
    this.node.port.onmessage = null;
    await this.context.close().catch(() => {});
  }

  private send(command: PlayoutCommand, transfer: Transferable[] = []): void {
    this.node.port.postMessage(command, transfer);
  }

  /** Wall-clock epoch ms at which context frame `frame` is presented to the output device. */
  frameToEpochMs(frame: number): number {
    return framePresentedAtMs(readAudioClock(this.context), frame);
  }

  private toMs(samples: number): number {
    return ((samples * this.ratio) / ASSISTANT_SAMPLE_RATE) * 1000;
  }

  private addPlayed(turn: TurnPlayout, stoppedAt: number, played: number, audible: number, dropped: number): void {
    turn.stoppedAt = stoppedAt;
    turn.playedSamples = (turn.playedSamples ?? 0) + Math.round(played * this.ratio);
    turn.audibleSamples = (turn.audibleSamples ?? 0) + Math.round(audible * this.ratio);
    turn.droppedSamples = (turn.droppedSamples ?? 0) + Math.round(dropped * this.ratio);
  }

  private onReport(r: PlayoutReport): void {
    switch (r.type) {
      case 'started': {
        const at = this.frameToEpochMs(r.frame);
        const turn = (this.record.turns[r.turnId] ??= { receivedAt: at, receivedSamples: 0 });
        turn.startedAt = at;
        this.listener.started(r.turnId, at, Math.max(0, at - (this.answerSince.get(r.turnId) ?? turn.receivedAt)));
        return;
      }
      case 'finished': {
        const at = this.frameToEpochMs(r.frame);
        const turn = this.record.turns[r.turnId];
        if (turn) {
          this.addPlayed(turn, at, r.playedSamples, r.audibleSamples, 0);
          turn.finished = true;
        }
        this.answerSince.delete(r.turnId);
        this.listener.finished(r.turnId, this.toMs(r.playedSamples), at);
        return;
      }
      case 'flushed': {
        const at = this.frameToEpochMs(r.frame);
        // A flush at the next pause took effect only now, in the audio thread.
        if (this.flushAtPause) this.answerSince.clear();
        this.flushAtPause = false;
        const turn = r.turnId ? this.record.turns[r.turnId] : undefined;
        if (turn) {
          this.addPlayed(turn, at, r.playedSamples, r.audibleSamples, r.droppedSamples);
          turn.flushed = true;
          turn.flushRequestedAt = this.flushRequestedAt;
        }
        this.listener.flushed(r.turnId, this.toMs(r.droppedSamples), at);
        return;
      }
      case 'underrun':
        this.listener.underrun(r.turnId, this.toMs(r.silenceSamples));
        return;
      case 'paused':
        this.listener.paused(r.turnId, this.frameToEpochMs(r.frame));
        return;
      case 'resumed':
        this.listener.resumed(r.turnId, this.frameToEpochMs(r.frame));
        return;
      case 'progress':
        this.record.playedSamples = Math.round(r.playedSamples * this.ratio);
        this.record.audibleSamples = Math.round(r.audibleSamples * this.ratio);
        return;
    }
  }
}
