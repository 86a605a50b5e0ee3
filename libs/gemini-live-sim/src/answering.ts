import type { WebSocket } from 'ws';
import { planAnswer } from './answer-timeline.ts';
import type { SimBehaviour } from './options.ts';
import { CLOSE_CODES } from './protocol-errors.ts';
import type { ConversationState, HandleStore } from './resumption.ts';
import { Rng } from './rng.ts';
import { SessionWire, sleep, type Json } from './session-wire.ts';
import { SIM_OUTPUT_RATE, synthesize } from './speech-synth.ts';
import { declaredTools, describeResult, planCalls, type PlannedCall } from './tool-calls.ts';

interface Answer {
  turn: number;
  cancelled: boolean;
  interrupted: boolean;
}

interface PendingCall extends PlannedCall {
  resolve: (response: unknown) => void;
}

/**
 * The model side of a connection: answers (spoken by espeak-ng, streamed as the behaviour's
 * timeline says), interruption, tool calls (blocking, or non-blocking with scheduling), usage
 * metadata and session resumption updates. The input side is in sim-session.ts.
 */
export abstract class Answering extends SessionWire {
  setup: Json | undefined;
  state: ConversationState = { turns: 0, history: [] };
  protected readonly behaviour: SimBehaviour;
  protected readonly handles: HandleStore;
  protected readonly rng: Rng;
  protected answer: Answer | undefined;
  protected readonly pendingCalls = new Map<string, PendingCall>();
  /** Work waiting for the current answer to end (WHEN_IDLE results, turns under NO_INTERRUPTION). */
  private readonly whenIdle: (() => void)[] = [];
  protected userAudioMs = 0;

  constructor(ws: WebSocket, apiVersion: string, behaviour: SimBehaviour, handles: HandleStore) {
    super(ws, apiVersion);
    this.behaviour = behaviour;
    this.handles = handles;
    this.rng = new Rng(behaviour.seed);
  }

  get answering(): boolean {
    return this.answer !== undefined;
  }

  /** Whether this model behaves as a thinking model (turnComplete per utterance). */
  protected get thinking(): boolean {
    const t = this.behaviour.thinkingModel;
    return t === 'auto' ? /native-audio|thinking/i.test(String(this.setup?.model ?? '')) : t;
  }

  protected get interruptible(): boolean {
    return (this.setup?.realtimeInputConfig as Json | undefined)?.activityHandling !== 'NO_INTERRUPTION';
  }

  /** The open user turn, saved in a handle so that a transparent resumption continues it. */
  protected abstract openTurn(): ConversationState['openTurn'];

  protected onClosed(): void {
    if (this.answer) this.answer.cancelled = true;
  }

  // ---- resumption ----

  /** A fresh handle now, whatever the state (fault scripting); undefined without sessionResumption. */
  sendResumptionUpdate(): string | undefined {
    if (!this.setup?.sessionResumption) return undefined;
    const handle = this.handles.save({ ...this.state, openTurn: this.openTurn() }, this.behaviour.handleTtlMs);
    this.send({ sessionResumptionUpdate: { newHandle: handle, resumable: true, ...this.consumedIndex() } });
    return handle;
  }

  /** resumable:false while the model generates or a tool call is pending, else a fresh handle. */
  protected resumptionUpdate(): void {
    if (!this.setup?.sessionResumption) return;
    if (this.behaviour.resumableUpdates && (this.answer || this.pendingCalls.size > 0)) {
      this.send({ sessionResumptionUpdate: { resumable: false, ...this.consumedIndex() } });
    } else this.sendResumptionUpdate();
  }

  private consumedIndex(): Json {
    const r = this.setup?.sessionResumption as Json | undefined;
    return r?.transparent ? { lastConsumedClientMessageIndex: String(this.lastClientMessageIndex) } : {};
  }

  // ---- answers ----

  /** Runs `fn` now, or when the current answer ends if the user may not interrupt it. */
  protected whenFree(fn: () => void): void {
    if (this.answer && !this.interruptible) this.whenIdle.push(fn);
    else {
      if (this.answer) this.interrupt();
      fn();
    }
  }

  /** The user (or an INTERRUPT tool result) cut the answer: interrupted, then turnComplete. */
  protected interrupt(byUser = true): void {
    const a = this.answer;
    if (!a) return;
    a.cancelled = true;
    a.interrupted = true;
    this.answer = undefined;
    this.send({ serverContent: { interrupted: true } });
    this.send({ serverContent: this.turnCompleteFields({ turnComplete: true }) });
    if (byUser && this.behaviour.cancelToolCallsOnInterrupt && this.pendingCalls.size > 0) {
      const ids = [...this.pendingCalls.keys()];
      for (const call of this.pendingCalls.values()) call.resolve(undefined);
      this.pendingCalls.clear();
      this.send({ toolCallCancellation: { ids } });
    }
  }

  protected turnCompleteFields(fields: Json): Json {
    if (!this.thinking) return fields;
    return { ...fields, interactionStatus: this.pendingCalls.size > 0 ? 'IN_PROGRESS' : 'IDLE' };
  }

  private runWhenIdle(): void {
    const next = this.whenIdle.shift();
    if (next) next();
  }

