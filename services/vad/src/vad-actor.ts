import { randomBytes } from 'node:crypto';
import { context, trace, type Span } from '@opentelemetry/api';
import { CAPTURE_SAMPLE_RATE, makeEvent, type AudioChunk, type VoiceEvent } from '@voicebus/protocol';
import { ATTR, latencyAttributes, nowUs, type Actor, type ActorContext, type Bus, type VoiceMetrics } from '@voicebus/runtime';
import { BargeInArbiter, isInterruptionStrategy, type BargeInCommand, type BargeInOptions } from './barge-in-arbiter.ts';
import type { VadEngine } from './engines/vad-engine.ts';
import { SpeechDetector, type SpeechDetectorOptions, type SpeechSignal } from './speech-detector.ts';
import { TurnDetector, type TurnDetectorOptions, type TurnSignal } from './turn-detector.ts';

export type VadMessage =
  | { kind: 'audio'; chunk: AudioChunk; receivedAtUs: number }
  | { kind: 'event'; event: VoiceEvent };

export interface VadActorDeps {
  bus: Pick<Bus, 'tryPublishEvent'>;
  engine: VadEngine;
  speech: Partial<SpeechDetectorOptions>;
  turn: Partial<TurnDetectorOptions>;
  bargeIn: Partial<BargeInOptions>;
  metrics?: VoiceMetrics | undefined;
  counters: { rejected: number; gaps: number; restarts: number };
}

const wallMs = () => nowUs() / 1000;

/**
 * One device's ears: Silero on its audio, speech and turn events stamped with the audio's
 * capture time, and barge-in commands when the user talks over the assistant. It also owns
 * the root span of each user turn (from speech start to the end of the answer's playback).
 */
export class VadActor implements Actor<VadMessage> {
  private readonly deviceId: string;
  private readonly deps: VadActorDeps;
  private readonly log: ActorContext['log'];
  private readonly speech: SpeechDetector;
  private readonly turns: TurnDetector;
  private readonly arbiter: BargeInArbiter;
  private expectedSeq: number | undefined;
  private readonly turnSpans = new Map<string, Span>();
  private model: string | undefined;

  constructor(ctx: ActorContext, deps: VadActorDeps) {
    this.deviceId = ctx.deviceId;
    this.log = ctx.log;
    this.deps = deps;
    this.speech = new SpeechDetector(deps.engine, deps.speech);
    // A short random part keeps turn ids unique across restarts of this service.
    const prefix = `${ctx.deviceId}-${randomBytes(2).toString('hex')}`;
    let n = 0;
    this.turns = new TurnDetector(() => `${prefix}-${++n}`, deps.turn);
    this.arbiter = new BargeInArbiter(deps.bargeIn);
  }

  async handle(message: VadMessage): Promise<void> {
    if (message.kind === 'audio') await this.onAudio(message.chunk, message.receivedAtUs);
    else this.onEvent(message.event);
  }

  private async onAudio(chunk: AudioChunk, receivedAtUs: number): Promise<void> {
    if (chunk.channels !== 1) {
      this.deps.counters.rejected++;
      this.log.warn({ channels: chunk.channels }, 'rejected audio: the VAD takes mono');
      return;
    }
    if (chunk.sentAtUs) this.deps.metrics?.busTransit.record((receivedAtUs - chunk.sentAtUs) / 1000, { 'voicebus.hop': 'capture-vad' });
    if (this.expectedSeq !== undefined) {
      if (chunk.seq === 0 && this.expectedSeq > 0) {
        // Capture restarted: a fresh stream. Close what was open and start clean.
        this.deps.counters.restarts++;
        this.log.warn({ lastSeq: this.expectedSeq - 1 }, 'capture restarted (sequence back to 0): resetting VAD state');
        this.endOfStream(chunk.captureTsUs);
        this.speech.reset();
      } else if (chunk.seq < this.expectedSeq) {
        this.log.warn({ seq: chunk.seq, expected: this.expectedSeq }, 'dropped a late or duplicate chunk');
        return;
      } else if (chunk.seq > this.expectedSeq) {
        this.deps.counters.gaps++;
        this.log.warn({ missing: chunk.seq - this.expectedSeq, from: this.expectedSeq }, 'gap in audio sequence');
      }
    }
    this.expectedSeq = chunk.seq + 1;
    const signals = await this.speech.push(chunk.pcm, chunk.captureTsUs, chunk.sampleRate);
    this.onSpeechSignals(signals);
  }

