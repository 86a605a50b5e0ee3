import { GoogleGenAI, type FunctionResponse, type LiveServerMessage, type Session } from '@google/genai';
import { makeEvent, type InterruptionStrategy } from '@voicebus/protocol';
import type { VoiceMetrics } from '@voicebus/runtime';
import { GeminiLiveError } from './gemini-live-error.ts';
import { liveConfig, type GeminiEndpoint, type LiveSettings } from './live-config.ts';
import { LIVE_TIMERS, type HandleStore, type LiveSession, type LiveSessionMessage, type LiveSessionPort } from './live-session.ts';

/** One open socket, whatever opened it. */
export interface LiveSocket {
  sendRealtimeInput: Session['sendRealtimeInput'];
  sendClientContent: Session['sendClientContent'];
  sendToolResponse: Session['sendToolResponse'];
  close(): void;
}

export interface LiveSocketCallbacks {
  onmessage(message: LiveServerMessage): void;
  onclose(code: number, reason: string): void;
  onerror(message: string | undefined): void;
}

export type OpenLiveSocket = (endpoint: GeminiEndpoint, settings: LiveSettings, handle: string | undefined, callbacks: LiveSocketCallbacks) => Promise<LiveSocket>;

/** Opens a socket through the real @google/genai client. */
export const openGenaiSocket: OpenLiveSocket = async (endpoint, settings, handle, callbacks) => {
  const ai = new GoogleGenAI({
    apiKey: endpoint.apiKey,
    // v1beta: the Live API's version (3.x of the SDK defaults to v1).
    httpOptions: { apiVersion: 'v1beta', ...(endpoint.baseUrl ? { baseUrl: endpoint.baseUrl } : {}) },
  });
  return ai.live.connect({
    model: settings.model,
    config: liveConfig(settings, handle),
    callbacks: {
      onmessage: (m) => callbacks.onmessage(m),
      onclose: (e) => callbacks.onclose(e?.code ?? 1006, e?.reason ?? ''),
      onerror: (e) => callbacks.onerror((e as { message?: string } | undefined)?.message),
    },
  });
};

export interface GeminiLiveSessionOptions {
  endpoint: GeminiEndpoint;
  live: LiveSettings;
  /** Announced in `session.opened`. */
  interruption: InterruptionStrategy;
  /** Announced in `session.opened`: the VAD's fast command at a speech onset while audible. */
  onsetReflex: 'interrupt' | 'none';
  /** No server message this long after a user turn was handed over: reconnect (0 = off). */
  watchdogMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** After a configuration error, open again at most this often. */
  configRetryMs: number;
  /** goAway lets the answer in flight finish when more than this is left. */
  goAwayFinishMs: number;
  /** Resumption handles kept across actor restarts (shared by a service's actors). */
  handles: Map<string, string>;
  handleStore: HandleStore | undefined;
  metrics: VoiceMetrics | undefined;
  openSocket: OpenLiveSocket;
  /**
   * Connection attempts per device (shared by a service's actors, shown in its status): a
   * retry storm, or its absence, is a number an operator and a test can read.
   */
  connects: Map<string, number>;
}

export const GEMINI_LIVE_SESSION_DEFAULTS: Omit<GeminiLiveSessionOptions, 'endpoint' | 'live'> = {
  interruption: 'immediate',
  onsetReflex: 'none',
  watchdogMs: 15_000,
  reconnectBaseMs: 250,
  reconnectMaxMs: 10_000,
  configRetryMs: 60_000,
  goAwayFinishMs: 1000,
  handles: new Map(),
  handleStore: undefined,
  metrics: undefined,
  openSocket: openGenaiSocket,
  connects: new Map(),
};

type ReconnectCause = 'closed' | 'watchdog' | 'go-away';

/**
 * One device's Gemini Live session: opens it (with the latest resumption handle), keeps it
 * alive across goAway, dropped sockets and a silent server (reconnects with exponential
 * backoff and jitter), and reports failures as `GeminiLiveError`s. Socket callbacks only
 * queue messages in the actor's mailbox and timers are the actor's, so every state change
 * happens inside the actor, one message at a time.
 */
export class GeminiLiveSession implements LiveSession {
  readonly options: GeminiLiveSessionOptions;
  private readonly port: LiveSessionPort;
  private socket: LiveSocket | undefined;
  private socketId = 0;
  private opening = false;
  private stopped = false;
  private attempt = 0;
  private configErrorAt: number | undefined;
  private goAwayPending = false;
  /** When the last session was lost, for the gap reported when the next one opens. */
  private lostAt: number | undefined;

  constructor(port: LiveSessionPort, options: Partial<GeminiLiveSessionOptions> & Pick<GeminiLiveSessionOptions, 'endpoint' | 'live'>) {
    this.port = port;
    this.options = { ...GEMINI_LIVE_SESSION_DEFAULTS, ...options };
  }

