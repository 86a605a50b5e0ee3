import type { FunctionCall, FunctionResponse, FunctionResponseScheduling, LiveServerMessage } from '@google/genai';
import { makeEvent, type AudioChunk, type EventOf, type VoiceEvent } from '@voicebus/protocol';
import { AudioGaps, RecentSet, type Actor, type ActorContext, type AudioHistory, type Bus, publishStraight, type DevicePublisher, type VoiceMetrics } from '@voicebus/runtime';
import { AssistantTurnTracker } from './assistant-turn-tracker.ts';
import { createInterruptionStrategy, type AssistantView, type BargeInStrategy, type InterruptionDecision, type InterruptionFact } from './interruption/index.ts';
import type { CreateLiveSession, LiveSession, LiveSessionMessage } from './live-session.ts';
import { readModelContent } from './model-content.ts';
import { SESSION_DEFAULTS, type SessionOptions } from './session-options.ts';
import { runToolCalls, type ToolRegistry } from './tool-handlers.ts';
import { ServerModeTurns } from './server-mode-turns.ts';
import { UserTurnRelay, type UserTurn } from './user-turn-relay.ts';

export type SessionMessage =
  | { kind: 'audio'; chunk: AudioChunk }
  | { kind: 'event'; event: VoiceEvent }
  | { kind: 'tool-results'; responses: FunctionResponse[] }
  /** A turn whose start this actor missed, its audio read back from the audio history. */
  | { kind: 'recovered-turn'; turnId: string; speechStartUs: number; chunks: AudioChunk[] }
  | LiveSessionMessage;

export interface SessionDeps {
  bus: Pick<Bus, 'tryPublishEvent' | 'publishAudio'>;
  createLiveSession: CreateLiveSession;
  tools: ToolRegistry;
  /** The scheduling a tool's response carries (NON_BLOCKING tools, from the pack). */
  toolScheduling?: ((toolName: string | undefined) => FunctionResponseScheduling | undefined) | undefined;
  metrics?: VoiceMetrics | undefined;
  /**
   * The device's publishes held over a NATS outage (DeviceOutbox, the answers stored in
   * VOICEBUS_ANSWERS after it); none, and what is said during an outage is lost.
   */
  outbox?: ((deviceId: string) => DevicePublisher) | undefined;
  /** The server's recent copy of the microphone (AudioHistory): none, and a turn begun before this actor is lost. */
  history?: Pick<AudioHistory, 'between' | 'missing'> | undefined;
}

const TIMERS = { autoComplete: 'auto-complete', retiredClose: 'retired-close', inactivity: 'inactivity' } as const;
type Audible = EventOf<'assistant.audible'>;
/** What each of the VAD's speech events tells the strategy. */
const SPEECH_FACTS = { 'speech.onset': 'speech.onset', 'speech.start': 'speech.confirmed', 'speech.sustained': 'speech.sustained', 'speech.end': 'speech.stopped', 'speech.misfire': 'speech.stopped' } as const;

/**
 * One device's conversation with Gemini Live: it wires the live session (the model
 * connection), the user-turn relay, the assistant-turn tracker and the interruption strategy.
 * Local turn detection turns the VAD's turns into activityStart/activityEnd with the turn's
 * audio; the strategy turns the VAD's speech facts and playback's `assistant.audible` into
 * control commands. See docs/architecture.md.
 */
export class SessionActor implements Actor<SessionMessage> {
  readonly options: SessionOptions;
  private readonly ctx: ActorContext<SessionMessage>;
  private readonly deps: SessionDeps;
  private readonly live: LiveSession;
  private readonly relay: UserTurnRelay;
  private readonly answers: AssistantTurnTracker;
  private readonly strategy: BargeInStrategy;
  /** What playback says the user hears. */
  private heard: { turnId: string | undefined; audible: boolean; paused: boolean } = { turnId: undefined, audible: false, paused: false };
  private greeted = false;
  private readonly serverModeTurns = new ServerModeTurns();
  /** Tool calls the model cancelled (`toolCallCancellation`) whose handlers are still running. */
  private readonly cancelledCalls = new Set<string>();
  /** When the session was lost with a user turn unanswered (it is sent again on the next one). */
  private lostAt: number | undefined;
  private skippedAudio = 0;
  /** Turns this incarnation saw start (bounded): a turn.end of any other one was missed. */
  private readonly startedTurns = new RecentSet<string>(32);
  /** Speculative endpointing: the turn whose answer started at a pause, held by playback until the turn ends. */
  private speculation: string | undefined;
  /** The device's audio sequence: duplicates dropped, gaps read back from the history. */
  private readonly gaps: AudioGaps;
  /** Where this actor's events and answer audio go out (held over a NATS outage). */
  private readonly out: DevicePublisher;

