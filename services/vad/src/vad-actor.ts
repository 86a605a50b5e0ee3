import { randomBytes } from 'node:crypto';
import { context, trace, type Span } from '@opentelemetry/api';
import { makeEvent, type AudioChunk, type VoiceEvent } from '@voicebus/protocol';
import { ATTR, AudioGaps, latencyAttributes, nowMs, type Actor, type ActorContext, type AudioHistory, type Bus, publishStraight, type DevicePublisher, type VoiceMetrics } from '@voicebus/runtime';
import type { VadEngine } from './engines/vad-engine.ts';
import { SpeechFacts, type SpeechFact, type SpeechFactsOptions } from './speech-facts.ts';
import type { TurnHistory } from './turn-history.ts';
import { SpeechDetector, type SpeechDetectorOptions, type SpeechSignal } from './speech-detector.ts';
import { TurnDetector, type TurnDetectorOptions, type TurnSignal } from './turn-detector.ts';

export type VadMessage =
  | { kind: 'audio'; chunk: AudioChunk; receivedAtUs: number }
  | { kind: 'event'; event: VoiceEvent };

export interface VadActorDeps {
  bus: Pick<Bus, 'publishAudio' | 'tryPublishEvent'>;
  /**
   * The device's events held over a NATS outage (DeviceOutbox, its turns stored in
   * VOICEBUS_TURNS): a turn the mailbox's backlog ends while the bus is away is said after it.
   * None: published straight to the bus.
   */
  outbox?: ((deviceId: string) => DevicePublisher) | undefined;
  engine: VadEngine;
  speech: Partial<SpeechDetectorOptions>;
  turn: Partial<TurnDetectorOptions>;
  facts: Partial<SpeechFactsOptions>;
  metrics?: VoiceMetrics | undefined;
  counters: { rejected: number; gaps: number; restarts: number; gapChunksFilled: number };
  /** The server's recent turn events (TurnHistory): none, and a turn begun before this actor is lost. */
  turnHistory?: Pick<TurnHistory, 'state'> | undefined;
  /** The server's recent microphone audio (AudioHistory, the session's): what nobody listened to is heard late. */
  audioHistory?: Pick<AudioHistory, 'between' | 'missing'> | undefined;
}

/** How long the root span of a turn waits for its latency report once the answer stopped. */
const LATENCY_REPORT_WAIT_MS = 1000;
const SPAN_TIMER = 'end turn span:';
/** Turns of one device whose spans may be open at once (a turn, the ones whose answers still play). */
const TURN_SPANS_KEPT = 8;

/**
 * One device's ears: Silero on its audio, and facts about the user's voice (onset, confirmed
 * speech, sustained speech, end) and turns, stamped with the audio's capture time. It decides
 * nothing about the assistant: the session owns barge-in. It also owns the root span of each
 * user turn (from speech start to the end of the answer's playback).
 */
/** A sequence jump beyond this many chunks (5 s of 20 ms chunks) needs the next chunk to confirm it. */
const MAX_SEQ_JUMP = 250;
/** How far back a vad that starts on a running device hears the audio nobody listened to. */
const REPLAY_MAX_MS = 10_000;

export class VadActor implements Actor<VadMessage> {
  private readonly deviceId: string;
  private readonly deps: VadActorDeps;
  private readonly log: ActorContext['log'];
  private readonly speech: SpeechDetector;
  private readonly turns: TurnDetector;
  private readonly facts: SpeechFacts;
  private readonly ctx: ActorContext<VadMessage>;
  private readonly out: DevicePublisher;
  private expectedSeq: number | undefined;
  /** A far jump of the sequence waits for this next number before it is believed. */
  private jumpConfirmsAt: number | undefined;
  private loggedLate = false;
  /** A chunk numbered 0 in the middle of a run: a restart once the next chunk is 1. */
  private restartHeld: AudioChunk | undefined;
  private loggedFalseRestart = false;
  private historyRead = false;
  /** The last chunk heard, and what a gap after it left out (read back from the history). */
  private readonly gaps: AudioGaps;
  /** While audio nobody listened to is heard late (see recover). */
  private replay: { startedTurn: Extract<TurnSignal, { type: 'turn.start' }> | undefined } | undefined;
  private readonly turnSpans = new Map<string, Span>();
  /** How the device's session runs (model, barge-in), copied onto each turn's root span as labels. */
  private sessionLabels: Record<string, string> = {};
  /** From playback's `assistant.audible`: whether the user hears the assistant now, and which answer. */
  private assistantAudible = false;
  private audibleTurnId: string | undefined;
  /** The session's standing order for a speech onset while the assistant is audible. */
  private onsetReflex: 'interrupt' | 'none' = 'none';
  /** The answer the reflex already stopped (once per answer). */
  private reflexedTurnId: string | undefined;

