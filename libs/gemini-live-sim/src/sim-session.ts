import type { WebSocket } from 'ws';
import { ActivityDetector, type VadEvent } from './activity-detector.ts';
import { Answering } from './answering.ts';
import { InputTranscriber } from './input-transcript.ts';
import { resolveBehaviour, type SimBehaviour } from './options.ts';
import { CLOSE_CODES, SimProtocolError } from './protocol-errors.ts';
import { HandleStore, type ConversationState } from './resumption.ts';
import { isLiveModel, modelNotSupported, validateSetupFields } from './setup-validation.ts';
import type { Json } from './session-wire.ts';

export type { SimBehaviour } from './options.ts';
export type { ConversationState } from './resumption.ts';
export type { SimSessionEvents } from './session-wire.ts';

/** The default preset's behaviour (kept under its old name). */
export const SIM_BEHAVIOUR_DEFAULTS: SimBehaviour = resolveBehaviour();

/**
 * One client connection speaking BidiGenerateContent. It answers every user turn with speech
 * saying what it heard ("You spoke for 2.4 seconds. This is answer number 3."), as the
 * behaviour says (simple or realistic), and can be interrupted, told to go away, dropped or
 * stalled by a test. This file is the input side: setup, realtime input, turn detection,
 * text turns and the connection's limits; answering.ts is the model side.
 */
export class SimSession extends Answering {
  resumedFrom: string | undefined;
  /** The setupComplete.sessionId, when the behaviour sends one. */
  sessionId: string | undefined;
  private manual = false;
  private inputRate = 16000;
  private detector: ActivityDetector | undefined;
  /** Manual mode: inside activityStart..activityEnd, and the speech in it. */
  private inActivity = false;
  private manualSpeechMs = 0;
  /** Speech of utterances a thinking model waited on, added to the next answer. */
  private carriedSpeechMs = 0;
  private transcriber: InputTranscriber | undefined;
  private userTurns = 0;
  private lastUpdateAt = 0;

  constructor(ws: WebSocket, apiVersion: string, behaviour: SimBehaviour, handles: HandleStore | Map<string, ConversationState>) {
    super(ws, apiVersion, behaviour, handles instanceof HandleStore ? handles : new HandleStore());
  }

  get automaticActivityDetection(): boolean {
    return !this.manual;
  }

  protected openTurn(): ConversationState['openTurn'] {
    if (this.manual) return this.inActivity ? { speaking: true, speechMs: this.manualSpeechMs } : undefined;
    return this.detector?.speaking ? { speaking: true, speechMs: this.detector.speechMs } : undefined;
  }

  protected dispatch(msg: Json): void {
    if (!this.setup) {
      if (!msg.setup) throw new SimProtocolError(CLOSE_CODES.invalidPayload, 'The first message must be setup.');
      this.onSetup(msg.setup as Json);
      return;
    }
    if (msg.setup) throw new SimProtocolError(CLOSE_CODES.invalidPayload, 'setup may only be sent once.');
    if (msg.realtimeInput) this.onRealtimeInput(msg.realtimeInput as Json);
    else if (msg.clientContent) this.onClientContent(msg.clientContent as Json);
    else if (msg.toolResponse) this.onToolResponse(msg.toolResponse as Json);
    else throw new SimProtocolError(CLOSE_CODES.invalidPayload, `Unknown message: ${Object.keys(msg).join(',')}`);
    this.maybePeriodicUpdate();
  }