  constructor(ctx: ActorContext<SessionMessage>, deps: SessionDeps, options: Partial<SessionOptions> = {}) {
    this.ctx = ctx;
    this.deps = deps;
    this.options = { ...SESSION_DEFAULTS, ...options };
    const { deviceId } = ctx;
    this.strategy = createInterruptionStrategy(this.options.interruption);
    this.relay = new UserTurnRelay({ preRollMs: this.options.preRollMs });
    this.gaps = new AudioGaps(deviceId, deps.history, {}, () => ctx.droppedAudio());
    this.out = deps.outbox?.(deviceId) ?? publishStraight(deps.bus, deviceId);
    this.answers = new AssistantTurnTracker(
      { deviceId, publish: (e) => this.publish(e), publishAudio: (c) => this.out.publishAudio('audio.out', c), onCompleted: (a) => this.onAnswerClosed(a.turnId), metrics: deps.metrics, claimUnaskedAnswer: () => this.serverModeTurns.claim() },
      { traceTranscripts: this.options.traceTranscripts, model: this.options.model, strategy: this.options.interruption, modelTurnPrefix: this.local ? 'm' : 's' },
    );
    this.live = deps.createLiveSession({
      deviceId,
      log: ctx.log,
      send: (m) => ctx.send(m),
      schedule: (name, ms) => ctx.schedule(name, ms),
      cancel: (name) => ctx.cancel(name),
      isScheduled: (name) => ctx.isScheduled(name),
      publish: (e) => this.publish(e),
      listener: {
        onOpened: ({ resumed, reconnect }) => this.onOpened(resumed, reconnect),
        onMessage: (m) => this.onModel(m),
        onLost: () => this.onLost(),
        answerInFlight: () => this.answers.current !== undefined,
        quiet: () => this.answers.current === undefined && this.relay.current === undefined,
      },
    });
  }

  private get local(): boolean {
    return this.options.turnDetection === 'local';
  }

  async handle(message: SessionMessage): Promise<void> {
    switch (message.kind) {
      case 'audio':
        return this.onAudio(message.chunk);
      case 'event':
        return this.onEvent(message.event);
      case 'live':
        return this.live.handle(message);
      case 'tool-results': {
        // Calls the model cancelled meanwhile (the user interrupted) get no response.
        const responses = message.responses.filter((r) => !r.id || !this.cancelledCalls.delete(r.id));
        return responses.length ? this.live.sendToolResponse(responses) : undefined;
      }
      case 'recovered-turn':
        return this.onRecoveredTurn(message.turnId, message.speechStartUs, message.chunks);
    }
  }

  async onTimer(name: string): Promise<void> {
    if (await this.live.onTimer(name)) return;
    if (name === TIMERS.autoComplete && this.answers.autoComplete()) this.ctx.log.warn('model turn never completed: completed it');
    if (name === TIMERS.retiredClose) this.answers.closeRetired();
    if (name === TIMERS.inactivity && this.live.connected && !this.assistantBusy && !this.relay.current && !this.relay.held) {
      this.ctx.log.info({ inactivityMs: this.options.inactivityMs }, 'no user speech: ending the session');
      this.live.end(`inactive for ${this.options.inactivityMs} ms`);
    }
  }

  // ---------- the user ----------

  private async onAudio(chunk: AudioChunk): Promise<void> {
    if (chunk.channels !== 1) return;
    // Sent again after a NATS outage (capture's OutageHold): heard once.
    if (this.gaps.alreadyHeard(chunk)) return;
    // Open first: a session that comes back sends the lost turn's earlier audio before this chunk.
    await this.live.open();
    if (this.gaps.isGapBefore(chunk)) {
      const missed = await this.gaps.missingBefore(chunk, this.ctx.log);
      if (missed.length > 0) this.ctx.log.info({ chunks: missed.length, from: missed[0]!.seq }, 'gap in audio sequence: the missing audio read back from the history');
      for (const c of missed) this.hear(c);
    }
    this.hear(chunk);
  }

