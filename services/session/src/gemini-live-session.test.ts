import type { LiveServerMessage } from '@google/genai';
import type { VoiceEvent } from '@voicebus/protocol';
import { memoryLogger } from '@voicebus/runtime/testing';
import { describe, expect, it } from 'vitest';
import { GeminiLiveError } from './gemini-live-error.ts';
import { GeminiLiveSession, type LiveSocketCallbacks, type OpenLiveSocket } from './gemini-live-session.ts';
import type { LiveSessionMessage } from './live-session.ts';
import type { LiveSettings } from './live-config.ts';

const settings = { model: 'm', turnDetection: 'local' } as LiveSettings;

/** A live session on a fake socket opener and a recorded port. */
function harness(opts: { answer?: boolean; refuseWith?: number } = {}) {
  const events: VoiceEvent[] = [];
  const mailbox: LiveSessionMessage[] = [];
  const timers = new Map<string, number>();
  const lost: (GeminiLiveError | undefined)[] = [];
  const opened: { resumed: boolean; reconnect: boolean }[] = [];
  const handlesSeen: (string | undefined)[] = [];
  const closed: number[] = [];
  const callbacks: LiveSocketCallbacks[] = [];
  const stored = new Map<string, string>();
  let userTurn = false;
  let answer = opts.answer ?? false;
  const openSocket: OpenLiveSocket = async (_e, _s, handle, cb) => {
    handlesSeen.push(handle);
    callbacks.push(cb);
    const n = callbacks.length;
    if (opts.refuseWith !== undefined) {
      cb.onclose(opts.refuseWith, 'rejected');
      throw new Error(`Live connection closed before setup completed (code ${opts.refuseWith}): rejected`);
    }
    return { sendRealtimeInput: () => {}, sendClientContent: () => {}, sendToolResponse: () => {}, close: () => void closed.push(n) };
  };
  const live = new GeminiLiveSession({
    deviceId: 'd',
    log: memoryLogger().log,
    send: (m) => mailbox.push(m),
    schedule: (name, ms) => timers.set(name, ms),
    cancel: (name) => timers.delete(name),
    isScheduled: (name) => timers.has(name),
    publish: (e) => events.push(e),
    listener: { onOpened: (i) => opened.push(i), onMessage: () => {}, onLost: (e) => lost.push(e), answerInFlight: () => answer, quiet: () => !answer && !userTurn },
  }, {
    endpoint: { apiKey: 'k', baseUrl: undefined },
    live: settings,
    handles: new Map(),
    handleStore: { load: async (id) => stored.get(id), save: (id, h) => void stored.set(id, h), remove: (id) => void stored.delete(id) },
    reconnectBaseMs: 100,
    watchdogMs: 5000,
    openSocket,
  });
  const message = (m: Record<string, unknown>, socket = callbacks.length) => live.handle({ kind: 'live', socket, type: 'message', message: m as unknown as LiveServerMessage });
  const types = () => events.map((e) => e.type);
  return { live, events, types, mailbox, timers, lost, opened, handlesSeen, closed, callbacks, stored, message, setAnswer: (v: boolean) => (answer = v), setUserTurn: (v: boolean) => (userTurn = v) };
}

