import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { CLOSE_CODES, SimProtocolError } from './protocol-errors.ts';
import { SIM_OUTPUT_RATE, synthesize } from './speech-synth.ts';

export interface SimBehaviour {
  /** From the end of the user's turn to the first audio of the answer. */
  firstAudioDelayMs: number;
  /** Audio pacing: 1 = real time, 4 = four times faster, 0 = as fast as the socket takes it. */
  speed: number;
  /** Length of each audio message. */
  chunkMs: number;
  /** RMS (full scale 1.0) above which audio counts as speech in automatic mode. */
  energyThreshold: number;
  /** Speech needed before automatic mode calls it a user turn (and interrupts an answer). */
  minSpeechMs: number;
  /** Automatic mode's default end-of-speech silence when the setup gives none. */
  silenceMs: number;
  /** espeak-ng voice. */
  voice: string;
  /** Answer turn numbers (1-based) on which a declared tool is called. */
  toolCallOnTurns: number[];
  /** Send goAway this long after a connection opens (0 = never), like the ~10 min limit. */
  maxConnectionMs: number;
}

export const SIM_BEHAVIOUR_DEFAULTS: SimBehaviour = {
  firstAudioDelayMs: 600,
  speed: 1,
  chunkMs: 40,
  energyThreshold: 0.02,
  minSpeechMs: 120,
  silenceMs: 800,
  voice: 'en-us',
  toolCallOnTurns: [],
  maxConnectionMs: 0,
};

/** What survives a reconnect with a resumption handle. */
export interface ConversationState {
  turns: number;
  history: { role: 'user' | 'model'; text: string }[];
}

type Json = Record<string, unknown>;

interface Answer {
  turn: number;
  cancelled: boolean;
  interrupted: boolean;
}

export interface SimSessionEvents {
  message: [Json];
  'turn-ended': [{ turn: number; userSpeechMs: number; source: 'audio' | 'text' }];
  'answer-started': [{ turn: number; text: string }];
  'answer-finished': [{ turn: number; interrupted: boolean; audioMs: number }];
  closed: [{ code: number; reason: string }];
}

/**
 * One client connection speaking BidiGenerateContent. It answers every user turn with speech
 * saying what it heard ("You spoke for 2.4 seconds. This is answer number 3."), streamed at a
 * controlled pace, and can be interrupted, told to go away, dropped or stalled by a test.
 */
export class SimSession extends EventEmitter<SimSessionEvents> {
  readonly id = randomBytes(4).toString('hex');
  readonly apiVersion: string;
  readonly messages: Json[] = [];
  setup: Json | undefined;
  state: ConversationState = { turns: 0, history: [] };
  resumedFrom: string | undefined;
  private readonly ws: WebSocket;
  private readonly behaviour: SimBehaviour;
  private readonly handles: Map<string, ConversationState>;
  private manual = false;
  private inputRate = 16000;
  /** User audio of the current turn (ms) and, in automatic mode, the energy detector. */
  private userSpeechMs = 0;
  private inActivity = false;
  private speechRunMs = 0;
  private silenceRunMs = 0;
  private autoSpeaking = false;
  private answer: Answer | undefined;
  private stalledUntil = 0;
  private pendingTool: { id: string; resolve: (result: unknown) => void } | undefined;
  private goAwayTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(ws: WebSocket, apiVersion: string, behaviour: SimBehaviour, handles: Map<string, ConversationState>) {
    super();
    this.ws = ws;
    this.apiVersion = apiVersion;
    this.behaviour = behaviour;
    this.handles = handles;
    ws.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    ws.on('close', (code, reason) => {
      this.closed = true;
      clearTimeout(this.goAwayTimer);
      if (this.answer) this.answer.cancelled = true;
      this.emit('closed', { code, reason: reason.toString() });
    });
    ws.on('error', () => {});
  }

  get automaticActivityDetection(): boolean {
    return !this.manual;
  }

  get answering(): boolean {
    return this.answer !== undefined;
  }

  // ---- controls (tests, HTTP API) ----

  goAway(timeLeftMs: number): void {
    this.send({ goAway: { timeLeft: `${(timeLeftMs / 1000).toFixed(3)}s` } });
    setTimeout(() => this.closeWith(CLOSE_CODES.goingAway, 'session time limit reached'), timeLeftMs).unref();
  }