  constructor(ctx: ActorContext<VadMessage>, deps: VadActorDeps) {
    this.ctx = ctx;
    this.deviceId = ctx.deviceId;
    this.log = ctx.log;
    this.deps = deps;
    this.out = deps.outbox?.(ctx.deviceId) ?? publishStraight(deps.bus, ctx.deviceId);
    this.speech = new SpeechDetector(deps.engine, deps.speech);
    // A short random part keeps turn ids unique across restarts of this service.
    const prefix = `${ctx.deviceId}-${randomBytes(2).toString('hex')}`;
    let n = 0;
    this.turns = new TurnDetector(() => `${prefix}-${++n}`, deps.turn);
    this.facts = new SpeechFacts(deps.facts);
    this.gaps = new AudioGaps(ctx.deviceId, deps.audioHistory, {}, () => ctx.droppedAudio());
  }

  async handle(message: VadMessage): Promise<void> {
    if (message.kind === 'audio') await this.onAudio(message.chunk, message.receivedAtUs);
    else this.onEvent(message.event);
  }

  private async onAudio(chunk: AudioChunk, receivedAtUs: number): Promise<void> {
    // The device's audio began before this actor (seq > 0): a vad before it may have left a
    // turn open, or missed one (see recover).
    if (!this.historyRead) {
      this.historyRead = true;
      if (chunk.seq > 0) await this.recover(chunk.captureTsUs);
    }
    if (chunk.channels !== 1) {
      this.deps.counters.rejected++;
      this.log.warn({ channels: chunk.channels }, 'rejected audio: the VAD takes mono');
      return;
    }
    if (chunk.sentAtUs) this.deps.metrics?.busTransit.record((receivedAtUs - chunk.sentAtUs) / 1000, { 'voicebus.hop': 'capture-vad' });
    const held = this.restartHeld;
    if (held) {
      this.restartHeld = undefined;
      if (chunk.seq === 1) {
        // Capture restarted: a fresh stream. Close what was open and start clean.
        this.deps.counters.restarts++;
        this.log.warn({ lastSeq: (this.expectedSeq ?? 1) - 1 }, 'capture restarted (sequence back to 0): resetting VAD state');
        this.endOfStream(held.captureTsUs);
        this.speech.reset();
        await this.accept(held);
      } else {
        this.deps.counters.rejected++;
        if (!this.loggedFalseRestart) this.log.warn({ seq: chunk.seq }, 'a chunk numbered 0 in the middle of a run was not followed by 1: dropped, the run goes on (logged once, counted)');
        this.loggedFalseRestart = true;
      }
    }
    if (this.expectedSeq !== undefined) {
      if (chunk.seq === 0 && this.expectedSeq > 0) {
        // A restart is believed once the next chunk follows it (held for one chunk, 20 ms):
        // one forged or replayed chunk numbered 0 must not cut the user's turn in two.
        this.restartHeld = chunk;
        return;
      } else if (chunk.seq < this.expectedSeq) {
        this.deps.counters.rejected++;
        if (!this.loggedLate) this.log.warn({ seq: chunk.seq, expected: this.expectedSeq }, 'dropped a late or duplicate chunk (logged once, counted)');
        this.loggedLate = true;
        return;
      } else if (chunk.seq > this.expectedSeq + MAX_SEQ_JUMP && this.jumpConfirmsAt !== chunk.seq) {
        // A jump this far ahead is believed once the next chunk follows it: one forged or
        // corrupt sequence number must not make every later chunk look late (a deaf device).
        this.jumpConfirmsAt = chunk.seq + 1;
        this.deps.counters.rejected++;
        this.log.warn({ seq: chunk.seq, expected: this.expectedSeq }, 'sequence jumped far ahead: waiting for the next chunk to confirm it');
        return;
      } else if (chunk.seq > this.expectedSeq) {
        this.deps.counters.gaps++;
        const from = this.expectedSeq;
        // A gap this actor's own mailbox made (it fell behind) is the mailbox's to log, once a
        // second: a line per gap here was 331 warnings in two minutes of an overloaded soak.
        const shed = this.gaps.shedSinceHeard;
        const filled = await this.fillGap(chunk);
        if (!shed) this.log.warn({ missing: chunk.seq - from, from, filled }, filled > 0 ? 'gap in audio sequence: the missing audio read back from the history and heard late' : 'gap in audio sequence');
      }
    }
    await this.accept(chunk);
  }