  private hear(chunk: AudioChunk): void {
    this.gaps.heard(chunk);
    const route = this.relay.push(chunk);
    if (!this.local || route === 'send') this.live.sendAudio(chunk.pcm, chunk.sampleRate);
  }

  private async onEvent(event: VoiceEvent): Promise<void> {
    switch (event.type) {
      case 'device.announced':
        return this.live.open();
      case 'turn.start': {
        if (!this.local) return this.serverModeTurns.started(event.turnId);
        // The same turn again: a stored publish retried after an outage reached us twice (its
        // first attempt was delivered, its ack was late). Ids are unique per turn: taken as new,
        // it would barge in on the answer to itself.
        if (this.startedTurns.has(event.turnId)) return;
        this.armInactivity();
        await this.live.open();
        this.startedTurns.add(event.turnId);
        const turn = this.relay.startTurn(event.turnId, event.speechStartUs);
        this.answers.noteUserTurn(turn.turnId);
        return this.bargeIn({ type: 'user.turn.start' }, turn);
      }
      case 'turn.pause':
        return this.local ? this.speculate(event.turnId) : undefined;
      case 'turn.resume':
        return this.local ? this.withdrawSpeculation(event.turnId) : undefined;
      case 'turn.end':
        if (!this.local) return this.serverModeTurns.ended(event.turnId, event.decidedAt);
        if (this.speculation === event.turnId) return this.confirmSpeculation(event.turnId);
        switch (this.relay.endTurn(event.turnId)) {
          case 'current':
            return this.handOver(event.turnId);
          case undefined:
            return this.missedStart(event);
          default:
            return;
        }
      case 'speech.onset':
      case 'speech.start':
      case 'speech.sustained':
      case 'speech.end':
      case 'speech.misfire':
        // While an answer is held on a speculation nobody hears it: the speculation itself
        // decides what the user's speech means (turn.resume withdraws it).
        if (this.speculation) return;
        return this.bargeIn({ type: SPEECH_FACTS[event.type] });
      case 'assistant.audible':
        return this.onAudible(event);
      case 'control.interrupt':
        // From elsewhere (an operator, a UI): only for the answer in play, and only once. Our
        // own commands come back here too and find that answer already interrupted.
        if (event.turnId !== undefined && event.turnId === this.answerInPlay && !this.view().interrupted) this.interrupt(undefined, 'control.interrupt');
        return;
      default:
        return;
    }
  }

  private onAudible(event: Audible): void {
    const onHold = event.audible || event.paused;
    this.heard = { turnId: onHold ? event.turnId : undefined, audible: event.audible, paused: event.paused };
    if (onHold) return;
    this.armInactivity();
    this.bargeIn({ type: 'assistant.stopped' });
  }

  // ---------- speculative endpointing ----------

  /**
   * The user paused: maybe the turn is over. The model starts now; playback holds what it says
   * until the turn's end confirms it. Only from a quiet assistant (nothing playing, paused or
   * being generated), so no barge-in logic meets a held answer.
   */
  /**
   * A turn ended that this actor never saw start: it was restarted, or took the device over,
   * in the middle of it. The server kept the device's recent audio (AudioHistory): the turn
   * is read back from its speech start (minus the pre-roll) to its end and handed to the model
   * whole, as if it had been heard live. Without a history, or with nothing in it, the turn is
   * said to be lost, so it is counted rather than waited for.
   */
  private missedStart(end: EventOf<'turn.end'>): void {
    const { turnId, speechStartUs, speechEndUs } = end;
    if (this.startedTurns.has(turnId)) return; // started here and already settled (dropped, continued)
    this.startedTurns.add(turnId);
    const history = this.deps.history;
    if (!history) return this.lostTurn(turnId, 'no audio history');
    const fromUs = speechStartUs - this.relay.options.preRollMs * 1000;
    history.between(this.ctx.deviceId, fromUs, speechEndUs).then(
      (chunks) => this.ctx.send({ kind: 'recovered-turn', turnId, speechStartUs, chunks }, { priority: true }),
      (err: Error) => {
        this.ctx.log.warn({ turnId, err: err.message }, 'audio history could not be read');
        this.ctx.send({ kind: 'recovered-turn', turnId, speechStartUs, chunks: [] }, { priority: true });
      },
    );
  }

