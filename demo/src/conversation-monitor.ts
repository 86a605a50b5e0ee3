import { STREAMS, type AudioChunk, type EventOf, type VoiceEvent } from '@voicebus/protocol';
import { RecentSet, type Bus } from '@voicebus/runtime';
import { EventEmitter } from 'node:events';

export const DEVICE_STATES = {
  waiting: 'waiting',
  listening: 'listening',
  userSpeaking: 'user speaking',
  thinking: 'thinking',
  assistantSpeaking: 'assistant speaking',
  ended: 'ended',
} as const;
export type DeviceState = (typeof DEVICE_STATES)[keyof typeof DEVICE_STATES];

/** One row of turns.jsonl: a user turn, where it sits on the input's timeline, and its latency. */
export interface TurnRow {
  turnId: string;
  userStartS: number;
  userEndS: number;
  /** How the user's stop time was found (turn.end's speechEndSource): `energy` or `vad`. */
  userEndSource: 'energy' | 'vad' | null;
  /** Speculative endpointing: answers started at a pause in this turn, and how many the end confirmed or the user withdrew. */
  speculations: Speculations;
  answered: boolean;
  interrupted: boolean;
  /** Why the session never sent the turn to the model, if it did not (a false interruption is by design). */
  dropped: EventOf<'user.turn.dropped'>['reason'] | null;
  endOfTurnDelayMs: number | null;
  busMs: number | null;
  modelFirstAudioMs: number | null;
  playbackBufferMs: number | null;
  voiceToVoiceMs: number | null;
}

/**
 * One device's spoken turns that nobody answered (rows in the order the turns came). A false
 * interruption is no spoken turn; a turn the model took in with the next one (`continued`) is
 * answered only if a later turn of the device was: a conversation that ends on one is owed an
 * answer.
 */
export function unansweredTurns(rows: readonly Pick<TurnRow, 'answered' | 'dropped'>[]): number[] {
  const out: number[] = [];
  rows.forEach((r, i) => {
    if (r.answered || r.dropped === 'false-interruption') return;
    if (r.dropped === 'continued' && rows.slice(i + 1).some((later) => later.answered)) return;
    out.push(i);
  });
  return out;
}

export interface Speculations {
  started: number;
  confirmed: number;
  withdrawn: number;
}

const noSpeculations = (): Speculations => ({ started: 0, confirmed: 0, withdrawn: 0 });

export interface HistoryEntry {
  role: 'user' | 'assistant';
  text: string;
  turnId?: string | undefined;
  at: number;
}

export interface DeviceView {
  deviceId: string;
  state: DeviceState;
  originUs: number | undefined;
  ended: boolean;
  userText: string;
  assistantText: string;
  rows: TurnRow[];
  history: HistoryEntry[];
  interruptions: number;
  speculations: Speculations;
  /** User turns that ended and still wait for their answer to finish. */
  pending: Set<string>;
  assistantActive: boolean;
  userAudio: AudioChunk[];
  restartsSeen: number;
}

/**
 * Watches the bus like a person watching the devices: which state each is in, what was said,
 * and one row per user turn with its latency. It only listens; the services do the work.
 */
export class ConversationMonitor extends EventEmitter<{ change: [DeviceView]; row: [DeviceView, TurnRow] }> {
  readonly devices = new Map<string, DeviceView>();
  private readonly turnEnds = new Map<string, { speechStartUs: number; speechEndUs: number; speechEndSource?: 'energy' | 'vad' | undefined }>();
  private readonly dropped = new Map<string, EventOf<'user.turn.dropped'>['reason']>();
  private readonly speculations = new Map<string, Speculations>();
  private readonly keepUserAudio: boolean;
  /** Devices that announce themselves are watched too (browsers come and go). */
  private readonly acceptNewDevices: boolean;
  /** Wall time of the last event seen, for the quiet-period end of the run. */
  lastEventAt = Date.now();
  /** The events taken lately, as their JSON: one read back from a history, or sent twice, counts once. */
  private readonly seen = new RecentSet<string>(SEEN_KEPT);

  constructor(bus: Bus, deviceIds: string[], options: { keepUserAudio: boolean; acceptNewDevices?: boolean }) {
    super();
    this.keepUserAudio = options.keepUserAudio;
    this.acceptNewDevices = options.acceptNewDevices ?? false;
    for (const id of deviceIds) this.devices.set(id, this.emptyView(id));
    for (const stream of [STREAMS.capture, STREAMS.vad, STREAMS.turn, STREAMS.session, STREAMS.playback, STREAMS.control] as const) {
      bus.subscribeEvents(stream, (event) => this.take(event));
    }
    if (this.keepUserAudio) {
      bus.subscribeAudio('audio.in', (chunk, meta) => this.devices.get(meta.deviceId)?.userAudio.push(chunk));
    }
  }

  private emptyView(deviceId: string): DeviceView {
    return {
      deviceId,
      state: DEVICE_STATES.waiting,
      originUs: undefined,
      ended: false,
      userText: '',
      assistantText: '',
      rows: [],
      history: [],
      interruptions: 0,
      speculations: noSpeculations(),
      pending: new Set(),
      assistantActive: false,
      userAudio: [],
      restartsSeen: 0,
    };
  }

  get allInputsEnded(): boolean {
    for (const d of this.devices.values()) if (!d.ended) return false;
    return true;
  }

  /** True when every device's input ended and every answer it asked for was played. */
  get finished(): boolean {
    for (const d of this.devices.values()) if (!d.ended || d.pending.size > 0 || d.assistantActive) return false;
    return true;
  }