describe('GeminiLiveSession', () => {
  it('socket callbacks only queue messages in the mailbox, tagged with their socket', async () => {
    const h = harness();
    await h.live.open();
    h.callbacks[0]!.onmessage({ setupComplete: {} } as LiveServerMessage);
    h.callbacks[0]!.onclose(1011, 'internal');
    expect(h.mailbox.map((m) => [m.socket, m.type])).toEqual([[1, 'message'], [1, 'closed']]);
    expect(h.types()).toEqual(['session.opened']);
  });

  it('keeps resumption handles; goAway with nothing in flight reconnects now with the handle', async () => {
    const h = harness();
    await h.live.open();
    h.message({ sessionResumptionUpdate: { resumable: true, newHandle: 'h1' } });
    expect(h.stored.get('d')).toBe('h1');
    h.message({ goAway: { timeLeft: '5.000s' } });
    expect(h.closed).toEqual([1]);
    expect(h.live.connected).toBe(false);
    expect(h.lost).toEqual([undefined]);
    expect(h.timers.get('live.reconnect')).toBe(0);
    expect(h.events.at(-1)).toMatchObject({ type: 'session.reconnecting', cause: 'go-away', withHandle: true });
    await h.live.onTimer('live.reconnect');
    expect(h.handlesSeen).toEqual([undefined, 'h1']);
    expect(h.events.at(-1)).toMatchObject({ type: 'session.opened', resumed: true });
    // The old socket's late words are not the new one's.
    h.callbacks[0]!.onclose(1001, 'going away');
    h.live.handle(h.mailbox.at(-1)!);
    expect(h.live.connected).toBe(true);
  });

  it('goAway lets an answer in flight finish when there is time (its timer stored, and cleared)', async () => {
    const h = harness({ answer: true });
    await h.live.open();
    h.message({ goAway: { timeLeft: '2.000s' } });
    expect(h.live.connected).toBe(true);
    expect(h.timers.get('live.go-away')).toBe(1500);
    h.setAnswer(false);
    h.live.answerFinished();
    expect(h.live.connected).toBe(false);
    expect(h.timers.has('live.go-away')).toBe(false);
    expect(h.timers.has('live.reconnect')).toBe(true);
  });

  it('a 1011 close reconnects with exponential backoff and jitter', async () => {
    const h = harness();
    await h.live.open();
    h.callbacks[0]!.onclose(1011, 'internal');
    h.live.handle(h.mailbox.at(-1)!);
    expect(h.types()).toEqual(['session.opened', 'session.closed', 'session.error', 'session.reconnecting']);
    expect(h.events[2]).toMatchObject({ code: 1011, kind: 'transient', retrying: true });
    expect(h.lost[0]).toMatchObject({ name: 'GeminiLiveError', code: 1011, kind: 'transient', retryable: true });
    const first = h.timers.get('live.reconnect')!;
    expect(first).toBeGreaterThanOrEqual(50);
    expect(first).toBeLessThanOrEqual(100);
    await h.live.onTimer('live.reconnect');
    // The reconnect says how long the device was without a session; the first open does not.
    const opens = h.events.filter((e) => e.type === 'session.opened');
    expect(opens[0]).not.toHaveProperty('gapMs');
    expect(opens[1]).toMatchObject({ gapMs: expect.any(Number) });
    h.callbacks[1]!.onclose(1006, '');
    h.live.handle(h.mailbox.at(-1)!);
    // A successful open resets the backoff.
    expect(h.timers.get('live.reconnect')!).toBeLessThanOrEqual(100);
  });

  it('a refused setup (1008) is a config error: reported once, no retry, handle forgotten, no reopen within a minute', async () => {
    const h = harness({ refuseWith: 1008 });
    h.stored.set('d', 'stale');
    await h.live.open();
    expect(h.lost[0]).toBeInstanceOf(GeminiLiveError);
    expect(h.lost[0]).toMatchObject({ code: 1008, kind: 'config', retryable: false });
    expect(h.events).toEqual([expect.objectContaining({ type: 'session.error', code: 1008, kind: 'config', retrying: false })]);
    expect(h.timers.has('live.reconnect')).toBe(false);
    expect(h.stored.has('d')).toBe(false);
    await h.live.open();
    expect(h.callbacks).toHaveLength(1);
  });

  it('the watchdog reconnects when the model stays silent after a turn; a message restarts it while an answer is owed, and disarms it after', async () => {
    const h = harness({ answer: true });
    await h.live.open();
    h.live.expectAnswer();
    expect(h.timers.get('live.watchdog')).toBe(5000);
    h.timers.set('live.watchdog', 1); // (the fake timer's remaining time, to see it restart)
    h.message({ serverContent: {} });
    expect(h.timers.get('live.watchdog')).toBe(5000);
    h.setAnswer(false);
    h.message({ serverContent: { turnComplete: true } });
    expect(h.timers.has('live.watchdog')).toBe(false);
    h.setAnswer(true);
    h.live.expectAnswer();
    await h.live.onTimer('live.watchdog');
    expect(h.events.find((e) => e.type === 'session.error')).toMatchObject({ kind: 'watchdog', retrying: true });
    expect(h.live.connected).toBe(false);
    expect(h.lost[0]).toMatchObject({ kind: 'watchdog' });
  });

  it('end() closes on purpose, says why and forgets the handle', async () => {
    const h = harness();
    h.stored.set('d', 'h');
    await h.live.open();
    h.live.end('inactive for 1500 ms');
    expect(h.events.at(-1)).toMatchObject({ type: 'session.closed', reason: 'inactive for 1500 ms' });
    expect(h.stored.has('d')).toBe(false);
    expect(h.timers.has('live.reconnect')).toBe(false);
  });
});

describe('GeminiLiveError', () => {
  it('classifies close codes and connect failures without reading messages', () => {
    expect(GeminiLiveError.fromClose(1007, '')).toMatchObject({ kind: 'config', retryable: false, code: 1007 });
    expect(GeminiLiveError.fromClose(1011, 'x')).toMatchObject({ kind: 'transient', retryable: true, message: 'x' });
    expect(GeminiLiveError.fromConnectFailure(new Error('code 1008 in the text'), undefined, true)).toMatchObject({ kind: 'transient', code: undefined });
    expect(GeminiLiveError.fromConnectFailure(new TypeError('bug'), undefined, false)).toMatchObject({ kind: 'internal', retryable: true });
  });
});

describe('GeminiLiveSession watchdog while the user keeps talking', () => {
  it('a new user turn does not restart a running watchdog: a model that stalls is still noticed', async () => {
    const h = harness({ answer: true });
    await h.live.open();
    h.live.expectAnswer();
    h.timers.set('live.watchdog', 1); // almost due
    h.live.expectAnswer(); // the user's next turn
    expect(h.timers.get('live.watchdog')).toBe(1);
  });

  it('fires when the owed answer was given up because the user went on talking, and the model said nothing since', async () => {
    // Old code: the watchdog only fired with an answer in flight, so a model that stalled while
    // the user's next turn was still being spoken was noticed only a whole watchdog later.
    const h = harness({ answer: true });
    await h.live.open();
    h.live.expectAnswer();
    h.setAnswer(false); // the user's next turn began: the unstarted answer was retired
    h.setUserTurn(true);
    await h.live.onTimer('live.watchdog');
    expect(h.lost[0]).toMatchObject({ kind: 'watchdog' });
    expect(h.live.connected).toBe(false);
  });
});

describe('GeminiLiveSession goAway at a quiet moment', () => {
  it('a goAway while the user is mid-turn waits for the turn and its answer, then reconnects', async () => {
    const h = harness();
    await h.live.open();
    h.setUserTurn(true);
    h.message({ goAway: { timeLeft: '60s' } });
    expect(h.live.connected).toBe(true);
    expect(h.timers.has('live.go-away')).toBe(true);
    // The turn's answer closes while the user already speaks again: still not quiet.
    h.live.answerFinished();
    expect(h.live.connected).toBe(true);
    h.setUserTurn(false);
    h.live.answerFinished();
    expect(h.live.connected).toBe(false);
    expect(h.timers.has('live.reconnect')).toBe(true);
  });
});