  private async onRecoveredTurn(turnId: string, speechStartUs: number, chunks: AudioChunk[]): Promise<void> {
    if (chunks.length === 0) return this.lostTurn(turnId, 'its audio is not in the history');
    await this.live.open();
    this.ctx.log.info({ turnId, chunks: chunks.length }, 'a turn begun before this session: its audio read back from the history and sent');
    const turn = this.relay.recovered(turnId, speechStartUs, chunks);
    this.answers.noteUserTurn(turnId);
    this.sendTurn(turn);
  }

  private lostTurn(turnId: string, why: string): void {
    this.ctx.log.warn({ turnId, why }, 'a user turn ended whose start this session did not see; it is lost');
    this.publish(makeEvent('user.turn.dropped', { deviceId: this.ctx.deviceId, turnId, reason: 'missed-start' }));
  }

  private speculate(turnId: string): void {
    const turn = this.relay.current;
    if (this.speculation || !turn || turn.turnId !== turnId || turn.ended || !this.live.connected || this.assistantBusy || this.relay.held) return;
    this.speculation = turnId;
    const deviceId = this.ctx.deviceId;
    this.publish(makeEvent('control.pause', { deviceId, turnId }));
    this.publish(makeEvent('assistant.speculation', { deviceId, turnId, outcome: 'started' }));
    this.relay.endTurn(turnId);
    this.handOver(turnId);
  }

  /** The turn ended where the speculation said: the held answer plays. */
  private confirmSpeculation(turnId: string): void {
    this.speculation = undefined;
    const deviceId = this.ctx.deviceId;
    this.publish(makeEvent('control.resume', { deviceId, turnId }));
    this.publish(makeEvent('assistant.speculation', { deviceId, turnId, outcome: 'confirmed' }));
    if (this.answers.current?.turnId === turnId && this.answers.current.firstAudioAt !== undefined) this.relay.answered(turnId);
  }

  /**
   * The user went on: the held answer is dropped before anyone heard it, and the turn goes on.
   * The model hears activityStart (which stops its answer) and the audio since the pause; it
   * keeps in its context the first part of the turn and whatever it began to answer.
   */
  private withdrawSpeculation(turnId: string): void {
    if (this.speculation !== turnId) return;
    this.speculation = undefined;
    const deviceId = this.ctx.deviceId;
    this.publish(makeEvent('control.flush', { deviceId, turnId, reason: 'speculation withdrawn' }));
    this.publish(makeEvent('assistant.speculation', { deviceId, turnId, outcome: 'withdrawn' }));
    if (this.answers.withdraw(turnId)) this.ctx.schedule(TIMERS.retiredClose, this.options.retiredGraceMs);
    const missed = this.relay.reopen(turnId);
    this.live.activityStart();
    for (const chunk of missed) this.live.sendAudio(chunk.pcm, chunk.sampleRate);
  }

  /** The user turn is over: the model answers it now (t2). */
  private handOver(turnId: string): void {
    this.live.activityEnd();
    this.answers.begin(turnId);
    this.live.expectAnswer();
  }

  private sendTurn(turn: UserTurn): void {
    if (!this.live.connected) {
      this.ctx.log.warn({ turnId: turn.turnId }, 'no live session for this user turn; it is lost');
      this.publish(makeEvent('user.turn.dropped', { deviceId: this.ctx.deviceId, turnId: turn.turnId, reason: 'no-session' }));
      return;
    }
    // The user takes the floor: an answer still in play is over for them.
    const v = this.view();
    if ((v.audible || v.paused) && !v.interrupted) this.publish(makeEvent('control.interrupt', { deviceId: this.ctx.deviceId, turnId: this.heard.turnId, byTurnId: turn.turnId, reason: 'user turn' }));
    this.answers.markInterrupted('local', this.heard.turnId);
    // What the model still sends for it must not be taken for the new turn's answer.
    if (this.answers.retire()) this.ctx.schedule(TIMERS.retiredClose, this.options.retiredGraceMs);
    const { audio, ended, continued } = this.relay.send(turn);
    if (continued) {
      this.ctx.log.info({ turnId: continued, byTurnId: turn.turnId }, 'the user went on before any answer: the next answer answers both turns');
      this.publish(makeEvent('user.turn.dropped', { deviceId: this.ctx.deviceId, turnId: continued, reason: 'continued' }));
    }
    this.live.activityStart();
    for (const chunk of audio) this.live.sendAudio(chunk.pcm, chunk.sampleRate);
    if (ended) this.handOver(turn.turnId);
  }