  get connected(): boolean {
    return this.socket !== undefined;
  }

  async open(): Promise<void> {
    if (this.socket || this.opening || this.stopped) return;
    // After a configuration error (1007/1008), retry at most once a minute: no retry storm.
    if (this.configErrorAt !== undefined && Date.now() - this.configErrorAt < this.options.configRetryMs) return;
    await this.connect(false);
  }

  handle(m: LiveSessionMessage): void {
    if (m.socket !== this.socketId || !this.socket) return; // an old socket's last words
    if (m.type === 'closed') return this.onClosed(m.code, m.reason);
    this.port.listener.onMessage(m.message);
    // The model is alive: while an answer is still owed, the watchdog starts over from now.
    if (this.port.listener.answerInFlight() && this.options.watchdogMs > 0) this.port.schedule(LIVE_TIMERS.watchdog, this.options.watchdogMs);
    else this.port.cancel(LIVE_TIMERS.watchdog);
    const update = m.message.sessionResumptionUpdate;
    if (update?.resumable && update.newHandle) {
      this.options.handles.set(this.port.deviceId, update.newHandle);
      this.options.handleStore?.save(this.port.deviceId, update.newHandle);
    }
    if (m.message.goAway) this.onGoAway(m.message.goAway.timeLeft);
  }

  async onTimer(name: string): Promise<boolean> {
    switch (name) {
      case LIVE_TIMERS.reconnect:
        if (!this.socket && !this.stopped) await this.connect(true);
        return true;
      case LIVE_TIMERS.watchdog:
        // Every model message re-arms or cancels this timer, so firing means the model said
        // nothing at all since an answer was owed. It fires even if that answer was given up
        // meanwhile because the user went on talking: a stalled model must not hide behind it.
        if (this.socket) {
          const error = GeminiLiveError.watchdog(this.options.watchdogMs);
          this.port.log.warn({ watchdogMs: this.options.watchdogMs }, 'Gemini stopped answering: reconnecting');
          this.port.publish(makeEvent('session.error', { deviceId: this.port.deviceId, kind: error.kind, message: error.message, retrying: true }));
          this.reconnect('watchdog', error);
        }
        return true;
      case LIVE_TIMERS.goAway:
        if (this.goAwayPending) this.reconnect('go-away', undefined);
        return true;
      default:
        return false;
    }
  }

