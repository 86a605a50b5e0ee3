import { context, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { LiveServerMessage } from '@google/genai';
import { ASSISTANT_SAMPLE_RATE, makeEvent, type AudioChunk, type VoiceEvent } from '@voicebus/protocol';
import { ATTR, nowUs, type Actor, type ActorContext, type Bus, type VoiceMetrics } from '@voicebus/runtime';
import { GeminiConnection, type GeminiEndpoint, type LiveSettings } from './gemini-connection.ts';
import type { ToolRegistry } from './tool-handlers.ts';

export const INTERRUPTION_STRATEGIES = ['immediate', 'pause', 'deferred', 'ignore'] as const;
export type InterruptionStrategy = (typeof INTERRUPTION_STRATEGIES)[number];

export type SessionMessage =
  | { kind: 'audio'; chunk: AudioChunk }
  | { kind: 'event'; event: VoiceEvent }
  | { kind: 'model'; connection: GeminiConnection; message: LiveServerMessage }
  | { kind: 'closed'; connection: GeminiConnection; code: number; reason: string }
  | { kind: 'timer'; name: 'reconnect' | 'watchdog' | 'auto-complete' | 'inactivity' | 'go-away' };

export interface SessionOptions {
  interruption: InterruptionStrategy;
  greeting: string | undefined;
  /** Complete a model turn that stops sending without turnComplete after this long (0 = off). */
  autoCompleteMs: number;
  /** No server message this long after a user turn ended: reconnect. */
  watchdogMs: number;
  /** End the session after this long without user speech after the last answer (0 = never). */
  inactivityMs: number;
  /** Audio before the user's first voiced sample that is sent too (pre-roll). */
  preRollMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** Put transcript text into spans (off by default: traces are not the place for what people say). */
  traceTranscripts: boolean;
}

export const SESSION_DEFAULTS: SessionOptions = {
  interruption: 'immediate',
  greeting: undefined,
  autoCompleteMs: 3000,
  watchdogMs: 15_000,
  inactivityMs: 30_000,
  preRollMs: 300,
  reconnectBaseMs: 250,
  reconnectMaxMs: 10_000,
  traceTranscripts: false,
};

export interface SessionDeps {
  bus: Pick<Bus, 'publishEvent' | 'publishAudio'>;
  endpoint: GeminiEndpoint;
  live: LiveSettings;
  options: SessionOptions;
  tools: ToolRegistry;
  /** Puts a message in this device's own mailbox (model messages, timers). */
  deliver: (message: SessionMessage) => void;
  metrics?: VoiceMetrics | undefined;
  /** Resumption handles kept across actor restarts. */
  handles: Map<string, string>;
  /** And across instances (failover): NATS KV. */
  handleStore?: { load(deviceId: string): Promise<string | undefined>; save(deviceId: string, handle: string): void; remove(deviceId: string): void } | undefined;
}

interface UserTurn {
  turnId: string;
  speechStartUs: number;
  /** Chunks of this turn not yet sent (a held turn keeps them here). */
  pending: AudioChunk[];
  ended: boolean;
  sent: boolean;
}

interface AssistantTurn {
  turnId: string;
  requestedAt: number;
  firstAudioAt: number | undefined;
  audioMs: number;
  seq: number;
  interrupted: boolean;
  /** An interruption was asked for this turn (one per assistant turn). */
  interruptionHandled: boolean;
  deferredInterrupt: boolean;
  generationComplete: boolean;
  text: string;
  span: Span | undefined;
}

const RING_MS = 2000;

/**
 * One device's conversation with Gemini Live. It opens the session on the device's first
 * sign of life, turns the VAD's turns into activityStart/activityEnd with the turn's audio,
 * relays the model's audio and transcripts, applies the interruption strategy, and keeps the
 * session alive across goAway, dropped sockets and silent servers. See docs/architecture.md.
 */
export class SessionActor implements Actor<SessionMessage> {
  private readonly deviceId: string;
  private readonly log: ActorContext['log'];
  private readonly deps: SessionDeps;
  private readonly opts: SessionOptions;
  private conn: GeminiConnection | undefined;
  private opening = false;
  private greeted = false;
  private configError: { at: number; code: number } | undefined;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private autoCompleteTimer: NodeJS.Timeout | undefined;
  private inactivityTimer: NodeJS.Timeout | undefined;
  private goAwayPending = false;
  private stopped = false;
  /** Recent audio, so the speech the VAD needed to confirm a turn is not lost. */
  private ring: AudioChunk[] = [];
  private current: UserTurn | undefined;
  private held: UserTurn | undefined;
  private assistant: AssistantTurn | undefined;
  private audibleTurn: string | undefined;
  private serverTurnCounter = 0;
  private userTranscript = '';
  private lastUserTurnId: string | undefined;
  private lastModelAudioAt = 0;

  constructor(ctx: ActorContext, deps: SessionDeps) {
    this.deviceId = ctx.deviceId;
    this.log = ctx.log;
    this.deps = deps;
    this.opts = deps.options;
  }

  private get local(): boolean {
    return this.deps.live.turnDetection === 'local';
  }

  /** The assistant is "active" from its first output until the user has heard all of it. */
  private get assistantActive(): boolean {
    return (this.assistant !== undefined && !this.assistant.interrupted) || this.audibleTurn !== undefined;
  }

  async handle(message: SessionMessage): Promise<void> {
    switch (message.kind) {
      case 'audio':
        return this.onAudio(message.chunk);
      case 'event':
        return this.onEvent(message.event);
      case 'model':
        if (message.connection === this.conn) await this.onModel(message.message);
        return;
      case 'closed':
        if (message.connection === this.conn) this.onClosed(message.code, message.reason);
        return;
      case 'timer':
        return this.onTimer(message.name);
    }
  }

  // ---------- input side ----------

  private async onAudio(chunk: AudioChunk): Promise<void> {
    if (chunk.channels !== 1) return;
    this.ring.push(chunk);
    const cutoff = chunk.captureTsUs - RING_MS * 1000;
    while (this.ring.length && this.ring[0]!.captureTsUs < cutoff) this.ring.shift();
    await this.ensureOpen();
    if (!this.local) {
      this.conn?.sendAudio(chunk.pcm, chunk.sampleRate);
      return;
    }
    if (this.current && !this.current.ended) this.conn?.sendAudio(chunk.pcm, chunk.sampleRate);
    else if (this.held && !this.held.ended) this.held.pending.push(chunk);
  }

  private async onEvent(event: VoiceEvent): Promise<void> {
    switch (event.type) {
      case 'device.announced':
        await this.ensureOpen();
        break;
      case 'turn.start':
        if (!this.local) break;
        this.armInactivity();
        await this.ensureOpen();
        this.onTurnStart(event.turnId, event.speechStartUs);
        break;
      case 'turn.end':
        if (!this.local) break;
        this.onTurnEnd(event.turnId);
        break;
      case 'control.interrupt':
        this.onInterrupt();
        break;
      case 'control.resume':
        if (this.held && this.opts.interruption === 'pause') {
          // A blip: the user did not really take the turn. Drop it and let the answer go on.
          this.log.info({ turnId: this.held.turnId }, 'false interruption: discarding the held user turn');
          this.deps.bus.publishEvent(makeEvent('user.turn.dropped', { deviceId: this.deviceId, turnId: this.held.turnId, reason: 'false-interruption' }));
          this.held = undefined;
        }
        break;
      case 'playback.started':
        this.audibleTurn = event.turnId;
        break;
      case 'playback.finished':
      case 'playback.flushed':
        if (!event.turnId || event.turnId === this.audibleTurn) this.audibleTurn = undefined;
        this.armInactivity();
        if (this.assistant?.deferredInterrupt) this.executeInterruption('assistant stopped speaking');
        this.releaseHeldIfFree();
        break;
      default:
        break;
    }
  }

  private onTurnStart(turnId: string, speechStartUs: number): void {
    const turn: UserTurn = { turnId, speechStartUs, pending: this.ringFrom(speechStartUs - this.opts.preRollMs * 1000), ended: false, sent: false };
    this.lastUserTurnId = turnId;
    if (this.assistantActive && this.opts.interruption !== 'immediate') {
      // pause / deferred / ignore: the model is not interrupted yet; keep the user's audio.
      this.held = turn;
      this.log.info({ turnId, strategy: this.opts.interruption }, 'user turn held while the assistant speaks');
      return;
    }
    if (this.assistantActive) this.markInterrupted('local');
    this.sendTurn(turn);
  }

  private onTurnEnd(turnId: string): void {
    if (this.current?.turnId === turnId && !this.current.ended) {
      this.current.ended = true;
      this.conn?.activityEnd();
      this.beginAssistant(turnId);
    } else if (this.held?.turnId === turnId) {
      this.held.ended = true;
    }
  }

  private sendTurn(turn: UserTurn): void {
    if (!this.conn) {
      this.log.warn({ turnId: turn.turnId }, 'no live session for this user turn; it is lost');
      this.deps.bus.publishEvent(makeEvent('user.turn.dropped', { deviceId: this.deviceId, turnId: turn.turnId, reason: 'no-session' }));
      return;
    }
    // An answer still in progress is over for the user; the model will close it with
    // interrupted + turnComplete, which must not be taken for the new turn's.
    if (this.assistant) this.retire(this.assistant);
    this.current = turn;
    turn.sent = true;
    this.conn.activityStart();
    for (const chunk of turn.pending) this.conn.sendAudio(chunk.pcm, chunk.sampleRate);
    turn.pending = [];
    if (turn.ended) {
      this.conn.activityEnd();
      this.beginAssistant(turn.turnId);
    }
  }

  private ringFrom(fromUs: number): AudioChunk[] {
    return this.ring.filter((c) => c.captureTsUs + (c.pcm.length / c.sampleRate) * 1e6 > fromUs);
  }

  /** A user turn has been handed to the model: the answer's clock starts now (t2). */
  private beginAssistant(turnId: string): void {
    const tracer = trace.getTracer('voicebus.session');
    const span = tracer.startSpan('model response', {
      attributes: {
        [ATTR.deviceId]: this.deviceId,
        [ATTR.turnId]: turnId,
        [ATTR.model]: this.deps.live.model,
        [ATTR.interruptionStrategy]: this.opts.interruption,
      },
    });
    this.assistant = {
      turnId,
      requestedAt: nowUs() / 1000,
      firstAudioAt: undefined,
      audioMs: 0,
      seq: 0,
      interrupted: false,
      interruptionHandled: false,
      deferredInterrupt: false,
      generationComplete: false,
      text: '',
      span,
    };
    this.armWatchdog();
  }

  // ---------- interruption ----------

  private onInterrupt(): void {
    const a = this.assistant;
    if (a?.interruptionHandled && !this.held) return;
    if (this.audibleTurn && this.interruptedTurns.has(this.audibleTurn) && !this.held) return;
    switch (this.opts.interruption) {
      case 'ignore':
        return;
      case 'deferred':
        if (a && !a.interrupted) {
          a.interruptionHandled = true;
          a.deferredInterrupt = true;
          this.log.info({ turnId: a.turnId }, 'interruption deferred to the next sentence boundary');
        } else if (this.audibleTurn) {
          // The model finished generating; what remains is playback: stop at once.
          this.executeInterruption('assistant already done generating');
        }
        return;
      default:
        // immediate and pause: take effect now.
        this.markInterrupted('local');
        if (this.held) {
          const held = this.held;
          this.held = undefined;
          this.sendTurn(held);
        }
    }
  }

  /** Deferred strategy: the boundary has come (or the assistant stopped): interrupt now. */
  private executeInterruption(why: string): void {
    this.log.info({ why }, 'deferred interruption takes effect');
    if (this.assistant) this.assistant.deferredInterrupt = false;
    this.markInterrupted('local');
    this.deps.bus.publishEvent(makeEvent('control.flush', { deviceId: this.deviceId, turnId: this.audibleTurn ?? this.assistant?.turnId, reason: 'deferred interruption' }));
    if (this.held) {
      const held = this.held;
      this.held = undefined;
      this.sendTurn(held);
    }
  }

  private markInterrupted(by: 'local' | 'model'): void {
    const a = this.assistant;
    // The model may have finished generating while the user still hears the answer: then
    // the interruption is of the audible turn, and only playback has something to stop.
    const turnId = a && !a.interrupted ? a.turnId : this.audibleTurn;
    if (!turnId || this.interruptedTurns.has(turnId)) return;
    this.interruptedTurns.add(turnId);
    if (this.interruptedTurns.size > 64) this.interruptedTurns.delete(this.interruptedTurns.values().next().value!);
    if (a && a.turnId === turnId) {
      a.interrupted = true;
      a.interruptionHandled = true;
      a.span?.addEvent('interrupted', { by });
    }
    this.deps.metrics?.interruptions.add(1, { [ATTR.interruptionStrategy]: this.opts.interruption });
    this.deps.bus.publishEvent(makeEvent('assistant.interrupted', { deviceId: this.deviceId, turnId, by }));
  }

  private readonly interruptedTurns = new Set<string>();

  /** `ignore` (and a deferred turn whose moment passed) sends the held turn once the assistant is done. */
  private releaseHeldIfFree(): void {
    if (!this.held || this.assistantActive) return;
    if (this.opts.interruption === 'pause') return; // pause waits for interrupt/resume
    const held = this.held;
    this.held = undefined;
    this.sendTurn(held);
  }

  // ---------- model side ----------

  private async onModel(m: LiveServerMessage): Promise<void> {
    clearTimeout(this.watchdogTimer);
    const sc = m.serverContent;
    if (this.closing && sc && (sc.modelTurn || sc.outputTranscription || sc.interrupted || sc.generationComplete || sc.turnComplete)) {
      // Output of the retired answer: dropped, until the model closes it.
      if (sc.turnComplete) {
        clearTimeout(this.closingTimer);
        this.completeAssistant(this.closing, false);
      }
      return;
    }
    if (sc?.inputTranscription?.text) {
      this.userTranscript += sc.inputTranscription.text;
      this.deps.bus.publishEvent(makeEvent('transcript', { deviceId: this.deviceId, role: 'user', text: sc.inputTranscription.text, final: false, turnId: this.assistant?.turnId ?? this.lastUserTurnId }));
    }
    for (const part of sc?.modelTurn?.parts ?? []) {
      const data = part.inlineData?.data;
      if (!data || !part.inlineData?.mimeType?.startsWith('audio/pcm')) continue;
      this.onModelAudio(data, part.inlineData.mimeType);
    }
    if (sc?.outputTranscription?.text) this.onOutputText(sc.outputTranscription.text);
    if (sc?.interrupted) {
      this.markInterrupted('model');
      // In server mode the model decides about barge-in; playback must hear of it.
      if (!this.local) this.deps.bus.publishEvent(makeEvent('control.flush', { deviceId: this.deviceId, turnId: this.assistant?.turnId, reason: 'model interrupted' }));
    }
    if (sc?.generationComplete && this.assistant) {
      this.assistant.generationComplete = true;
      this.deps.bus.publishEvent(makeEvent('assistant.generation.complete', { deviceId: this.deviceId, turnId: this.assistant.turnId }));
    }
    if (sc?.turnComplete && this.assistant) this.completeAssistant(this.assistant, false);
    if (m.usageMetadata) {
      const u = m.usageMetadata;
      this.deps.bus.publishEvent(makeEvent('usage', {
        deviceId: this.deviceId,
        turnId: this.lastAssistantTurnId,
        promptTokens: u.promptTokenCount,
        responseTokens: u.responseTokenCount,
        totalTokens: u.totalTokenCount,
      }));
    }
    if (m.sessionResumptionUpdate?.resumable && m.sessionResumptionUpdate.newHandle) {
      this.deps.handles.set(this.deviceId, m.sessionResumptionUpdate.newHandle);
      this.deps.handleStore?.save(this.deviceId, m.sessionResumptionUpdate.newHandle);
    }
    if (m.goAway) this.onGoAway(m.goAway.timeLeft);
    if (m.toolCall?.functionCalls?.length) await this.onToolCall(m.toolCall.functionCalls);
  }

  private lastAssistantTurnId: string | undefined;
  /** An interrupted answer waiting for the model's turnComplete. */
  private closing: AssistantTurn | undefined;
  private closingTimer: NodeJS.Timeout | undefined;

  private retire(a: AssistantTurn): void {
    this.markInterrupted('local');
    if (this.closing) this.completeAssistant(this.closing, true);
    this.assistant = undefined;
    this.closing = a;
    clearTimeout(this.closingTimer);
    // If the model never closes it, close it ourselves.
    this.closingTimer = setTimeout(() => this.deps.deliver({ kind: 'timer', name: 'auto-complete' }), 2000);
  }

  /** The user's words are final once the model answers them (or its turn ends). */
  private publishUserTranscript(turnId: string): void {
    const text = this.userTranscript.trim();
    this.userTranscript = '';
    if (!text) return;
    this.deps.bus.publishEvent(makeEvent('transcript', { deviceId: this.deviceId, role: 'user', text, final: true, turnId }));
    if (this.opts.traceTranscripts) this.assistant?.span?.addEvent('user transcript', { text });
  }

  private onModelAudio(base64: string, mimeType: string): void {
    let a = this.assistant;
    if (!a) {
      // Greeting or server-detected turn: the model spoke first.
      const turnId = this.local ? `${this.deviceId}-m${++this.serverTurnCounter}` : `${this.deviceId}-s${++this.serverTurnCounter}`;
      this.beginAssistant(turnId);
      a = this.assistant!;
    }
    if (a.interrupted) return; // late audio of an interrupted turn
    const rate = Number(/rate=(\d+)/.exec(mimeType)?.[1] ?? ASSISTANT_SAMPLE_RATE);
    const bytes = Buffer.from(base64, 'base64');
    if (bytes.length < 2) return;
    const pcm = new Int16Array(bytes.length >> 1);
    Buffer.from(pcm.buffer).set(bytes.subarray(0, pcm.length * 2));
    const now = nowUs();
    if (a.firstAudioAt === undefined) {
      a.firstAudioAt = now / 1000;
      const modelFirstAudioMs = a.firstAudioAt - a.requestedAt;
      this.deps.metrics?.modelFirstAudio.record(modelFirstAudioMs);
      a.span?.addEvent('first model audio', { [ATTR.modelFirstAudioMs]: modelFirstAudioMs });
      a.span?.setAttribute(ATTR.modelFirstAudioMs, modelFirstAudioMs);
      this.publishUserTranscript(a.turnId);
      this.deps.bus.publishEvent(makeEvent('assistant.turn.start', { deviceId: this.deviceId, turnId: a.turnId }));
      this.deps.bus.publishEvent(makeEvent('assistant.audio.first', { deviceId: this.deviceId, turnId: a.turnId, requestedAt: a.requestedAt, modelFirstAudioMs }));
    }
    a.audioMs += (pcm.length / rate) * 1000;
    const publish = () => this.deps.bus.publishAudio(this.deviceId, 'audio.out', {
      seq: a.seq++,
      captureTsUs: now,
      sampleRate: rate as AudioChunk['sampleRate'],
      channels: 1,
      pcm,
      turnId: a.turnId,
    });
    this.lastModelAudioAt = now / 1000;
    // Audio carries the model-response span's context, linking playback to this turn's trace.
    if (a.span) context.with(trace.setSpan(context.active(), a.span), publish);
    else publish();
    this.armAutoComplete();
  }

  private onOutputText(text: string): void {
    const a = this.assistant;
    if (!a || a.interrupted) return;
    a.text += text;
    this.deps.bus.publishEvent(makeEvent('transcript', { deviceId: this.deviceId, role: 'assistant', text, final: false, turnId: a.turnId }));
    // The seed's deferred interruption waits for the end of a sentence.
    if (a.deferredInterrupt && /[.!?]["')\]]?\s*$/.test(text.trim())) this.executeInterruption('sentence boundary');
  }

  private completeAssistant(a: AssistantTurn, autoCompleted: boolean): void {
    if (a === this.closing) this.closing = undefined;
    else {
      clearTimeout(this.autoCompleteTimer);
      if (a === this.assistant) this.assistant = undefined;
    }
    this.lastAssistantTurnId = a.turnId;
    this.publishUserTranscript(a.turnId);
    if (a.text.trim()) this.deps.bus.publishEvent(makeEvent('transcript', { deviceId: this.deviceId, role: 'assistant', text: a.text.trim(), final: true, turnId: a.turnId }));
    if (this.opts.traceTranscripts && a.text.trim()) a.span?.addEvent('assistant transcript', { text: a.text.trim() });
    this.deps.bus.publishEvent(makeEvent('assistant.turn.complete', { deviceId: this.deviceId, turnId: a.turnId, interrupted: a.interrupted, audioMs: a.audioMs, ...(autoCompleted ? { autoCompleted } : {}) }));
    a.span?.setAttribute(ATTR.interrupted, a.interrupted);
    a.span?.end();
    if (this.current?.turnId === a.turnId) this.current = undefined;
    if (a.deferredInterrupt && this.audibleTurn) this.executeInterruption('assistant finished generating');
    this.releaseHeldIfFree();
    if (this.goAwayPending) this.reconnect('go-away');
  }

  private async onToolCall(calls: { id?: string; name?: string; args?: Record<string, unknown> }[]): Promise<void> {
    const tracer = trace.getTracer('voicebus.session');
    const responses = [];
    for (const call of calls) {
      const span = tracer.startSpan(`tool ${call.name}`, { attributes: { [ATTR.deviceId]: this.deviceId, 'gen_ai.tool.name': call.name ?? '', 'gen_ai.tool.call.id': call.id ?? '' } });
      const result = await this.deps.tools.call(call.name ?? '', call.args ?? {});
      if (result.error) span.setStatus({ code: SpanStatusCode.ERROR, message: result.error });
      span.end();
      responses.push({ id: call.id, name: call.name, response: result.error ? { error: result.error } : { output: result.output } });
    }
    this.conn?.sendToolResponse(responses);
  }

  // ---------- lifetime ----------

  private async ensureOpen(): Promise<void> {
    if (this.conn || this.opening || this.stopped) return;
    // After a configuration error (1007/1008), retry at most once a minute: no retry storm.
    if (this.configError && Date.now() - this.configError.at < 60_000) return;
    await this.open(false);
  }

  private async open(isReconnect: boolean): Promise<void> {
    this.opening = true;
    const handle = this.deps.handles.get(this.deviceId) ?? (await this.deps.handleStore?.load(this.deviceId));
    try {
      const conn = await GeminiConnection.open(this.deps.endpoint, this.deps.live, handle, this.log);
      if (this.stopped) {
        conn.close();
        return;
      }
      this.conn = conn;
      conn.on('message', (message) => this.deps.deliver({ kind: 'model', connection: conn, message }));
      conn.on('close', ({ code, reason }) => this.deps.deliver({ kind: 'closed', connection: conn, code, reason }));
      this.reconnectAttempt = 0;
      this.configError = undefined;
      this.deps.bus.publishEvent(makeEvent('session.opened', {
        deviceId: this.deviceId,
        model: this.deps.live.model,
        resumed: Boolean(handle),
        turnDetection: this.deps.live.turnDetection,
        interruption: this.opts.interruption,
      }));
      this.log.info({ resumed: Boolean(handle), reconnect: isReconnect }, 'live session opened');
      if (!this.greeted && this.opts.greeting && !isReconnect) {
        this.greeted = true;
        this.beginAssistant(`${this.deviceId}-greeting`);
        conn.sendText(this.opts.greeting);
      }
      this.armInactivity();
    } catch (err) {
      const message = (err as Error).message;
      const code = Number(/code (\d{4})/.exec(message)?.[1] ?? 0);
      this.handleFailure(code, message);
    } finally {
      this.opening = false;
    }
  }

  private onClosed(code: number, reason: string): void {
    const conn = this.conn;
    this.conn = undefined;
    clearTimeout(this.watchdogTimer);
    if (conn?.closedIntentionally) return;
    this.deps.bus.publishEvent(makeEvent('session.closed', { deviceId: this.deviceId, code, reason: reason || 'closed by the server' }));
    this.handleFailure(code, reason);
  }

  private handleFailure(code: number, message: string): void {
    // An answer in flight is over: its audio stops here.
    if (this.closing) this.completeAssistant(this.closing, true);
    if (this.assistant) this.completeAssistant(this.assistant, true);
    this.current = undefined;
    if (code === 1007 || code === 1008) {
      this.configError = { at: Date.now(), code };
      this.log.error({ code, reason: message }, 'Gemini rejected the session configuration; not retrying');
      this.deps.bus.publishEvent(makeEvent('session.error', { deviceId: this.deviceId, code, kind: 'config', message: message.slice(0, 2000), retrying: false }));
      // A bad handle is a likely cause: forget it so the next attempt starts fresh.
      this.deps.handles.delete(this.deviceId);
      this.deps.handleStore?.remove(this.deviceId);
      return;
    }
    this.deps.bus.publishEvent(makeEvent('session.error', { deviceId: this.deviceId, ...(code ? { code } : {}), kind: 'transient', message: (message || 'connection lost').slice(0, 2000), retrying: true }));
    this.scheduleReconnect('closed');
  }

  private scheduleReconnect(cause: 'closed' | 'watchdog' | 'go-away'): void {
    if (this.stopped || this.reconnectTimer) return;
    const attempt = this.reconnectAttempt++;
    const base = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectBaseMs * 2 ** attempt);
    const delay = attempt === 0 && cause === 'go-away' ? 0 : base / 2 + Math.random() * (base / 2);
    this.deps.metrics?.reconnects.add(1, { 'voicebus.cause': cause });
    this.deps.bus.publishEvent(makeEvent('session.reconnecting', { deviceId: this.deviceId, cause, attempt, withHandle: this.deps.handles.has(this.deviceId) }));
    this.reconnectTimer = setTimeout(() => this.deps.deliver({ kind: 'timer', name: 'reconnect' }), delay);
  }

  /** goAway: finish the answer in flight if there is time, then reconnect with the latest handle. */
  private onGoAway(timeLeft: string | undefined): void {
    const leftMs = Number.parseFloat(timeLeft ?? '0') * 1000 || 0;
    this.log.info({ timeLeftMs: leftMs }, 'goAway received: reconnecting with the resumption handle');
    if (this.assistant && leftMs > 1000) {
      this.goAwayPending = true;
      // Do not wait past the deadline.
      setTimeout(() => this.deps.deliver({ kind: 'timer', name: 'go-away' }), leftMs - 500).unref();
      return;
    }
    this.reconnect('go-away');
  }

  private reconnect(cause: 'go-away' | 'watchdog'): void {
    this.goAwayPending = false;
    const old = this.conn;
    this.conn = undefined;
    // Close the old socket first: one live session per device, never two.
    old?.close();
    if (this.closing) this.completeAssistant(this.closing, true);
    if (this.assistant) this.completeAssistant(this.assistant, true);
    this.current = undefined;
    this.scheduleReconnect(cause);
  }

  private async onTimer(name: 'reconnect' | 'watchdog' | 'auto-complete' | 'inactivity' | 'go-away'): Promise<void> {
    switch (name) {
      case 'reconnect':
        this.reconnectTimer = undefined;
        if (!this.conn && !this.stopped) await this.open(true);
        if (!this.conn && !this.configError) this.scheduleReconnect('closed');
        break;
      case 'watchdog':
        if (this.assistant && this.conn && Date.now() - this.conn.lastMessageAt >= this.opts.watchdogMs) {
          this.log.warn({ watchdogMs: this.opts.watchdogMs }, 'Gemini stopped answering: reconnecting');
          this.deps.bus.publishEvent(makeEvent('session.error', { deviceId: this.deviceId, kind: 'watchdog', message: `no answer for ${this.opts.watchdogMs} ms`, retrying: true }));
          this.reconnect('watchdog');
        }
        break;
      case 'auto-complete':
        if (this.closing && Date.now() - (this.closing.firstAudioAt ?? this.closing.requestedAt) >= 2000) this.completeAssistant(this.closing, true);
        if (this.assistant && this.assistant.firstAudioAt !== undefined && nowUs() / 1000 - this.lastModelAudioAt >= this.opts.autoCompleteMs) {
          this.log.warn({ turnId: this.assistant.turnId }, 'model turn never completed: completing it');
          this.completeAssistant(this.assistant, true);
        }
        break;
      case 'go-away':
        if (this.goAwayPending) this.reconnect('go-away');
        break;
      case 'inactivity':
        if (this.conn && !this.assistantActive && !this.current && !this.held) {
          this.log.info({ inactivityMs: this.opts.inactivityMs }, 'no user speech: ending the session');
          this.deps.bus.publishEvent(makeEvent('session.closed', { deviceId: this.deviceId, reason: `inactive for ${this.opts.inactivityMs} ms` }));
          const conn = this.conn;
          this.conn = undefined;
          conn.close();
          this.deps.handles.delete(this.deviceId);
          this.deps.handleStore?.remove(this.deviceId);
        }
        break;
    }
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdogTimer);
    if (this.opts.watchdogMs > 0) this.watchdogTimer = setTimeout(() => this.deps.deliver({ kind: 'timer', name: 'watchdog' }), this.opts.watchdogMs);
  }

  private armAutoComplete(): void {
    clearTimeout(this.autoCompleteTimer);
    if (this.opts.autoCompleteMs > 0) this.autoCompleteTimer = setTimeout(() => this.deps.deliver({ kind: 'timer', name: 'auto-complete' }), this.opts.autoCompleteMs);
  }

  private armInactivity(): void {
    clearTimeout(this.inactivityTimer);
    if (this.opts.inactivityMs > 0) {
      this.inactivityTimer = setTimeout(() => this.deps.deliver({ kind: 'timer', name: 'inactivity' }), this.opts.inactivityMs);
      this.inactivityTimer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.reconnectTimer, this.watchdogTimer, this.autoCompleteTimer, this.inactivityTimer, this.closingTimer]) clearTimeout(t);
    this.closing?.span?.end();
    this.assistant?.span?.end();
    const conn = this.conn;
    this.conn = undefined;
    conn?.close();
  }
}
