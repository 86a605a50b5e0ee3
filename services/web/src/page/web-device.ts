/// <reference lib="dom" />
import type { Msg } from '@nats-io/nats-core';
import {
  CAPTURE_SAMPLE_RATE,
  DEFAULT_CHUNK_MS,
  decodeAudioChunk,
  decodeEvent,
  deviceSubject,
  makeEvent,
  STREAMS,
  type EventOnStream,
  type EventStream,
  type VoiceEvent,
} from '@voicebus/protocol';
import { BusLink, fetchGrant, type LinkStatus } from './bus-link.ts';
import { CaptureTimeline } from './capture-timeline.ts';
import { levelDbfs, Microphone, MicrophoneError, type MicrophoneOptions } from './microphone.ts';
import { PageOutbox } from './page-outbox.ts';
import { nowMs } from './page-clock.ts';
import { Speaker, type SpeakerListener } from './speaker.ts';

/** What the page's view is told: every event of its device and everything local. */
export interface DeviceObserver {
  status(status: LinkStatus): void;
  event(event: VoiceEvent): void;
  level(dbfs: number): void;
  problem(message: string | undefined): void;
  /** The local speaker started or stopped the assistant (the view's "assistant speaking"). */
  speaking(turnId: string | undefined): void;
}

/**
 * The page's own record of what it captured, for tests: one entry per chunk, with when it
 * reached the main thread (`arrivedAt`, epoch ms, performance.now()'s clock): a chunk arrives
 * after its last sample was captured, so arrivedAt − (captureTsUs + one chunk) is never negative,
 * and is small for the promptest chunks, if the capture times are on the clock playout uses.
 */
export interface CaptureRecord {
  chunks: { seq: number; captureTsUs: number; arrivedAt: number; dbfs: number; firstLoudSample: number }[];
}

const LOUD = 1000;

/**
 * One browser device: the microphone publishes `audio.in` with the capture service's headers
 * and timeline, the speaker plays `audio.out` and publishes the playback events a playback
 * service would (this device announces `playout: 'device'`, so the playback service leaves its
 * audio alone and only adds the latency up), and every event of the device goes to the view.
 * A malformed message is counted in the console and dropped; nothing else notices.
 */
export class WebDevice {
  readonly deviceId: string;
  readonly link: BusLink;
  /** Everything the device publishes, held across a lost connection. */
  readonly outbox: PageOutbox;
  readonly timeline = new CaptureTimeline({ chunkMs: DEFAULT_CHUNK_MS });
  readonly capture: CaptureRecord = { chunks: [] };
  malformed = 0;
  denied: string[] = [];
  muted = false;
  private readonly observer: DeviceObserver;
  private mic: Microphone | undefined;
  private speaker: Speaker | undefined;
  private readonly startedAt = Date.now();
  private audibleTurn: string | undefined;
  private pausedTurn: string | undefined;

  constructor(deviceId: string, observer: DeviceObserver) {
    this.deviceId = deviceId;
    this.observer = observer;
    this.link = new BusLink({
      grant: () => fetchGrant(deviceId),
      status: (s) => observer.status(s),
      connected: () => this.announce(),
      serverError: (err) => {
        // Permission violations are the server saying no: shown as a problem, kept for tests.
        this.denied.push(err.message);
        console.warn(`voicebus: the bus refused: ${err.message}`);
      },
    });
    this.outbox = new PageOutbox(this.link, deviceId);
    this.link.subscribe(deviceSubject(deviceId, STREAMS.audioOut), (m) => this.onAnswerAudio(m));
    for (const stream of [STREAMS.control, STREAMS.session, STREAMS.turn] as const) {
      this.link.subscribe(deviceSubject(deviceId, stream), (m) => this.onEventMessage(stream, m));
    }
  }

  get speakerRecord() {
    return this.speaker?.record;
  }

  /** Speaker first (it needs no permission), then the microphone, then the bus. */
  async start(mic: Partial<MicrophoneOptions>): Promise<void> {
    this.speaker ??= await Speaker.open(this.speakerListener());
    this.link.start();
    await this.openMic(mic);
  }

  /** New processing settings take a new microphone; the timeline goes on. */
  async openMic(options: Partial<MicrophoneOptions>): Promise<void> {
    await this.mic?.close();
    this.mic = undefined;
    try {
      this.mic = await Microphone.open((pcm, capturedAtUs) => this.onMicChunk(pcm, capturedAtUs), options);
      this.observer.problem(undefined);
    } catch (err) {
      this.observer.problem(err instanceof MicrophoneError ? err.message : `Microphone failed: ${(err as Error).message}`);
      throw err;
    }
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
  }

  /** Publishes on any subject: the bus decides (tests try another device's subjects with it). */
  tryPublish(subject: string, text: string): boolean {
    return this.link.publish(subject, new TextEncoder().encode(text));
  }

  trySubscribe(subject: string): void {
    this.link.subscribe(subject, () => {});
  }

  // ---------- microphone → audio.in ----------