  // ---------- barge-in ----------

  /** The answer the user hears, or else the one being generated. */
  private get answerInPlay(): string | undefined {
    return this.heard.turnId ?? this.answers.current?.turnId;
  }

  private get assistantBusy(): boolean {
    return this.answers.current !== undefined || this.heard.audible || this.heard.paused;
  }

  private view(): AssistantView {
    const running = this.answers.current !== undefined && !this.answers.current.interrupted;
    const { audible, paused } = this.heard;
    const interrupted = !running && this.answers.isInterrupted(this.heard.turnId);
    return { answering: running, generating: this.answers.generating, audible, paused, interrupted, holding: this.relay.held !== undefined };
  }

  private bargeIn(fact: InterruptionFact, started?: UserTurn): void {
    for (const decision of this.strategy.decide(fact, this.view())) this.apply(decision, started);
  }

  private apply(d: InterruptionDecision, started: UserTurn | undefined): void {
    const deviceId = this.ctx.deviceId;
    switch (d.type) {
      case 'pause':
        return this.publish(makeEvent('control.pause', { deviceId, turnId: this.heard.turnId }));
      case 'resume':
        return this.publish(makeEvent('control.resume', { deviceId, turnId: this.heard.turnId }));
      case 'interrupt':
        return this.interrupt(d.playbackStopped ? undefined : 'control.interrupt', d.reason);
      case 'flush-at-pause':
        this.ctx.log.info({ turnId: this.answerInPlay, reason: d.reason }, 'interruption deferred to the next pause of the answer');
        return this.publish(makeEvent('control.flush', { deviceId, turnId: this.answerInPlay, reason: d.reason, at: 'pause' }));
      case 'send-turn':
        return started && this.sendTurn(started);
      case 'hold-turn':
        if (!started) return;
        this.relay.hold(started);
        return this.ctx.log.info({ turnId: started.turnId, strategy: this.strategy.name }, 'user turn held while the assistant speaks');
      case 'release-held': {
        const held = this.relay.takeHeld();
        return held && this.sendTurn(held);
      }
      case 'drop-held': {
        const held = this.relay.takeHeld();
        if (!held) return;
        // A blip: the user did not really take the turn. The answer goes on.
        this.ctx.log.info({ turnId: held.turnId }, 'false interruption: discarding the held user turn');
        return this.publish(makeEvent('user.turn.dropped', { deviceId, turnId: held.turnId, reason: 'false-interruption' }));
      }
    }
  }

  /** The interruption takes effect: tell playback (unless it was told already), mark the answer, send a held turn. */
  private interrupt(command: 'control.interrupt' | undefined, reason: string): void {
    const deviceId = this.ctx.deviceId;
    const turnId = this.answerInPlay;
    const open = this.relay.held ?? (this.relay.current && !this.relay.current.ended ? this.relay.current : undefined);
    this.ctx.log.info({ turnId, byTurnId: open?.turnId, reason, strategy: this.strategy.name }, 'barge-in: interrupting the assistant');
    if (command === 'control.interrupt') this.publish(makeEvent('control.interrupt', { deviceId, turnId, byTurnId: open?.turnId, reason }));
    this.answers.markInterrupted('local', this.heard.turnId);
    const held = this.relay.takeHeld();
    if (held) this.sendTurn(held);
  }

  // ---------- the model ----------

  private onOpened(resumed: boolean, reconnect: boolean): void {
    // Once per conversation: a resumed session (a handle from before a restart) has greeted.
    if (!this.greeted && this.options.greeting && !reconnect && !resumed) {
      this.greeted = true;
      this.answers.begin(`${this.ctx.deviceId}-greeting`);
      this.live.expectAnswer();
      this.live.sendText(this.options.greeting);
    }
    this.replayLostTurn();
    this.armInactivity();
  }

  /**
   * The session is gone: whatever was in flight stops here, except a user turn that has no
   * answer yet: it is kept and sent again on the next session, so the model still hears it.
   */
  private onLost(): void {
    const turn = this.local ? this.relay.current : undefined;
    const answer = this.answers.current;
    const unanswered = turn !== undefined && (answer === undefined || answer.turnId !== turn.turnId || this.answers.abandonUnstarted(turn.turnId));
    this.answers.completeAll();
    if (unanswered) this.lostAt = Date.now();
    else this.relay.finishCurrent();
  }

