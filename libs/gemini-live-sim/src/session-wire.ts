import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { CLOSE_CODES, SimProtocolError } from './protocol-errors.ts';

export type Json = Record<string, unknown>;

export interface SimSessionEvents {
  message: [Json];
  /** The user started speaking: activityStart, or the server's activity detection. */
  'speech-started': [{ source: 'activity' | 'detector' }];
  'turn-ended': [{ turn: number; userSpeechMs: number; source: 'audio' | 'text' }];
  'answer-started': [{ turn: number; text: string }];
  /** `audibleSamples`: the answer's samples that are not zero (tests compare what was played). */
  'answer-finished': [{ turn: number; interrupted: boolean; audioMs: number; audibleSamples: number; text: string }];
  closed: [{ code: number; reason: string }];
}

/**
 * The socket side of one simulated connection: client frames in (JSON; malformed → 1007),
 * server messages out as JSON in binary frames like the real service, client message
 * counting for transparent resumption, and the faults a test can script (goAway, drop, close
 * with a code, stall).
 */
export abstract class SessionWire extends EventEmitter<SimSessionEvents> {
  readonly id = randomBytes(4).toString('hex');
  readonly apiVersion: string;
  /** Client messages received (audio redacted), oldest first. */
  readonly messages: Json[] = [];
  /**
   * Index of the last client message received on this connection, zero-based with the setup
   * as message 0 (-1 before any). Every message is consumed as it arrives, so this is also the
   * `lastConsumedClientMessageIndex` of transparent resumption.
   */
  lastClientMessageIndex = -1;
  protected readonly ws: WebSocket;
  protected stalledUntil = 0;
  protected closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(ws: WebSocket, apiVersion: string) {
    super();
    this.ws = ws;
    this.apiVersion = apiVersion;
    ws.on('message', (data) => this.onFrame(data as Buffer));
    ws.on('close', (code, reason) => {
      this.closed = true;
      for (const t of this.timers) clearTimeout(t);
      this.onClosed();
      this.emit('closed', { code, reason: reason.toString() });
    });
    ws.on('error', () => {});
  }

  protected abstract dispatch(msg: Json): void;
  protected abstract onClosed(): void;

  // ---- controls (tests, HTTP API) ----

  /** goAway{timeLeft}, then close 1001 when the time is up. */
  goAway(timeLeftMs: number): void {
    this.send({ goAway: { timeLeft: `${(timeLeftMs / 1000).toFixed(3)}s` } });
    this.after(timeLeftMs, () => this.closeWith(CLOSE_CODES.goingAway, 'session time limit reached'));
  }

  /** Destroys the socket without a close frame: the client sees 1006. */
  drop(): void {
    this.ws.terminate();
  }

  closeWith(code: number, reason: string): void {
    if (this.closed) return;
    // A close reason is at most 123 bytes.
    this.ws.close(code, Buffer.from(reason).subarray(0, 120).toString());
  }

  /** Stops answering and sending for `ms` (Infinity = until closed). */
  stall(ms: number): void {
    this.stalledUntil = ms === Infinity ? Infinity : Date.now() + ms;
  }

  /** Sends any JSON as a server message (tests: malformed or unexpected messages). */
  sendRaw(message: Json): void {
    this.send(message);
  }

  // ---- wire ----

  protected get stalled(): boolean {
    return Date.now() < this.stalledUntil;
  }

  protected send(message: Json): void {
    if (this.closed || this.stalled) return;
    this.ws.send(Buffer.from(JSON.stringify(message)), { binary: true });
  }

  /** A timer cleared when the connection closes. */
  protected after(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, Math.max(0, ms));
    t.unref();
    this.timers.add(t);
    return t;
  }

  protected cancelTimer(t: NodeJS.Timeout | undefined): void {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  private onFrame(data: Buffer): void {
    if (this.stalled) return;
    let msg: Json;
    try {
      msg = JSON.parse(data.toString('utf8')) as Json;
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new Error('not an object');
    } catch {
      this.closeWith(CLOSE_CODES.invalidPayload, 'Invalid JSON payload received.');
      return;
    }
    this.lastClientMessageIndex++;
    this.messages.push(redactAudio(msg));
    if (this.messages.length > 5000) this.messages.splice(0, 1000);
    this.emit('message', msg);
    try {
      this.dispatch(msg);
    } catch (err) {
      const e = err instanceof SimProtocolError ? err : new SimProtocolError(CLOSE_CODES.internal, 'Internal error encountered.');
      this.closeWith(e.code, e.message);
    }
  }
}

/** Kept messages drop the audio itself (tests assert on shapes, not on megabytes of base64). */
function redactAudio(msg: Json): Json {
  const ri = msg.realtimeInput as Json | undefined;
  const audio = ri?.audio as Json | undefined;
  if (!audio?.data) return msg;
  return { ...msg, realtimeInput: { ...ri, audio: { ...audio, data: `<${Buffer.from(String(audio.data), 'base64').length} bytes>` } } };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
