import { context, trace, type Span } from '@opentelemetry/api';
import { ASSISTANT_SAMPLE_RATE, makeEvent, type AudioChunk, type VoiceEvent } from '@voicebus/protocol';
import { ATTR, nowMs, nowUs, RecentSet, type VoiceMetrics } from '@voicebus/runtime';

export interface AssistantTurnTrackerOptions {
  /** Put transcript text into spans (off by default: traces are not the place for what people say). */
  traceTranscripts: boolean;
  /** Names the answers nobody asked for through a user turn (greeting, server-detected turns). */
  modelTurnPrefix: string;
  /** Attributes of every `model response` span. */
  model: string;
  strategy: string;
  /**
   * How long output is swallowed for a retired answer whose turnComplete never comes (a model
   * that breaks the protocol); normally its turnComplete ends the swallowing, however late.
   */
  retiredSwallowMaxMs: number;
}

export const ASSISTANT_TURN_TRACKER_DEFAULTS: AssistantTurnTrackerOptions = {
  traceTranscripts: false,
  modelTurnPrefix: 'm',
  model: 'unknown',
  strategy: 'immediate',
  retiredSwallowMaxMs: 15_000,
};

export interface AssistantTurnPorts {
  deviceId: string;
  publish(event: VoiceEvent): void;
  publishAudio(chunk: AudioChunk): void;
  /** An answer was closed (turnComplete, auto-complete, lost session). */
  onCompleted?(turn: AssistantTurn): void;
  /**
   * The model spoke without being asked through a turn of ours (server turn detection): the
   * user turn it answers, if the session knows one, and when that turn was decided.
   */
  claimUnaskedAnswer?(): { turnId: string; requestedAt: number | undefined } | undefined;
  metrics?: VoiceMetrics | undefined;
}

export interface AssistantTurn {
  readonly turnId: string;
  /** Wall time the user turn was handed to the model (t2), epoch ms. */
  readonly requestedAt: number;
  firstAudioAt: number | undefined;
  audioMs: number;
  seq: number;
  interrupted: boolean;
  generationComplete: boolean;
  text: string;
  readonly span: Span;
  /** A speculative answer the user never heard (they went on talking): it ends without a word. */
  withdrawn?: boolean;
}

const RECENT_INTERRUPTIONS = 64;

/**
 * The assistant side of the conversation: the answer being generated, an answer retired by a
 * newer user turn (its output is swallowed until the model closes it), which answers were
 * interrupted (at most once each), generation and turn completion, and the `model response`
 * span of each answer. It publishes the `assistant.*` and transcript events through its ports;
 * it never talks to the model.
 */
export class AssistantTurnTracker {
  readonly options: AssistantTurnTrackerOptions;
  private readonly ports: AssistantTurnPorts;
  private answer: AssistantTurn | undefined;
  private retiredAnswer: AssistantTurn | undefined;
  private readonly interruptedTurns = new RecentSet<string>(RECENT_INTERRUPTIONS);
  private modelTurns = 0;
  private userTranscript = '';
  private lastUserTurnId: string | undefined;
  private lastCompletedTurnId: string | undefined;
  /**
   * turnCompletes the model still owes for retired answers. The socket is ordered, so all it
   * sends before them belongs to those answers, whenever it arrives (a stalled model's tail).
   */
  private owedTurnCompletes = 0;
  private swallowUntil = 0;

  constructor(ports: AssistantTurnPorts, options: Partial<AssistantTurnTrackerOptions> = {}) {
    this.ports = ports;
    this.options = { ...ASSISTANT_TURN_TRACKER_DEFAULTS, ...options };
  }

  get current(): AssistantTurn | undefined {
    return this.answer;
  }

  get retired(): AssistantTurn | undefined {
    return this.retiredAnswer;
  }

  /** The model is still producing the current answer (not interrupted, generation not over). */
  get generating(): boolean {
    return this.answer !== undefined && !this.answer.interrupted && !this.answer.generationComplete;
  }

  /** The turn the latest usage report belongs to. */
  get usageTurnId(): string | undefined {
    return this.lastCompletedTurnId;
  }

  isInterrupted(turnId: string | undefined): boolean {
    return turnId !== undefined && this.interruptedTurns.has(turnId);
  }

  noteUserTurn(turnId: string): void {
    this.lastUserTurnId = turnId;
  }

  /** A user turn was handed to the model: its answer's clock starts now (t2), or at `requestedAt`. */
  begin(turnId: string, requestedAt = nowMs()): AssistantTurn {
    const span = trace.getTracer('voicebus.session').startSpan('model response', {
      attributes: { [ATTR.deviceId]: this.ports.deviceId, [ATTR.turnId]: turnId, [ATTR.model]: this.options.model, [ATTR.interruptionStrategy]: this.options.strategy },
    });
    this.answer = { turnId, requestedAt, firstAudioAt: undefined, audioMs: 0, seq: 0, interrupted: false, generationComplete: false, text: '', span };
    return this.answer;
  }