  private onSetup(setup: Json): void {
    const b = this.behaviour;
    const model = setup.model;
    if (typeof model !== 'string' || !model.startsWith('models/')) {
      throw new SimProtocolError(CLOSE_CODES.invalidPayload, 'setup.model must be "models/<name>".');
    }
    if (b.validateSetup) validateSetupFields(setup);
    if (/not-?found|invalid|bogus/i.test(model) || (b.requireLiveModel && !isLiveModel(model))) throw modelNotSupported(model, this.apiVersion);
    const resumption = setup.sessionResumption as Json | undefined;
    if (resumption?.handle) {
      const saved = this.handles.take(String(resumption.handle));
      if (saved === 'unknown') throw new SimProtocolError(CLOSE_CODES.invalidPayload, 'Invalid session resumption handle.');
      if (saved === 'expired') throw new SimProtocolError(CLOSE_CODES.policy, 'Session resumption handle has expired.');
      this.state = saved;
      this.resumedFrom = String(resumption.handle);
    }
    this.state.startedAt ??= Date.now();
    this.setup = setup;
    const ric = setup.realtimeInputConfig as Json | undefined;
    const aad = ric?.automaticActivityDetection as Json | undefined;
    this.manual = aad?.disabled === true;
    this.detector = new ActivityDetector({
      mode: b.vad,
      energyThreshold: b.energyThreshold,
      minSpeechMs: b.minSpeechMs,
      silenceMs: b.silenceMs,
      prefixPaddingMs: b.prefixPaddingMs,
      setupSilenceMs: aad?.silenceDurationMs === undefined ? undefined : Number(aad.silenceDurationMs),
      setupPrefixPaddingMs: aad?.prefixPaddingMs === undefined ? undefined : Number(aad.prefixPaddingMs),
      startSensitivity: aad?.startOfSpeechSensitivity as string | undefined,
      endSensitivity: aad?.endOfSpeechSensitivity as string | undefined,
    });
    // Transparent resumption continues a user turn that was open when the handle was made.
    const open = this.state.openTurn;
    if (open) {
      if (this.manual) [this.inActivity, this.manualSpeechMs] = [open.speaking, open.speechMs];
      else this.detector.restore(open.speaking, open.speechMs);
    }
    this.sessionId = b.sessionIds ? `sim-${this.id}-${Date.now().toString(36)}` : undefined;
    this.send({ setupComplete: this.sessionId ? { sessionId: this.sessionId } : {} });
    this.armLimits();
  }

  /**
   * A connection lasts about 10 minutes: goAway{timeLeft} first, then the close. An audio
   * session lasts 15 minutes (across resumed connections) unless the setup asks for context
   * window compression (Session management with Live API: "Session lifetime").
   */
  private armLimits(): void {
    const b = this.behaviour;
    if (b.maxConnectionMs > 0) this.after(b.maxConnectionMs, () => this.goAway(Math.min(10_000, b.maxConnectionMs / 10)));
    if (b.connectionLimitMs > 0) {
      const timeLeft = Math.min(b.goAwayTimeLeftMs, b.connectionLimitMs);
      this.after(b.connectionLimitMs - timeLeft, () => this.goAway(timeLeft));
    }
    if (b.audioSessionLimitMs > 0 && !this.setup?.contextWindowCompression) {
      this.after(this.state.startedAt! + b.audioSessionLimitMs - Date.now(), () => this.closeWith(CLOSE_CODES.internal, 'Deadline expired before operation could complete.'));
    }
  }

  /** Between turns, a fresh handle every `resumptionUpdateIntervalMs` while input arrives. */
  private maybePeriodicUpdate(): void {
    const every = this.behaviour.resumptionUpdateIntervalMs;
    if (every <= 0 || !this.setup?.sessionResumption || this.answer || this.pendingCalls.size > 0) return;
    if (Date.now() - this.lastUpdateAt < every) return;
    this.lastUpdateAt = Date.now();
    this.sendResumptionUpdate();
  }

  private onRealtimeInput(input: Json): void {
    if (input.activityStart !== undefined || input.activityEnd !== undefined) {
      if (!this.manual) {
        throw new SimProtocolError(CLOSE_CODES.invalidPayload, 'Explicit activity control is not supported when automatic activity detection is enabled.');
      }
    }
    if (input.activityStart !== undefined) {
      if (this.answer && this.interruptible) this.interrupt();
      this.inActivity = true;
      this.manualSpeechMs = 0;
      this.emit('speech-started', { source: 'activity' });
      this.transcriber = undefined;
    }
    const blobs = [input.audio, ...((input.mediaChunks as Json[] | undefined) ?? [])].filter(Boolean) as Json[];
    for (const blob of blobs) this.onAudio(blob);
    if (input.activityEnd !== undefined) {
      if (this.inActivity) this.endUserTurn(this.manualSpeechMs);
      this.inActivity = false;
    }
    if (input.audioStreamEnd && !this.manual && this.detector) this.onVad(this.detector.streamEnd());
    if (typeof input.text === 'string' && input.text) this.userText(input.text);
  }