  /** Sends the turn the lost session never answered again, from its first chunk. */
  private replayLostTurn(): void {
    const turn = this.relay.current;
    if (!turn || this.lostAt === undefined) return;
    const gapMs = Date.now() - this.lostAt;
    this.lostAt = undefined;
    const replay = this.relay.replay();
    if (!replay) {
      this.relay.finishCurrent();
      this.ctx.log.warn({ turnId: turn.turnId }, 'user turn lost with the session too often: given up');
      this.publish(makeEvent('user.turn.dropped', { deviceId: this.ctx.deviceId, turnId: turn.turnId, reason: 'no-session' }));
      return;
    }
    this.ctx.log.info({ turnId: turn.turnId, gapMs, chunks: replay.audio.length, ended: replay.ended }, 'session lost mid-turn: sending the turn again');
    this.live.activityStart();
    for (const chunk of replay.audio) this.live.sendAudio(chunk.pcm, chunk.sampleRate);
    if (replay.ended) this.handOver(turn.turnId);
  }

  private onAnswerClosed(turnId: string): void {
    this.relay.finishCurrent(turnId);
    this.bargeIn({ type: 'assistant.stopped' });
    this.live.answerFinished();
  }

  private onModel(m: LiveServerMessage): void {
    const c = readModelContent(m.serverContent);
    if (this.answers.consumeRetired({ output: c.ofAnswer, turnComplete: c.turnComplete })) return;
    if (c.skippedAudio > 0 && this.skippedAudio === 0) this.ctx.log.warn({ parts: c.skippedAudio }, 'model audio that is not base64 PCM: skipped (logged once)');
    this.skippedAudio += c.skippedAudio;
    if (c.inputText) this.answers.inputText(c.inputText);
    for (const { pcm, sampleRate } of c.audio) {
      if (this.answers.audio(pcm, sampleRate) && this.options.autoCompleteMs > 0) this.ctx.schedule(TIMERS.autoComplete, this.options.autoCompleteMs);
    }
    const answering = this.answers.current;
    // A held speculative answer may still be withdrawn: its turn stays ready to send again.
    if (answering?.firstAudioAt !== undefined && this.speculation !== answering.turnId) this.relay.answered(answering.turnId);
    if (c.outputText && this.answers.outputText(c.outputText)) this.bargeIn({ type: 'assistant.text', text: c.outputText });
    if (c.interrupted) {
      this.answers.markInterrupted('model', this.heard.turnId);
      // With server turn detection the model decides about barge-in: playback must hear of it.
      this.publish(makeEvent('control.flush', { deviceId: this.ctx.deviceId, turnId: this.answers.current?.turnId, reason: 'model interrupted' }));
    }
    if ((c.generationComplete || c.turnComplete) && this.answers.current) this.bargeIn({ type: 'assistant.generation.ending' });
    if (c.generationComplete) this.answers.generationComplete();
    if (c.turnComplete) this.answers.turnComplete(c.waitingForInput);
    const u = m.usageMetadata;
    if (u) this.publish(makeEvent('usage', { deviceId: this.ctx.deviceId, turnId: this.answers.usageTurnId, promptTokens: u.promptTokenCount, responseTokens: u.responseTokenCount, totalTokens: u.totalTokenCount }));
    for (const id of m.toolCallCancellation?.ids ?? []) if (typeof id === 'string') this.cancelledCalls.add(id);
    if (m.toolCall?.functionCalls?.length) this.runTools(m.toolCall.functionCalls);
  }

  /** Runs the handlers off the mailbox (it keeps moving); their results come back as a message. */
  private runTools(calls: FunctionCall[]): void {
    runToolCalls(calls, this.deps.tools, this.ctx.deviceId, this.deps.toolScheduling)
      .then((responses) => this.ctx.send({ kind: 'tool-results', responses }, { priority: true }))
      .catch((err: unknown) => this.ctx.log.error({ err }, 'tool call failed'));
  }

  private armInactivity(): void {
    if (this.options.inactivityMs > 0) this.ctx.schedule(TIMERS.inactivity, this.options.inactivityMs);
  }

  private publish(event: VoiceEvent): void {
    this.out.tryPublishEvent(event, this.ctx.log);
  }

  stop(): void {
    this.live.stop();
    this.answers.dispose();
    this.out.close();
  }
}