  sendAudio(pcm: Int16Array, sampleRate: number): void {
    this.socket?.sendRealtimeInput({
      audio: { data: Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64'), mimeType: `audio/pcm;rate=${sampleRate}` },
    });
  }

  activityStart(): void {
    this.socket?.sendRealtimeInput({ activityStart: {} });
  }

  activityEnd(): void {
    this.socket?.sendRealtimeInput({ activityEnd: {} });
  }

  sendText(text: string): void {
    this.socket?.sendClientContent({ turns: [{ role: 'user', parts: [{ text }] }], turnComplete: true });
  }

  sendToolResponse(functionResponses: FunctionResponse[]): void {
    this.socket?.sendToolResponse({ functionResponses });
  }

  expectAnswer(): void {
    if (this.options.watchdogMs > 0 && !this.port.isScheduled(LIVE_TIMERS.watchdog)) this.port.schedule(LIVE_TIMERS.watchdog, this.options.watchdogMs);
  }

  answerFinished(): void {
    if (this.goAwayPending && this.port.listener.quiet()) this.reconnect('go-away', undefined);
  }

  end(reason: string): void {
    if (!this.socket) return;
    this.port.publish(makeEvent('session.closed', { deviceId: this.port.deviceId, reason }));
    this.drop();
    this.forgetHandle();
  }

  stop(): void {
    this.stopped = true;
    this.drop();
  }

  private async connect(reconnect: boolean): Promise<void> {
    this.opening = true;
    const { deviceId } = this.port;
    this.options.connects.set(deviceId, (this.options.connects.get(deviceId) ?? 0) + 1);
    const handle = this.options.handles.get(deviceId) ?? (await this.options.handleStore?.load(deviceId));
    const id = ++this.socketId;
    let closeCode: number | undefined;
    let socketError = false;
    const contained = (what: string, fn: () => void) => {
      // An exception thrown inside the SDK's callbacks would kill the process.
      try {
        fn();
      } catch (err) {
        this.port.log.error({ err, callback: what }, 'error in a Gemini callback (contained)');
      }
    };
    try {
      const socket = await this.options.openSocket(this.options.endpoint, this.options.live, handle, {
        onmessage: (message) => contained('message', () => this.port.send({ kind: 'live', socket: id, type: 'message', message })),
        onclose: (code, reason) => contained('close', () => {
          closeCode = code;
          this.port.send({ kind: 'live', socket: id, type: 'closed', code, reason });
        }),
        onerror: (message) => contained('error', () => {
          socketError = true;
          this.port.log.warn({ err: message }, 'gemini socket error');
        }),
      });
      if (this.stopped) {
        socket.close();
        return;
      }
      this.socket = socket;
      this.attempt = 0;
      this.configErrorAt = undefined;
      this.port.publish(makeEvent('session.opened', {
        deviceId,
        model: this.options.live.model,
        resumed: Boolean(handle),
        turnDetection: this.options.live.turnDetection,
        interruption: this.options.interruption,
        onsetReflex: this.options.onsetReflex,
        ...(this.lostAt !== undefined ? { gapMs: Date.now() - this.lostAt } : {}),
      }));
      this.lostAt = undefined;
      this.port.log.info({ resumed: Boolean(handle), reconnect }, 'live session opened');
      this.port.listener.onOpened({ resumed: Boolean(handle), reconnect });
    } catch (err) {
      this.fail(GeminiLiveError.fromConnectFailure(err, closeCode, socketError));
    } finally {
      this.opening = false;
    }
  }

  private onClosed(code: number, reason: string): void {
    this.socket = undefined;
    this.port.cancel(LIVE_TIMERS.watchdog);
    this.port.publish(makeEvent('session.closed', { deviceId: this.port.deviceId, code, reason: reason || 'closed by the server' }));
    this.fail(GeminiLiveError.fromClose(code, reason));
  }

  private fail(error: GeminiLiveError): void {
    this.lostAt ??= Date.now();
    // An answer in flight is over: its audio stops here.
    this.port.listener.onLost(error);
    const { deviceId } = this.port;
    if (!error.retryable) {
      this.configErrorAt = Date.now();
      this.port.log.error({ code: error.code, reason: error.message }, 'Gemini rejected the session configuration; not retrying');
      this.port.publish(makeEvent('session.error', { deviceId, code: error.code, kind: error.kind, message: error.message.slice(0, 2000), retrying: false }));
      // A bad handle is a likely cause: forget it so the next attempt starts fresh.
      this.forgetHandle();
      return;
    }
    this.port.publish(makeEvent('session.error', { deviceId, ...(error.code ? { code: error.code } : {}), kind: error.kind, message: error.message.slice(0, 2000), retrying: true }));
    this.scheduleReconnect('closed');
  }

  /** goAway: finish the answer in flight if there is time, otherwise reconnect with the latest handle now. */
  private onGoAway(timeLeft: string | undefined): void {
    // timeLeft is a protobuf Duration in JSON: seconds with an `s` suffix ("2.000s").
    const leftMs = Number.parseFloat(timeLeft ?? '0') * 1000 || 0;
    this.port.log.info({ timeLeftMs: leftMs }, 'goAway received: reconnecting with the resumption handle');
    // Reconnect at a quiet moment (between turns) while there is time; at the deadline anyway.
    if (!this.port.listener.quiet() && leftMs > this.options.goAwayFinishMs) {
      this.goAwayPending = true;
      // Do not wait past the deadline.
      this.port.schedule(LIVE_TIMERS.goAway, leftMs - this.options.goAwayFinishMs / 2);
      return;
    }
    this.reconnect('go-away', undefined);
  }

  private reconnect(cause: Exclude<ReconnectCause, 'closed'>, error: GeminiLiveError | undefined): void {
    this.lostAt ??= Date.now();
    // Close the old socket first: one live session per device, never two.
    this.drop();
    this.port.listener.onLost(error);
    this.scheduleReconnect(cause);
  }

  private scheduleReconnect(cause: ReconnectCause): void {
    if (this.stopped) return;
    const attempt = this.attempt++;
    const base = Math.min(this.options.reconnectMaxMs, this.options.reconnectBaseMs * 2 ** attempt);
    // Jitter: devices that lost the same server do not all come back at the same instant.
    const delay = attempt === 0 && cause === 'go-away' ? 0 : base / 2 + Math.random() * (base / 2);
    this.options.metrics?.reconnects.add(1, { 'voicebus.cause': cause });
    this.port.publish(makeEvent('session.reconnecting', { deviceId: this.port.deviceId, cause, attempt, withHandle: this.options.handles.has(this.port.deviceId) }));
    this.port.schedule(LIVE_TIMERS.reconnect, delay);
  }

  /** Forgets the current socket (its late callbacks are ignored) and closes it. */
  private drop(): void {
    this.goAwayPending = false;
    this.port.cancel(LIVE_TIMERS.goAway);
    this.port.cancel(LIVE_TIMERS.watchdog);
    const socket = this.socket;
    this.socket = undefined;
    this.socketId++;
    try {
      socket?.close();
    } catch {
      // already closed
    }
  }

  private forgetHandle(): void {
    this.options.handles.delete(this.port.deviceId);
    this.options.handleStore?.remove(this.port.deviceId);
  }
}