  /**
   * This actor starts on a device whose audio began before it: a vad before it may have died
   * in the middle of a turn, or between turns while the user spoke. The turn history says
   * where the turns stood; a turn left open is adopted (it ends under its own id), and the
   * audio nobody listened to since (at most REPLAY_MAX_MS, from the server's audio history) is
   * heard now, fast: a turn that ended in it is published as its `turn.end` alone (the session
   * reads such a turn's audio back itself), one still going on gets its `turn.start` once the
   * replay is done. Speech facts of the past are not published: nobody can act on them.
   */
  private async recover(liveUs: number): Promise<void> {
    let state;
    try {
      state = await this.deps.turnHistory?.state(this.deviceId);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'turn history unreadable: a turn in progress, if any, is lost');
      return;
    }
    if (!state) return;
    let fromUs = liveUs - REPLAY_MAX_MS * 1000;
    if (state.open) {
      this.turns.adopt(state.open.turnId, state.open.speechStartUs, liveUs);
      this.log.info({ turnId: state.open.turnId, speechStartUs: state.open.speechStartUs }, 'a user turn was open when this vad started: going on with it');
      fromUs = Math.max(fromUs, state.open.speechStartUs);
    } else if (state.lastEndUs !== undefined) {
      // The vad before this one decided everything up to the end of the last turn's silence.
      fromUs = Math.max(fromUs, state.lastEndUs + this.turns.endOfTurnSilenceMs * 1000);
    }
    if (fromUs >= liveUs || !this.deps.audioHistory) return;
    let missed: AudioChunk[];
    try {
      missed = await this.deps.audioHistory.between(this.deviceId, fromUs, liveUs);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'audio history unreadable: what was said while no vad listened is not heard');
      return;
    }
    await this.hearLate(missed);
    this.log.info({ chunks: missed.length, fromUs, adopted: state.open?.turnId }, 'heard the audio no vad listened to');
  }

  /**
   * Chunks this actor did not get live (a NATS outage, a node's loss: its subscription came
   * back after the device's audio went on), read back from the audio history and heard late,
   * before `next`. Returns how many.
   */
  private async fillGap(next: AudioChunk): Promise<number> {
    const missed = await this.gaps.missingBefore(next, this.log);
    await this.hearLate(missed);
    this.deps.counters.gapChunksFilled += missed.length;
    return missed.length;
  }

  /**
   * Audio of the past, heard fast: its speech facts are not published (nobody can act on them
   * now), a turn that ended in it is published as its `turn.end` alone (the session reads such
   * a turn's audio back itself), one still going on gets its `turn.start` once all is heard.
   */
  private async hearLate(chunks: AudioChunk[]): Promise<void> {
    this.replay = { startedTurn: undefined };
    try {
      for (const chunk of chunks) await this.accept(chunk);
    } finally {
      const started = this.replay.startedTurn;
      this.replay = undefined;
      if (started && this.turns.openTurnId === started.turnId) this.onTurnSignals([started]);
    }
  }

  private async accept(chunk: AudioChunk): Promise<void> {
    this.gaps.heard(chunk);
    this.expectedSeq = chunk.seq + 1;
    this.jumpConfirmsAt = undefined;
    const signals = await this.speech.push(chunk.pcm, chunk.captureTsUs, chunk.sampleRate);
    this.onSpeechSignals(signals);
  }

  private onSpeechSignals(signals: SpeechSignal[]): void {
    for (const fact of this.facts.from(signals)) if (!this.replay) this.publishFact(fact);
    this.onTurnSignals(this.turns.onSignals(signals));
  }

  private publishFact(fact: SpeechFact): void {
    const decidedAt = nowMs();
    const d = this.deviceId;
    switch (fact.type) {
      case 'speech.onset':
        this.reflex();
        return this.publish(makeEvent('speech.onset', { deviceId: d, atUs: fact.atUs, decidedAt }));
      case 'speech.misfire':
        return this.publish(makeEvent('speech.misfire', { deviceId: d, atUs: fact.atUs, decidedAt }));
      case 'speech.start':
        return this.publish(makeEvent('speech.start', { deviceId: d, speechStartUs: fact.speechStartUs, decidedAt, inferenceMs: fact.inferenceMs }));
      case 'speech.sustained':
        return this.publish(makeEvent('speech.sustained', { deviceId: d, speechStartUs: fact.speechStartUs, atUs: fact.atUs, sustainedMs: fact.sustainedMs, decidedAt }));
      case 'speech.end':
        return this.publish(makeEvent('speech.end', { deviceId: d, speechStartUs: fact.speechStartUs, speechEndUs: fact.speechEndUs, decidedAt, inferenceMs: fact.inferenceMs }));
    }
  }

  private onTurnSignals(signals: TurnSignal[]): void {
    for (const t of signals) {
      if (this.replay && t.type !== 'turn.end') {
        // Heard late: a start waits for the replay's end (published if the turn still goes on);
        // a pause or a resume in the past says nothing now.
        if (t.type === 'turn.start') this.replay.startedTurn = t;
        continue;
      }
      if (t.type === 'turn.start') {
        const span = trace.getTracer('voicebus.vad').startSpan('user turn', {
          startTime: t.speechStartUs / 1000,
          attributes: { [ATTR.deviceId]: this.deviceId, [ATTR.turnId]: t.turnId },
        });
        this.turnSpans.set(t.turnId, span);
        // A turn whose answer never reported (the session died, its report went by) ends here,
        // so a long conversation does not keep a span per such turn.
        if (this.turnSpans.size > TURN_SPANS_KEPT) this.endTurnSpan(this.turnSpans.keys().next().value!, 'superseded');
        this.deps.metrics?.turns.add(1);
        this.withTurn(t.turnId, () => this.publish(makeEvent('turn.start', {
          deviceId: this.deviceId,
          turnId: t.turnId,
          speechStartUs: t.speechStartUs,
          decidedAt: nowMs(),
          duringAssistant: this.assistantAudible,
        })));
      } else if (t.type === 'turn.pause') {
        this.withTurn(t.turnId, () => this.publish(makeEvent('turn.pause', {
          deviceId: this.deviceId,
          turnId: t.turnId,
          speechEndUs: t.speechEndUs,
          silenceMs: t.silenceMs,
          decidedAt: nowMs(),
        })));
      } else if (t.type === 'turn.resume') {
        this.withTurn(t.turnId, () => this.publish(makeEvent('turn.resume', { deviceId: this.deviceId, turnId: t.turnId, atUs: t.atUs, decidedAt: nowMs() })));
      } else {
        const decidedAt = nowMs();
        const endOfTurnDelayMs = decidedAt - t.speechEndUs / 1000;
        this.deps.metrics?.endOfTurnDelay.record(endOfTurnDelayMs);
        this.withTurn(t.turnId, () => {
          // Endpointing: from the last voiced audio to the decision that the turn is over.
          trace.getTracer('voicebus.vad').startSpan('endpointing', {
            startTime: t.speechEndUs / 1000,
            attributes: { [ATTR.deviceId]: this.deviceId, [ATTR.turnId]: t.turnId, [ATTR.endOfTurnDelayMs]: endOfTurnDelayMs },
          }).end(decidedAt);
          this.publish(makeEvent('turn.end', {
            deviceId: this.deviceId,
            turnId: t.turnId,
            speechStartUs: t.speechStartUs,
            speechEndUs: t.speechEndUs,
            speechEndSource: t.speechEndSource,
            decidedAt,
            endOfTurnDelayMs,
            reason: t.reason,
          }));
        });
      }
    }
  }

  private onEvent(event: VoiceEvent): void {
    switch (event.type) {
      case 'session.opened':
        this.sessionLabels = { [ATTR.model]: event.model, [ATTR.interruptionStrategy]: event.interruption };
        this.onsetReflex = event.onsetReflex ?? 'none';
        break;
      case 'assistant.audible':
        this.assistantAudible = event.audible;
        this.audibleTurnId = event.audible ? event.turnId : undefined;
        // The answer is over (finished or flushed): its latency report follows; wait a moment for it.
        if (!event.audible && !event.paused && event.turnId && this.turnSpans.has(event.turnId)) this.ctx.schedule(`${SPAN_TIMER}${event.turnId}`, LATENCY_REPORT_WAIT_MS);
        break;
      case 'user.turn.dropped':
        // No answer and no latency report follow: the turn's span ends here.
        this.endTurnSpan(event.turnId, `user.turn.dropped:${event.reason}`);
        break;
      case 'turn.latency': {
        const span = this.turnSpans.get(event.turnId);
        span?.setAttributes({ ...latencyAttributes(event), [ATTR.interrupted]: event.interrupted });
        this.endTurnSpan(event.turnId, 'turn.latency');
        break;
      }
      case 'device.ended':
        this.endOfStream(event.lastCaptureTsUs);
        break;
      default:
        break;
    }
  }

  /**
   * The session's fast command at a speech onset while the answer is audible, sent before the
   * onset itself so the session sees it first (one publisher: NATS keeps the order).
   */
  private reflex(): void {
    if (this.onsetReflex !== 'interrupt' || !this.assistantAudible || !this.audibleTurnId || this.reflexedTurnId === this.audibleTurnId) return;
    this.reflexedTurnId = this.audibleTurnId;
    this.publish(makeEvent('control.interrupt', { deviceId: this.deviceId, turnId: this.audibleTurnId, byTurnId: this.turns.openTurnId, reason: 'speech onset (vad reflex)' }));
  }

  onTimer(name: string): void {
    if (name.startsWith(SPAN_TIMER)) this.endTurnSpan(name.slice(SPAN_TIMER.length), 'assistant.audible');
  }

  private endOfStream(atUs: number): void {
    const signals = this.speech.finish(atUs);
    this.onSpeechSignals(signals);
    this.onTurnSignals(this.turns.finish(undefined));
    this.expectedSeq = undefined;
  }

  private endTurnSpan(turnId: string, why: string): void {
    const span = this.turnSpans.get(turnId);
    if (!span) return;
    span.setAttribute('voicebus.turn.ended_by', why);
    span.setAttributes(this.sessionLabels);
    span.end();
    this.turnSpans.delete(turnId);
  }

  private withTurn(turnId: string, fn: () => void): void {
    const span = this.turnSpans.get(turnId);
    if (span) context.with(trace.setSpan(context.active(), span), fn);
    else fn();
  }

  private publish(event: VoiceEvent): void {
    this.out.tryPublishEvent(event, this.log);
  }

  stop(): void {
    for (const span of this.turnSpans.values()) span.end();
    this.turnSpans.clear();
    this.speech.close();
    this.out.close();
  }
}