  protected async respond(firstSentence: string, userText: string, allowTools = true): Promise<void> {
    const turn = ++this.state.turns;
    const answer: Answer = { turn, cancelled: false, interrupted: false };
    this.answer = answer;
    const b = this.behaviour;
    if (b.resumableUpdates) this.resumptionUpdate();
    let sentence2 = `This is answer number ${turn}.`;
    const calls = allowTools ? planCalls(declaredTools(this.setup), userText, turn, b) : [];
    if (calls.length > 0) {
      const results = calls.map((c) => new Promise<unknown>((resolve) => this.pendingCalls.set(c.id, { ...c, resolve })));
      this.send({ toolCall: { functionCalls: calls.map(({ id, name, args }) => ({ id, name, args })) } });
      if (b.resumableUpdates) this.resumptionUpdate();
      const blocking = calls.filter((c) => c.blocking);
      if (blocking.length > 0) {
        const timeout = new Promise((r) => setTimeout(() => r(undefined), 10_000).unref());
        const responses = await Promise.all(calls.map((c, i) => (c.blocking ? Promise.race([results[i], timeout]) : undefined)));
        if (answer.cancelled) return;
        sentence2 = blocking.map((c) => `The tool ${c.name} said ${describeResult(responses[calls.indexOf(c)])}.`).join(' ');
      } else sentence2 = `Let me check that with ${calls.map((c) => c.name).join(' and ')}.`;
    }
    // A greeting is short: the user should not have to talk over it.
    const text = firstSentence.startsWith('Hello! I am') ? firstSentence : `${firstSentence} ${sentence2}`.trim();
    const pcm = await synthesize(text, b.voice);
    await sleep(b.firstAudioDelayMs);
    if (answer.cancelled || this.closed) return;
    await this.waitWhileStalled(answer);
    if (answer.cancelled || this.closed) return;
    this.emit('answer-started', { turn, text });
    const plan = planAnswer(pcm, text, b, this.rng, Boolean(this.setup?.outputAudioTranscription));
    const start = performance.now();
    let sent = 0;
    for (const e of plan.events) {
      const wait = start + e.at - performance.now();
      if (wait > 0) await sleep(wait);
      else if (++sent % 8 === 0) await new Promise((r) => setImmediate(r));
      await this.waitWhileStalled(answer);
      if (answer.cancelled || this.closed) return;
      this.send(e.kind === 'turnComplete' ? { serverContent: this.turnCompleteFields({ turnComplete: true }) } : e.message);
    }
    this.answer = undefined;
    this.state.history.push({ role: 'model', text });
    this.sendUsage(plan.audioMs);
    this.resumptionUpdate();
    const audibleSamples = pcm.reduce((n, v) => (v !== 0 ? n + 1 : n), 0);
    this.emit('answer-finished', { turn, interrupted: false, audioMs: (pcm.length / SIM_OUTPUT_RATE) * 1000, audibleSamples, text });
    this.runWhenIdle();
  }

  private sendUsage(answerMs: number): void {
    const textTokens = 20 + this.state.history.length * 12;
    const responseTokens = Math.round((answerMs / 1000) * 25);
    if (!this.behaviour.usageDetails) {
      this.send({ usageMetadata: { promptTokenCount: textTokens, responseTokenCount: responseTokens, totalTokenCount: textTokens + responseTokens } });
      return;
    }
    const audioTokens = Math.round((this.userAudioMs / 1000) * 25);
    const prompt = textTokens + audioTokens;
    this.send({
      usageMetadata: {
        promptTokenCount: prompt,
        responseTokenCount: responseTokens,
        totalTokenCount: prompt + responseTokens,
        promptTokensDetails: [{ modality: 'TEXT', tokenCount: textTokens }, { modality: 'AUDIO', tokenCount: audioTokens }],
        responseTokensDetails: [{ modality: 'AUDIO', tokenCount: responseTokens }],
      },
    });
  }

  private async waitWhileStalled(answer: Answer): Promise<void> {
    while (this.stalled && !answer.cancelled && !this.closed) await sleep(Math.min(200, this.stalledUntil - Date.now()));
  }

  // ---- tools ----

  protected get blockingCallPending(): boolean {
    return [...this.pendingCalls.values()].some((c) => c.blocking);
  }

  protected onToolResponse(response: Json): void {
    const list = (response.functionResponses as { id?: string; response?: unknown; scheduling?: string }[] | undefined) ?? [];
    for (const r of list) {
      const call = r.id ? this.pendingCalls.get(r.id) : undefined;
      if (!call) continue;
      this.pendingCalls.delete(call.id);
      call.resolve(r.response);
      if (!call.blocking) this.scheduleResult(call, r.response, r.scheduling ?? 'WHEN_IDLE');
    }
    if (!this.answer && this.pendingCalls.size === 0) this.resumptionUpdate();
  }

  /** What a NON_BLOCKING call's result does, per FunctionResponse.scheduling. */
  private scheduleResult(call: PlannedCall, result: unknown, scheduling: string): void {
    const sentence = `The tool ${call.name} said ${describeResult(result)}.`;
    this.state.history.push({ role: 'user', text: `[tool ${call.name}: ${describeResult(result)}]` });
    if (scheduling === 'SILENT') return;
    const speak = () => void this.respond(sentence, '', false);
    if (!this.answer) speak();
    else if (scheduling === 'INTERRUPT') {
      this.interrupt(false);
      speak();
    } else this.whenIdle.push(speak);
  }

  /** Audio while a BLOCKING call is pending: some models close the connection (users report 1008). */
  protected checkAudioDuringCall(): void {
    if (this.behaviour.closeOnAudioDuringBlockingCall && this.blockingCallPending) {
      this.closeWith(CLOSE_CODES.policy, 'Operation is not implemented, or supported, or enabled.');
    }
  }
}