  private onMicChunk(pcm: Int16Array, capturedAtUs: number): void {
    // Muted: the timeline goes on with silence, so the stack sees no gap and no speech.
    if (this.muted) pcm.fill(0);
    const { seq, captureTsUs } = this.timeline.next(capturedAtUs);
    let firstLoud = -1;
    for (let i = 0; i < pcm.length; i++) if (Math.abs(pcm[i]!) > LOUD) { firstLoud = i; break; }
    const dbfs = levelDbfs(pcm);
    this.capture.chunks.push({ seq, captureTsUs, arrivedAt: nowMs(), dbfs, firstLoudSample: firstLoud });
    this.observer.level(dbfs);
    if (seq === 0) this.announce();
    this.outbox.audio({ seq, captureTsUs, sampleRate: CAPTURE_SAMPLE_RATE, channels: 1, pcm });
  }

  /** Who this device is and where its timeline starts; again after every reconnect (a restarted service learns it). */
  private announce(): void {
    const firstCaptureTsUs = this.timeline.firstCaptureTsUs;
    if (firstCaptureTsUs === undefined) return;
    this.publishEvent(makeEvent('device.announced', {
      deviceId: this.deviceId,
      source: `browser:${navigator.userAgent.slice(0, 200)}`,
      sampleRate: CAPTURE_SAMPLE_RATE,
      channels: 1,
      chunkMs: DEFAULT_CHUNK_MS,
      startedAt: this.startedAt,
      firstCaptureTsUs,
      playout: 'device',
    }));
  }

  // ---------- audio.out → speaker ----------

  private onAnswerAudio(msg: Msg): void {
    try {
      const chunk = decodeAudioChunk(msg.data, msg.headers);
      if (chunk.sampleRate !== 24_000 || chunk.channels !== 1) throw new Error(`expected 24 kHz mono, got ${chunk.sampleRate} Hz × ${chunk.channels}`);
      this.speaker?.play(chunk, chunk.turnId ?? 'unknown');
    } catch (err) {
      this.countMalformed('audio.out', err);
    }
  }

  private onEventMessage<S extends EventStream>(stream: S, msg: Msg): void {
    let event: EventOnStream<S>;
    try {
      event = decodeEvent(stream, msg.data);
      if (event.deviceId !== this.deviceId) throw new Error(`event for ${event.deviceId} on ${this.deviceId}'s subject`);
    } catch (err) {
      this.countMalformed(stream, err);
      return;
    }
    try {
      this.onEvent(event as VoiceEvent);
      this.observer.event(event as VoiceEvent);
    } catch (err) {
      // A valid event the page cannot handle is a bug here, not a reason to stop.
      console.error('voicebus: failed to handle', event.type, err);
    }
  }

  private countMalformed(stream: string, err: unknown): void {
    this.malformed++;
    console.warn(`voicebus: malformed message on ${stream} dropped (${this.malformed} so far): ${(err as Error).message?.slice(0, 300)}`);
  }

  private onEvent(event: VoiceEvent): void {
    const speaker = this.speaker;
    if (!speaker) return;
    switch (event.type) {
      case 'control.interrupt':
        return speaker.flush('now', event.turnId);
      case 'control.flush':
        return speaker.flush(event.at ?? 'now', event.turnId);
      case 'turn.pause':
      case 'turn.end':
        return speaker.reopen(event.turnId);
      case 'control.pause':
        return speaker.pause();
      case 'control.resume':
        return speaker.resume();
      case 'assistant.turn.complete':
        return speaker.complete(event.turnId);
      default:
        return;
    }
  }

  // ---------- speaker → playback events ----------

  private speakerListener(): SpeakerListener {
    const id = this.deviceId;
    return {
      started: (turnId, playedAt, bufferMs) => {
        this.publishEvent(makeEvent('playback.started', { deviceId: id, turnId, playedAt, bufferMs, playout: 'device' }));
        this.audible(turnId, true, false, playedAt);
      },
      finished: (turnId, playedMs, at) => {
        this.publishEvent(makeEvent('playback.finished', { deviceId: id, turnId, playedMs }));
        this.audible(turnId, false, false, at);
      },
      flushed: (turnId, droppedMs, at) => {
        this.publishEvent(makeEvent('playback.flushed', { deviceId: id, turnId, droppedMs }));
        this.audible(turnId ?? this.audibleTurn ?? this.pausedTurn, false, false, at);
      },
      underrun: (turnId, silenceMs) => this.publishEvent(makeEvent('playback.underrun', { deviceId: id, turnId, silenceMs })),
      paused: (turnId, at) => {
        this.publishEvent(makeEvent('playback.paused', { deviceId: id, turnId }));
        if (turnId && this.audibleTurn === turnId) this.audible(turnId, false, true, at);
      },
      resumed: (turnId, at) => {
        this.publishEvent(makeEvent('playback.resumed', { deviceId: id, turnId }));
        if (turnId && this.pausedTurn === turnId) this.audible(turnId, true, false, at);
      },
    };
  }

  /** What the user hears now, on every change (the one source of that fact, as playback's). */
  private audible(turnId: string | undefined, audible: boolean, paused: boolean, at: number): void {
    this.audibleTurn = audible ? turnId : undefined;
    this.pausedTurn = paused ? turnId : undefined;
    this.publishEvent(makeEvent('assistant.audible', { deviceId: this.deviceId, turnId, audible, paused, at }));
    this.observer.speaking(audible ? turnId : undefined);
  }

  private publishEvent(event: VoiceEvent): void {
    this.outbox.event(event);
  }
}