  /**
   * An event, live or read back after the monitor's own connection came back (MissedEvents):
   * the same event twice is taken once.
   */
  take(event: VoiceEvent): void {
    const key = JSON.stringify(event);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.lastEventAt = Date.now();
    this.onEvent(event);
  }

  private onEvent(event: VoiceEvent): void {
    let d = this.devices.get(event.deviceId);
    if (!d && this.acceptNewDevices && event.type === 'device.announced') {
      d = this.emptyView(event.deviceId);
      this.devices.set(event.deviceId, d);
    }
    if (!d) return;
    switch (event.type) {
      case 'device.announced':
        d.originUs ??= event.firstCaptureTsUs;
        d.state = DEVICE_STATES.listening;
        break;
      case 'device.ended':
        d.ended = true;
        break;
      case 'speech.start':
        d.state = DEVICE_STATES.userSpeaking;
        break;
      case 'turn.start':
        d.state = DEVICE_STATES.userSpeaking;
        d.userText = '';
        break;
      case 'turn.end':
        this.turnEnds.set(event.turnId, { speechStartUs: event.speechStartUs, speechEndUs: event.speechEndUs, speechEndSource: event.speechEndSource });
        d.pending.add(event.turnId);
        // The session may have dropped the turn before the VAD finished it (a false interruption).
        if (this.dropped.has(event.turnId)) this.settle(d, event.turnId, false);
        else d.state = DEVICE_STATES.thinking;
        break;
      case 'transcript':
        if (event.role === 'user') d.userText = event.final ? event.text : (d.userText + event.text).slice(-200);
        else d.assistantText = event.final ? event.text : (d.assistantText + event.text).slice(-200);
        if (event.final && event.text.trim()) d.history.push({ role: event.role, text: event.text.trim(), turnId: event.turnId, at: event.ts });
        break;
      case 'assistant.turn.start':
        d.assistantText = '';
        break;
      case 'assistant.audible':
        // Playback says what the user hears; an answer on hold (paused) is still under way.
        d.assistantActive = event.audible || event.paused;
        if (event.audible) d.state = DEVICE_STATES.assistantSpeaking;
        else if (!event.paused) d.state = d.ended ? DEVICE_STATES.ended : DEVICE_STATES.listening;
        break;
      case 'assistant.interrupted':
        d.interruptions++;
        break;
      case 'assistant.speculation': {
        let s = this.speculations.get(event.turnId);
        if (!s) this.speculations.set(event.turnId, (s = noSpeculations()));
        s[event.outcome]++;
        d.speculations[event.outcome]++;
        break;
      }
      case 'user.turn.dropped':
        this.dropped.set(event.turnId, event.reason);
        this.settle(d, event.turnId, false);
        break;
      case 'assistant.turn.complete':
        // The model waits for the user to go on: this turn is answered with the next one.
        if (event.waitingForInput) this.dropped.set(event.turnId, 'continued');
        // An answer that produced no audio still settles its turn.
        if (event.audioMs === 0) this.settle(d, event.turnId, event.interrupted);
        break;
      case 'playback.finished':
        // Heard (the rest of it, after a playback restart) but never measured: answered.
        if (event.unmeasured) this.settle(d, event.turnId, false, true);
        break;
      case 'playback.flushed':
        // The same, cut short by the user: answered, and interrupted.
        if (event.unmeasured && event.turnId) this.settle(d, event.turnId, true, true);
        break;
      case 'turn.latency': {
        const row = this.row(d, event.turnId, event.interrupted, event);
        d.rows.push(row);
        d.pending.delete(event.turnId);
        this.emit('row', d, row);
        break;
      }
      default:
        break;
    }
    this.emit('change', d);
  }

  private settle(d: DeviceView, turnId: string, interrupted: boolean, heard = false): void {
    if (!d.pending.delete(turnId)) return;
    const row = this.row(d, turnId, interrupted, undefined, heard);
    d.rows.push(row);
    this.emit('row', d, row);
  }

  private row(
    d: DeviceView,
    turnId: string,
    interrupted: boolean,
    latency: { endOfTurnDelayMs: number; busMs: number; modelFirstAudioMs: number; playbackBufferMs: number; voiceToVoiceMs: number; speechStartUs: number; speechEndUs: number } | undefined,
    heard = false,
  ): TurnRow {
    const ended = this.turnEnds.get(turnId);
    const span = ended ?? latency;
    const origin = d.originUs ?? 0;
    return {
      turnId,
      userStartS: span ? round3((span.speechStartUs - origin) / 1e6) : NaN,
      userEndS: span ? round3((span.speechEndUs - origin) / 1e6) : NaN,
      userEndSource: ended?.speechEndSource ?? null,
      speculations: this.speculations.get(turnId) ?? noSpeculations(),
      answered: latency !== undefined || heard,
      interrupted,
      dropped: latency === undefined && !heard ? this.dropped.get(turnId) ?? null : null,
      endOfTurnDelayMs: latency ? round1(latency.endOfTurnDelayMs) : null,
      busMs: latency ? round1(latency.busMs) : null,
      modelFirstAudioMs: latency ? round1(latency.modelFirstAudioMs) : null,
      playbackBufferMs: latency ? round1(latency.playbackBufferMs) : null,
      voiceToVoiceMs: latency ? round1(latency.voiceToVoiceMs) : null,
    };
  }

  /** Turns that ended but never got an answer, once the run is over. */
  flushUnanswered(): void {
    for (const d of this.devices.values()) for (const turnId of [...d.pending]) this.settle(d, turnId, false);
  }
}

/** Events remembered for the dedupe: minutes of a few devices' events, seconds of a hundred's. */
const SEEN_KEPT = 20_000;

const round1 = (v: number) => Math.round(v * 10) / 10;
const round3 = (v: number) => Math.round(v * 1000) / 1000;