  private onSpeechSignals(signals: SpeechSignal[]): void {
    for (const s of signals) {
      switch (s.type) {
        case 'onset':
          this.command(this.arbiter.onSpeechOnset(s.atUs));
          break;
        case 'confirmed':
          this.publish(makeEvent('speech.start', { deviceId: this.deviceId, speechStartUs: s.speechStartUs, decidedAt: wallMs(), inferenceMs: s.inferenceMs }));
          this.command(this.arbiter.onSpeechConfirmed());
          break;
        case 'voiced':
          this.command(this.arbiter.onSpeechContinues(s.atUs));
          break;
        case 'end':
          this.publish(makeEvent('speech.end', { deviceId: this.deviceId, speechStartUs: s.speechStartUs, speechEndUs: s.speechEndUs, decidedAt: wallMs(), inferenceMs: s.inferenceMs }));
          this.command(this.arbiter.onSpeechStopped());
          break;
        case 'misfire':
          this.command(this.arbiter.onSpeechStopped());
          break;
        default:
          break;
      }
    }
    this.onTurnSignals(this.turns.onSignals(signals));
  }

  private onTurnSignals(signals: TurnSignal[]): void {
    for (const t of signals) {
      if (t.type === 'turn.start') {
        const span = trace.getTracer('voicebus.vad').startSpan('user turn', {
          startTime: t.speechStartUs / 1000,
          attributes: { [ATTR.deviceId]: this.deviceId, [ATTR.turnId]: t.turnId },
        });
        this.turnSpans.set(t.turnId, span);
        this.deps.metrics?.turns.add(1);
        this.withTurn(t.turnId, () => this.publish(makeEvent('turn.start', {
          deviceId: this.deviceId,
          turnId: t.turnId,
          speechStartUs: t.speechStartUs,
          decidedAt: wallMs(),
          duringAssistant: this.arbiter.assistantAudible,
        })));
      } else {
        const decidedAt = wallMs();
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
        if (isInterruptionStrategy(event.interruption)) this.arbiter.strategy = event.interruption;
        this.model = event.model;
        break;
      case 'playback.started':
      case 'playback.finished':
      case 'playback.flushed':
      case 'playback.paused':
      case 'playback.resumed':
        this.arbiter.onPlayback(event);
        // The latency report follows the end of playback; wait a moment for its attributes.
        if ((event.type === 'playback.finished' || event.type === 'playback.flushed') && event.turnId) {
          const turnId = event.turnId;
          const why = event.type;
          setTimeout(() => this.endTurnSpan(turnId, why), 1000).unref();
        }
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
    span.setAttribute(ATTR.interruptionStrategy, this.arbiter.strategy);
    if (this.model) span.setAttribute(ATTR.model, this.model);
    span.end();
    this.turnSpans.delete(turnId);
  }

  private withTurn(turnId: string, fn: () => void): void {
    const span = this.turnSpans.get(turnId);
    if (span) context.with(trace.setSpan(context.active(), span), fn);
    else fn();
  }

  private command(commands: BargeInCommand[]): void {
    for (const c of commands) {
      const turnId = c.turnId;
      const byTurnId = this.turns.openTurnId;
      if (c.type === 'control.interrupt') {
        this.log.info({ turnId, strategy: c.strategy }, 'barge-in: interrupting the assistant');
        this.publish(makeEvent('control.interrupt', { deviceId: this.deviceId, turnId, byTurnId, strategy: c.strategy }));
      } else if (c.type === 'control.pause') {
        this.publish(makeEvent('control.pause', { deviceId: this.deviceId, turnId }));
      } else {
        this.publish(makeEvent('control.resume', { deviceId: this.deviceId, turnId }));
      }
    }
  }

  private publish(event: VoiceEvent): void {
    this.deps.bus.tryPublishEvent(event, this.log);
  }

  stop(): void {
    for (const span of this.turnSpans.values()) span.end();
    this.turnSpans.clear();
    this.speech.close();
  }
}

export { CAPTURE_SAMPLE_RATE };