  private onAudio(blob: Json): void {
    const mime = blob.mimeType;
    if (typeof mime !== 'string' || !mime.startsWith('audio/pcm')) {
      throw new SimProtocolError(CLOSE_CODES.invalidPayload, 'Request contains an invalid argument: audio needs mimeType "audio/pcm;rate=N".');
    }
    this.checkAudioDuringCall();
    const rate = Number(/rate=(\d+)/.exec(mime)?.[1] ?? 16000);
    this.inputRate = rate > 0 ? rate : 16000;
    const bytes = Buffer.from(String(blob.data ?? ''), 'base64');
    const pcm = new Int16Array(bytes.length >> 1);
    Buffer.from(pcm.buffer).set(bytes.subarray(0, pcm.length * 2));
    const ms = (pcm.length / this.inputRate) * 1000;
    this.userAudioMs += ms;
    if (this.manual) {
      if (this.inActivity) {
        this.manualSpeechMs += ms;
        this.partialTranscript(this.manualSpeechMs);
      }
      return;
    }
    this.onVad(this.detector!.push(pcm, this.inputRate));
    if (this.detector!.speaking) this.partialTranscript(this.detector!.speechMs);
  }

  private onVad(events: VadEvent[]): void {
    for (const e of events) {
      if (this.behaviour.voiceActivityEvents) {
        this.send({ voiceActivity: { voiceActivityType: e.type === 'start' ? 'ACTIVITY_START' : 'ACTIVITY_END', audioOffset: `${(e.offsetMs / 1000).toFixed(3)}s` } });
      }
      if (e.type === 'start') {
        this.emit('speech-started', { source: 'detector' });
        this.transcriber = undefined;
        if (this.answer && this.interruptible) this.interrupt();
      } else this.endUserTurn(e.speechMs);
    }
  }

  private turnTranscriber(): InputTranscriber {
    const fixtures = this.behaviour.userTranscripts;
    const text = fixtures.length ? fixtures[Math.min(this.userTurns, fixtures.length - 1)] : undefined;
    return (this.transcriber ??= new InputTranscriber(text, this.rng));
  }

  /** Incremental input transcription while the user speaks. */
  private partialTranscript(speechMs: number): void {
    if (!this.setup?.inputAudioTranscription || !this.behaviour.incrementalInputTranscript) return;
    const text = this.turnTranscriber().during(speechMs);
    if (text) this.send({ serverContent: { inputTranscription: { text } } });
  }

  private onClientContent(content: Json): void {
    const turns = (content.turns as { role?: string; parts?: { text?: string }[] }[] | undefined) ?? [];
    const text = turns.flatMap((t) => (t.parts ?? []).map((p) => p.text ?? '')).join(' ').trim();
    if (text) this.state.history.push({ role: 'user', text });
    if (content.turnComplete !== false) this.userText(text, false);
  }

  private userText(text: string, record = true): void {
    if (record && text) this.state.history.push({ role: 'user', text });
    this.whenFree(() => {
      this.emit('turn-ended', { turn: this.state.turns + 1, userSpeechMs: 0, source: 'text' });
      // A greeting gets an introduction; any other text is echoed, so tests can tell turns apart.
      const first = /introduce yourself/i.test(text) ? 'Hello! I am the voicebus simulator.' : text ? `You said: ${text.slice(0, 80).replace(/[.!?]+$/, '')}.` : 'Hello!';
      void this.respond(first, text);
    });
  }

  private endUserTurn(speechMs: number): void {
    const b = this.behaviour;
    const heardText = `[user speech ${(speechMs / 1000).toFixed(1)} s]`;
    if (this.setup?.inputAudioTranscription) {
      const text = b.incrementalInputTranscript ? this.turnTranscriber().end(speechMs) : heardText;
      if (text) this.send({ serverContent: { inputTranscription: { text } } });
    }
    this.transcriber = undefined;
    this.userTurns++;
    this.state.history.push({ role: 'user', text: heardText });
    // A thinking model may decide the user is not done: turnComplete without an answer.
    if (this.thinking && speechMs < b.waitForInputBelowMs && !this.answer) {
      this.carriedSpeechMs += speechMs;
      this.send({ serverContent: this.turnCompleteFields({ turnComplete: true, waitingForInput: true, turnCompleteReason: 'NEED_MORE_INPUT' }) });
      return;
    }
    const total = speechMs + this.carriedSpeechMs;
    this.carriedSpeechMs = 0;
    this.whenFree(() => {
      this.emit('turn-ended', { turn: this.state.turns + 1, userSpeechMs: total, source: 'audio' });
      void this.respond(`You spoke for ${(total / 1000).toFixed(1)} seconds.`, '');
    });
  }
}
