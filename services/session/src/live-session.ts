import type { FunctionResponse, LiveServerMessage } from '@google/genai';
import type { VoiceEvent } from '@voicebus/protocol';
import type { Logger } from '@voicebus/runtime';
import type { GeminiLiveError } from './gemini-live-error.ts';

/**
 * The model connection as the session actor sees it: `GeminiLiveSession` is the real one,
 * actor tests use a fake. It runs on its actor's mailbox and timers (`LiveSessionPort`).
 */
/** Results of a socket's callbacks, queued in the actor's mailbox (`socket` says which one). */
export type LiveSessionMessage =
  | { kind: 'live'; socket: number; type: 'message'; message: LiveServerMessage }
  | { kind: 'live'; socket: number; type: 'closed'; code: number; reason: string };

/** The timers a live session arms through its actor; every name starts with `live.`. */
export const LIVE_TIMERS = { reconnect: 'live.reconnect', watchdog: 'live.watchdog', goAway: 'live.go-away' } as const;

/** What the session tells the actor that owns it. */
export interface LiveSessionListener {
  /** A session is open (fresh, or a reconnect with or without a resumption handle). */
  onOpened(info: { resumed: boolean; reconnect: boolean }): void;
  /** A message of the current socket, after the session took what is its own (handles, goAway). */
  onMessage(message: LiveServerMessage): void;
  /** The session is gone (closed, failed, replaced): whatever was in flight is over. */
  onLost(error: GeminiLiveError | undefined): void;
  /** An answer is in flight: the watchdog waits for it. */
  answerInFlight(): boolean;
  /**
   * Nothing is under way (no answer in flight, no user turn being sent or awaiting its answer):
   * a goAway's reconnect waits for such a moment while there is time, so no turn is cut.
   */
  quiet(): boolean;
}

/** The actor's side a live session runs on: its mailbox, its timers, its event publisher. */
export interface LiveSessionPort {
  deviceId: string;
  log: Logger;
  send(message: LiveSessionMessage): void;
  schedule(name: string, delayMs: number): void;
  cancel(name: string): void;
  isScheduled(name: string): boolean;
  publish(event: VoiceEvent): void;
  listener: LiveSessionListener;
}

/** What the session actor uses of its model connection. */
export interface LiveSession {
  readonly connected: boolean;
  /** Opens a session unless one is open or opening, the actor stopped, or a config error is recent. */
  open(): Promise<void>;
  handle(message: LiveSessionMessage): void;
  /** Runs one of the `live.` timers; false when the name is not one of them. */
  onTimer(name: string): Promise<boolean>;
  sendAudio(pcm: Int16Array, sampleRate: number): void;
  activityStart(): void;
  activityEnd(): void;
  sendText(text: string): void;
  sendToolResponse(responses: FunctionResponse[]): void;
  /**
   * A user turn was handed over: the model must say something within the watchdog time. A
   * watchdog already running is not restarted: a model that stalls while the user keeps
   * talking is still noticed.
   */
  expectAnswer(): void;
  /** The answer in flight was closed: a goAway that waited for a quiet moment reconnects now if it is one. */
  answerFinished(): void;
  /** Ends the session on purpose (inactivity), says so, and forgets its resumption handle. */
  end(reason: string): void;
  stop(): void;
}

export type CreateLiveSession = (port: LiveSessionPort) => LiveSession;

/** Resumption handles beyond the process: the KV `ResumptionStore`. */
export interface HandleStore {
  load(deviceId: string): Promise<string | undefined>;
  save(deviceId: string, handle: string): void;
  remove(deviceId: string): void;
}