  /** Destroys the socket without a close frame: the client sees 1006. */
  drop(): void {
    this.ws.terminate();
  }

  closeWith(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason.slice(0, 120));
  }

  /** Stops answering and sending for `ms` (Infinity = until closed). */
  stall(ms: number): void {
    this.stalledUntil = ms === Infinity ? Infinity : Date.now() + ms;
  }

  /** Sends any JSON as a server message (tests: malformed or unexpected messages). */
  sendRaw(message: Record<string, unknown>): void {
    this.send(message);
  }

  sendResumptionUpdate(): string | undefined {
    if (!this.setup?.sessionResumption) return undefined;
    const handle = `sim-${randomBytes(8).toString('hex')}`;
    this.handles.set(handle, structuredClone(this.state));
    this.send({ sessionResumptionUpdate: { newHandle: handle, resumable: true } });
    return handle;
  }

  // ---- wire ----

  private send(message: Json): void {
    if (this.closed || Date.now() < this.stalledUntil) return;
    // The real service sends JSON in binary frames.
    this.ws.send(Buffer.from(JSON.stringify(message)), { binary: true });
  }

  private onFrame(data: Buffer, _isBinary: boolean): void {
    if (Date.now() < this.stalledUntil) return;
    let msg: Json;
    try {
      msg = JSON.parse(data.toString('utf8')) as Json;
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new Error('not an object');
    } catch {
      this.fail(new SimProtocolError(CLOSE_CODES.invalidPayload, 'Invalid JSON payload received.'));
      return;
    }
    this.messages.push(redactAudio(msg));
    if (this.messages.length > 5000) this.messages.splice(0, 1000);
    this.emit('message', msg);
    try {
      this.dispatch(msg);
    } catch (err) {
      this.fail(err instanceof SimProtocolError ? err : new SimProtocolError(CLOSE_CODES.internal, 'Internal error encountered.'));
    }
  }

  private fail(err: SimProtocolError): void {
    this.closeWith(err.code, err.message);
  }

  private dispatch(msg: Json): void {
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
  }

  private onSetup(setup: Json): void {
    const model = setup.model;
    if (typeof model !== 'string' || !model.startsWith('models/')) {
      throw new SimProtocolError(CLOSE_CODES.invalidPayload, 'setup.model must be "models/<name>".');
    }
    if (/not-?found|invalid|bogus/i.test(model)) {
      throw new SimProtocolError(CLOSE_CODES.policy, `${model} is not found for API version ${this.apiVersion}, or is not supported for bidiGenerateContent.`);
    }
    const resumption = setup.sessionResumption as Json | undefined;
    if (resumption?.handle) {
      const saved = this.handles.get(String(resumption.handle));
      if (!saved) throw new SimProtocolError(CLOSE_CODES.invalidPayload, 'Invalid session resumption handle.');
      this.state = structuredClone(saved);
      this.resumedFrom = String(resumption.handle);
    }
    this.setup = setup;
    const aad = (setup.realtimeInputConfig as Json | undefined)?.automaticActivityDetection as Json | undefined;
    this.manual = aad?.disabled === true;
    this.send({ setupComplete: {} });
    if (this.behaviour.maxConnectionMs > 0) {
      this.goAwayTimer = setTimeout(() => this.goAway(Math.min(10_000, this.behaviour.maxConnectionMs / 10)), this.behaviour.maxConnectionMs);
      this.goAwayTimer.unref();
    }
  }

  private onRealtimeInput(input: Json): void {
    if (input.activityStart !== undefined || input.activityEnd !== undefined) {
      if (!this.manual) {
        throw new SimProtocolError(CLOSE_CODES.invalidPayload, 'Explicit activity control is not supported when automatic activity detection is enabled.');
      }
    }
    if (input.activityStart !== undefined) {
      if (this.answer) this.interrupt();
      this.inActivity = true;
      this.userSpeechMs = 0;
    }
    const blobs = [input.audio, ...((input.mediaChunks as Json[] | undefined) ?? [])].filter(Boolean) as Json[];
    for (const blob of blobs) this.onAudio(blob);
    if (input.activityEnd !== undefined) {
      if (this.inActivity) this.endUserTurn('audio', this.userSpeechMs);
      this.inActivity = false;
    }
    if (input.audioStreamEnd && !this.manual && this.autoSpeaking) {
      this.autoSpeaking = false;
      this.endUserTurn('audio', this.userSpeechMs);
    }
    if (typeof input.text === 'string' && input.text) this.userText(input.text);
  }

  private onAudio(blob: Json): void {
    const mime = blob.mimeType;
    if (typeof mime !== 'string' || !mime.startsWith('audio/pcm')) {
      throw new SimProtocolError(CLOSE_CODES.invalidPayload, 'Request contains an invalid argument: audio needs mimeType "audio/pcm;rate=N".');
    }
    const rate = Number(/rate=(\d+)/.exec(mime)?.[1] ?? 16000);
    this.inputRate = rate > 0 ? rate : 16000;
    const bytes = Buffer.from(String(blob.data ?? ''), 'base64');
    const pcm = new Int16Array(bytes.length >> 1);
    Buffer.from(pcm.buffer).set(bytes.subarray(0, pcm.length * 2));
    const ms = (pcm.length / this.inputRate) * 1000;
    if (this.manual) {
      if (this.inActivity) this.userSpeechMs += ms;
      return;
    }
    // Automatic mode: the simulator's own (simple) activity detection.
    let sum = 0;
    for (const s of pcm) sum += (s / 32768) ** 2;
    const loud = Math.sqrt(sum / Math.max(1, pcm.length)) >= this.behaviour.energyThreshold;
    const silenceMs = Number(((this.setup?.realtimeInputConfig as Json | undefined)?.automaticActivityDetection as Json | undefined)?.silenceDurationMs ?? this.behaviour.silenceMs);
    if (loud) {
      this.speechRunMs += ms;
      this.silenceRunMs = 0;
      if (!this.autoSpeaking && this.speechRunMs >= this.behaviour.minSpeechMs) {
        this.autoSpeaking = true;
        this.userSpeechMs = this.speechRunMs;
        if (this.answer) this.interrupt();
      } else if (this.autoSpeaking) this.userSpeechMs += ms;
    } else {
      this.speechRunMs = 0;
      if (this.autoSpeaking) {
        this.silenceRunMs += ms;
        if (this.silenceRunMs >= silenceMs) {
          this.autoSpeaking = false;
          this.endUserTurn('audio', this.userSpeechMs);
        }
      }
    }
  }

  private onClientContent(content: Json): void {
    const turns = (content.turns as { role?: string; parts?: { text?: string }[] }[] | undefined) ?? [];
    const text = turns.flatMap((t) => (t.parts ?? []).map((p) => p.text ?? '')).join(' ').trim();
    if (text) this.state.history.push({ role: 'user', text });
    if (content.turnComplete !== false) this.userText(text, false);
  }

  private onToolResponse(response: Json): void {
    const list = (response.functionResponses as { id?: string; response?: unknown }[] | undefined) ?? [];
    const pending = this.pendingTool;
    const match = list.find((r) => r.id === pending?.id);
    if (pending && match) {
      this.pendingTool = undefined;
      pending.resolve(match.response);
    }
  }

  private userText(text: string, record = true): void {
    if (record && text) this.state.history.push({ role: 'user', text });
    if (this.answer) this.interrupt();
    this.emit('turn-ended', { turn: this.state.turns + 1, userSpeechMs: 0, source: 'text' });
    // A greeting gets an introduction; any other text is echoed, so tests can tell turns apart.
    const first = /introduce yourself/i.test(text) ? 'Hello! I am the voicebus simulator.' : text ? `You said: ${text.slice(0, 80).replace(/[.!?]+$/, '')}.` : 'Hello!';
    void this.respond(first, 0, text);
  }

  private endUserTurn(source: 'audio', userSpeechMs: number): void {
    this.emit('turn-ended', { turn: this.state.turns + 1, userSpeechMs, source });
    const seconds = (userSpeechMs / 1000).toFixed(1);
    if (this.setup?.inputAudioTranscription) this.send({ serverContent: { inputTranscription: { text: `[user speech ${seconds} s]` } } });
    this.state.history.push({ role: 'user', text: `[user speech ${seconds} s]` });
    void this.respond(`You spoke for ${seconds} seconds.`, userSpeechMs, '');
  }

  private interrupt(): void {
    const a = this.answer;
    if (!a) return;
    a.cancelled = true;
    a.interrupted = true;
    this.answer = undefined;
    this.send({ serverContent: { interrupted: true } });
    this.send({ serverContent: { turnComplete: true } });
  }

  private declaredTools(): { name: string }[] {
    const tools = (this.setup?.tools as { functionDeclarations?: { name: string }[] }[] | undefined) ?? [];
    return tools.flatMap((t) => t.functionDeclarations ?? []);
  }

  private async respond(firstSentence: string, _userSpeechMs: number, userText: string): Promise<void> {
    const turn = ++this.state.turns;
    const answer: Answer = { turn, cancelled: false, interrupted: false };
    this.answer = answer;
    const b = this.behaviour;
    let sentence2 = `This is answer number ${turn}.`;
    const tools = this.declaredTools();
    const tool = tools.find((t) => userText.includes(t.name)) ?? (b.toolCallOnTurns.includes(turn) ? tools[0] : undefined);
    if (tool) {
      const id = `call-${randomBytes(4).toString('hex')}`;
      const result = new Promise<unknown>((resolve) => (this.pendingTool = { id, resolve }));
      this.send({ toolCall: { functionCalls: [{ id, name: tool.name, args: {} }] } });
      const response = await Promise.race([result, new Promise((r) => setTimeout(() => r(undefined), 10_000))]);
      if (answer.cancelled) return;
      sentence2 = `The tool ${tool.name} said ${summarise(response)}.`;
    }
    // A greeting is short: the user should not have to talk over it.
    const text = firstSentence.startsWith('Hello! I am') ? firstSentence : `${firstSentence} ${sentence2}`;
    const pcm = await synthesize(text, b.voice);
    await sleep(b.firstAudioDelayMs);
    if (answer.cancelled || this.closed) return;
    await this.waitWhileStalled(answer);
    this.emit('answer-started', { turn, text });
    const chunk = Math.round((SIM_OUTPUT_RATE * b.chunkMs) / 1000);
    const words = text.split(' ');
    let wordsSent = 0;
    const start = performance.now();
    for (let off = 0, i = 0; off < pcm.length; off += chunk, i++) {
      if (b.speed > 0) {
        const due = start + (i * b.chunkMs) / b.speed;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      } else if (i % 8 === 0) {
        await new Promise((r) => setImmediate(r));
      }
      await this.waitWhileStalled(answer);
      if (answer.cancelled || this.closed) return;
      const part = pcm.subarray(off, off + chunk);
      this.send({
        serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: `audio/pcm;rate=${SIM_OUTPUT_RATE}`, data: Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('base64') } }] } },
      });
      // The transcript follows the audio: words are released as the audio passes them.
      if (this.setup?.outputAudioTranscription) {
        const due = Math.ceil(((off + part.length) / pcm.length) * words.length);
        if (due > wordsSent) {
          this.send({ serverContent: { outputTranscription: { text: (wordsSent > 0 ? ' ' : '') + words.slice(wordsSent, due).join(' ') } } });
          wordsSent = due;
        }
      }
    }
    if (answer.cancelled || this.closed) return;
    this.answer = undefined;
    this.state.history.push({ role: 'model', text });
    this.send({ serverContent: { generationComplete: true } });
    this.send({ serverContent: { turnComplete: true } });
    const promptTokens = 20 + this.state.history.length * 12;
    const responseTokens = Math.round((pcm.length / SIM_OUTPUT_RATE) * 25);
    this.send({ usageMetadata: { promptTokenCount: promptTokens, responseTokenCount: responseTokens, totalTokenCount: promptTokens + responseTokens } });
    this.sendResumptionUpdate();
    this.emit('answer-finished', { turn, interrupted: false, audioMs: (pcm.length / SIM_OUTPUT_RATE) * 1000 });
  }

  private async waitWhileStalled(answer: Answer): Promise<void> {
    while (Date.now() < this.stalledUntil && !answer.cancelled && !this.closed) await sleep(Math.min(200, this.stalledUntil - Date.now()));
  }
}

function summarise(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'object' && value !== null && 'output' in value ? String((value as { output: unknown }).output) : JSON.stringify(value);
  return text.slice(0, 60);
}

/** Kept messages drop the audio itself (tests assert on shapes, not on megabytes of base64). */
function redactAudio(msg: Json): Json {
  const ri = msg.realtimeInput as Json | undefined;
  const audio = ri?.audio as Json | undefined;
  if (!audio?.data) return msg;
  return { ...msg, realtimeInput: { ...ri, audio: { ...audio, data: `<${Buffer.from(String(audio.data), 'base64').length} bytes>` } } };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