  private beginUnasked(): AssistantTurn {
    const claimed = this.ports.claimUnaskedAnswer?.();
    if (claimed) return this.begin(claimed.turnId, claimed.requestedAt);
    return this.begin(`${this.ports.deviceId}-${this.options.modelTurnPrefix}${++this.modelTurns}`);
  }

  /**
   * A newer user turn supersedes the current answer: it is over for the user, and what the
   * model still sends for it (output, interrupted, turnComplete) must not be taken for the new
   * turn's. Returns false when there was nothing to retire.
   */
  retire(): boolean {
    const a = this.answer;
    if (!a) return false;
    this.markInterrupted('local', undefined);
    this.retireAnswer(a);
    return true;
  }

  /** `a` stops being current; what the model still sends for it is swallowed until its turnComplete. */
  private retireAnswer(a: AssistantTurn): void {
    if (this.retiredAnswer) this.complete(this.retiredAnswer, true);
    this.answer = undefined;
    this.retiredAnswer = a;
    this.oweTurnComplete();
  }

  /** The model still owes a turnComplete: what it sends until then is swallowed (for a while). */
  private oweTurnComplete(): void {
    this.owedTurnCompletes++;
    this.swallowUntil = Date.now() + this.options.retiredSwallowMaxMs;
  }

  /**
   * A speculative answer is taken back because the user went on: like a retired answer its
   * late output is swallowed, but it was never heard and its user turn goes on, so it ends
   * without events (no transcript, no completion, not an interruption: the same turn's real
   * answer comes later and may be interrupted in its own right).
   */
  withdraw(turnId: string): boolean {
    const a = this.answer;
    if (!a || a.turnId !== turnId) return false;
    a.withdrawn = true;
    a.interrupted = true;
    a.span.addEvent('speculation withdrawn: the user went on');
    this.retireAnswer(a);
    return true;
  }

  /**
   * Swallows model output that belongs to the retired answer; its turnComplete closes it.
   * Returns true when the message content was consumed.
   */
  consumeRetired(content: { output: boolean; turnComplete: boolean }): boolean {
    if (this.owedTurnCompletes === 0 || !(content.output || content.turnComplete)) return false;
    if (Date.now() > this.swallowUntil) {
      // The model never closed it: what comes now is taken as the current answer's.
      this.owedTurnCompletes = 0;
      return false;
    }
    if (content.turnComplete) {
      this.owedTurnCompletes--;
      if (this.owedTurnCompletes === 0 && this.retiredAnswer) this.complete(this.retiredAnswer, false);
    }
    return true;
  }

  /**
   * The model did not close the retired answer in time: close it here (its events and span).
   * Its late output is still swallowed until the model's turnComplete for it.
   */
  closeRetired(): void {
    if (this.retiredAnswer) this.complete(this.retiredAnswer, true);
  }

  /**
   * Marks the answer interrupted: the current one when it is still running, otherwise the one
   * the user hears (`audibleTurnId`: generation over, playback not). Once per answer; returns
   * the turn id marked, or undefined when there was nothing (new) to mark.
   */
  markInterrupted(by: 'local' | 'model', audibleTurnId: string | undefined): string | undefined {
    const a = this.answer;
    const turnId = a && !a.interrupted ? a.turnId : audibleTurnId;
    if (!turnId || this.interruptedTurns.has(turnId)) return undefined;
    this.interruptedTurns.add(turnId);
    if (a && a.turnId === turnId) {
      a.interrupted = true;
      a.span.addEvent('interrupted', { by });
    }
    this.ports.metrics?.interruptions.add(1, { [ATTR.interruptionStrategy]: this.options.strategy });
    this.ports.publish(makeEvent('assistant.interrupted', { deviceId: this.ports.deviceId, turnId, by }));
    return turnId;
  }

  /** Model audio: published on audio.out with the answer's turn id, unless the answer was interrupted. */
  audio(pcm: Int16Array, sampleRate: number = ASSISTANT_SAMPLE_RATE): AssistantTurn | undefined {
    // Greeting or a server-detected turn: the model spoke first.
    const a = this.answer ?? this.beginUnasked();
    if (a.interrupted || pcm.length === 0) return undefined;
    const now = nowUs();
    if (a.firstAudioAt === undefined) {
      a.firstAudioAt = now / 1000;
      const modelFirstAudioMs = a.firstAudioAt - a.requestedAt;
      this.ports.metrics?.modelFirstAudio.record(modelFirstAudioMs);
      a.span.addEvent('first model audio', { [ATTR.modelFirstAudioMs]: modelFirstAudioMs });
      a.span.setAttribute(ATTR.modelFirstAudioMs, modelFirstAudioMs);
      this.publishUserTranscript(a);
      this.ports.publish(makeEvent('assistant.turn.start', { deviceId: this.ports.deviceId, turnId: a.turnId }));
      this.ports.publish(makeEvent('assistant.audio.first', { deviceId: this.ports.deviceId, turnId: a.turnId, requestedAt: a.requestedAt, modelFirstAudioMs }));
    }
    a.audioMs += (pcm.length / sampleRate) * 1000;
    // Audio carries the model-response span's context, linking playback to this turn's trace.
    const chunk: AudioChunk = { seq: a.seq++, captureTsUs: now, sampleRate: sampleRate as AudioChunk['sampleRate'], channels: 1, pcm, turnId: a.turnId };
    context.with(trace.setSpan(context.active(), a.span), () => this.ports.publishAudio(chunk));
    return a;
  }

  /** Output transcript text of the current answer; false when there is no answer to add it to. */
  outputText(text: string): boolean {
    const a = this.answer;
    if (!a || a.interrupted) return false;
    a.text += text;
    this.ports.publish(makeEvent('transcript', { deviceId: this.ports.deviceId, role: 'assistant', text, final: false, turnId: a.turnId }));
    return true;
  }

  /** Input transcript text: partial now, final once the model answers it (or its turn ends). */
  inputText(text: string): void {
    this.userTranscript += text;
    this.ports.publish(makeEvent('transcript', { deviceId: this.ports.deviceId, role: 'user', text, final: false, turnId: this.answer?.turnId ?? this.lastUserTurnId }));
  }

  generationComplete(): void {
    const a = this.answer;
    if (!a || a.generationComplete) return;
    a.generationComplete = true;
    this.ports.publish(makeEvent('assistant.generation.complete', { deviceId: this.ports.deviceId, turnId: a.turnId }));
  }

  /** The model closed the current answer. */
  /**
   * The model closed its turn. `waitingForInput` with nothing said: it decided the user is not
   * done (thinking models), so the user turn goes on into the next one rather than going
   * unanswered.
   */
  turnComplete(waitingForInput = false): void {
    const a = this.answer;
    if (!a) return;
    this.complete(a, false, waitingForInput && a.firstAudioAt === undefined);
  }

  /**
   * The current answer's audio stopped without turnComplete (the caller's timer says for how
   * long): close it. An answer with no audio yet is left alone. True when one was closed.
   */
  autoComplete(): boolean {
    const a = this.answer;
    // After generationComplete the model still owes turnComplete, which may come as late as the
    // answer takes to play (audio arrives faster than real time): that gap is not a stall.
    if (!a || a.firstAudioAt === undefined || a.generationComplete) return false;
    this.complete(a, true);
    // A stalled model that comes back goes on with this answer: its tail, until the model's
    // turnComplete, is swallowed, not taken for an answer of its own (a stray half sentence).
    this.oweTurnComplete();
    return true;
  }

  /**
   * The session was lost before the answer to `turnId` had any audio: it is forgotten without
   * a word (its user turn is sent again on the next session). True when it was.
   */
  abandonUnstarted(turnId: string): boolean {
    const a = this.answer;
    if (!a || a.turnId !== turnId || a.firstAudioAt !== undefined) return false;
    a.span.addEvent('session lost before the first audio: the turn is sent again');
    a.span.end();
    this.answer = undefined;
    return true;
  }

  /** The session is gone: every open answer stops here. */
  completeAll(): void {
    // A new socket owes nothing of the old one.
    this.owedTurnCompletes = 0;
    if (this.retiredAnswer) this.complete(this.retiredAnswer, true);
    if (this.answer) this.complete(this.answer, true);
  }

  /** Ends the spans without publishing anything (the actor is stopping). */
  dispose(): void {
    this.retiredAnswer?.span.end();
    this.answer?.span.end();
    this.retiredAnswer = undefined;
    this.answer = undefined;
  }

  private complete(a: AssistantTurn, autoCompleted: boolean, waitingForInput = false): void {
    if (a === this.retiredAnswer) this.retiredAnswer = undefined;
    if (a === this.answer) this.answer = undefined;
    if (a.withdrawn) {
      a.span.end();
      return;
    }
    this.lastCompletedTurnId = a.turnId;
    this.publishUserTranscript(a);
    const text = a.text.trim();
    if (text) this.ports.publish(makeEvent('transcript', { deviceId: this.ports.deviceId, role: 'assistant', text, final: true, turnId: a.turnId }));
    if (this.options.traceTranscripts && text) a.span.addEvent('assistant transcript', { text });
    this.ports.publish(makeEvent('assistant.turn.complete', { deviceId: this.ports.deviceId, turnId: a.turnId, interrupted: a.interrupted, audioMs: a.audioMs, ...(autoCompleted ? { autoCompleted } : {}), ...(waitingForInput ? { waitingForInput } : {}) }));
    a.span.setAttribute(ATTR.interrupted, a.interrupted);
    a.span.end();
    this.ports.onCompleted?.(a);
  }

  private publishUserTranscript(a: AssistantTurn): void {
    const text = this.userTranscript.trim();
    this.userTranscript = '';
    if (!text) return;
    this.ports.publish(makeEvent('transcript', { deviceId: this.ports.deviceId, role: 'user', text, final: true, turnId: a.turnId }));
    if (this.options.traceTranscripts) a.span.addEvent('user transcript', { text });
  }
}
