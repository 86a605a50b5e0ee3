import { context, trace, type Context, type Span } from '@opentelemetry/api';
import { ASSISTANT_SAMPLE_RATE, makeEvent, type AudioChunk, type ControlEvent, type VoiceEvent } from '@voicebus/protocol';
import { ATTR, AudioGaps, latencyAttributes, publishStraight, RecentSet, type Actor, type ActorContext, type AudioHistory, type Bus, type DevicePublisher, type VoiceMetrics } from '@voicebus/runtime';
import { JitterBuffer, type JitterBufferOptions } from './jitter-buffer.ts';
import { MailboxPlayoutClock } from './playout-clock.ts';
import type { Sink } from './sinks.ts';
import { unheardPart, type UnfinishedAnswer } from './answer-history.ts';
import type { DeviceRegistry } from './device-registry.ts';

export type PlaybackMessage =
  | { kind: 'audio'; chunk: AudioChunk; receivedAtUs: number; parent: Context }
  | { kind: 'event'; event: VoiceEvent }
  /** The answer a playback that died left unfinished (from the answer history), first of all. */
  | { kind: 'resume'; answer: UnfinishedAnswer };

export interface PlaybackActorDeps {
  bus: Pick<Bus, 'publishAudio' | 'tryPublishEvent'>;
  /** The device's events held over a NATS outage (DeviceOutbox), said in their order after it; none: published straight. */
  outbox?: ((deviceId: string) => DevicePublisher) | undefined;
  sink: Sink;
  metrics?: VoiceMetrics | undefined;
  jitter: Partial<JitterBufferOptions>;
  counters: { rejected: number };
  /** The answers' audio as the session sent it (`audio.out` in the answer history): none, and a gap in what arrives stays a gap. */
  answerAudio?: Pick<AudioHistory, 'missing'> | undefined;
  /** Each device's last announcement (DeviceRegistry): none, and a restarted playback learns a browser plays for itself only when it announces again. */
  registry?: Pick<DeviceRegistry, 'announcement'> | undefined;
}

interface TurnTiming {
  /** From turn.end: last voiced audio (t0) and the end-of-turn decision (t1). */
  speechStartUs?: number;
  speechEndUs?: number;
  decidedAtMs?: number;
  endOfTurnDelayMs?: number;
  /** From turn.pause: when the VAD said the turn may be over (speculative endpointing). */
  pauseDecidedAtMs?: number;
  /** From assistant.audio.first: activityEnd sent (t2) and model time to first audio. */
  requestedAtMs?: number;
  modelFirstAudioMs?: number;
  /** Here: first audio received (t4) and first sample played (t5). */
  firstReceivedAtUs?: number;
  playedAtUs?: number;
  firstChunkSentAtUs?: number;
  interrupted?: boolean;
  reported?: boolean;
  /** Trace context of the turn's first audio chunk (the session's model-response span). */
  parent?: Context;
  /** From the first audible sample to finished or flushed. */
  span?: Span;
}

/**
 * A restarted playback gets the rest of an answer whose turn.end and first audio came before
 * it ran: it plays it, and says no latency will follow (reportLatency needs both).
 */
const isUnmeasured = (t: TurnTiming) => t.speechEndUs === undefined || t.requestedAtMs === undefined;

/** A pause: this much audio at least, every sample under PAUSE_PEAK (about -36 dBFS). */
const PAUSE_MIN_MS = 80;
const PAUSE_PEAK = 500;
const PAUSE_FLUSH_TIMER = 'flush at pause';

/**
 * One device's playback: the assistant's audio goes through a jitter buffer into the sink;
 * control messages flush, pause and resume it at once; it says whether the assistant is
 * audible (`assistant.audible`, the one source of that fact); when an assistant turn ends it
 * publishes the turn's latency breakdown (it is the last to see the turn, so it can add up
 * t0..t5, see docs/architecture.md). Playout ticks are timers of the actor's own mailbox.
 */
export class PlaybackActor implements Actor<PlaybackMessage> {
  private readonly deviceId: string;
  private readonly deps: PlaybackActorDeps;
  private readonly out: DevicePublisher;
  private readonly buffer: JitterBuffer;
  private readonly timings = new Map<string, TurnTiming>();
  /** Turns flushed (barge-in, a withdrawn speculation): their late audio is dropped until the turn is reopened. */
  private readonly flushed = new Set<string>();
  /** The latest turn decisions heard (bounded; see repeated). */
  private readonly decisions = new RecentSet<string>(64);
  private readonly log: ActorContext['log'];
  private readonly clock: MailboxPlayoutClock;
  private paused = false;
  /** The answer audio heard last: the session sends the last 500 ms before a NATS outage again (its DeviceOutbox). */
  private readonly heardAudio: AudioGaps;
  /** The answer the last chunk heard belongs to: a gap in the numbers counts only within one. */
  private lastHeardTurn: string | undefined;
  /** The resumed answer and its last chunk taken from the history: the same chunks arriving live are not played twice. */
  private resumed: { turnId: string; upToSeq: number } | undefined;
  /**
   * The device plays the assistant itself (a browser: `device.announced` with `playout:
   * 'device'`): its audio is not played here and the device publishes the playback events;
   * this actor only adds each turn's latency up from the device's `playback.started`.
   */
  private playsItself = false;
  /** Whether the device registry was asked (once, before this actor's first message). */
  private registryRead = false;
  /** A flush waiting for the next pause the user hears in this answer (`control.flush` at 'pause'). */
  private flushAtPause: { command: ControlEvent; turnId: string | undefined; silentMs: number } | undefined;
  private readonly ctx: ActorContext<PlaybackMessage>;

  constructor(ctx: ActorContext<PlaybackMessage>, deps: PlaybackActorDeps) {
    this.deviceId = ctx.deviceId;
    this.log = ctx.log;
    this.deps = deps;
    this.out = deps.outbox?.(ctx.deviceId) ?? publishStraight(deps.bus, ctx.deviceId);
    this.clock = new MailboxPlayoutClock(ctx);
    this.ctx = ctx;
    this.heardAudio = new AudioGaps(ctx.deviceId, deps.answerAudio, {}, () => ctx.droppedAudio());
    this.buffer = new JitterBuffer({
      frame: (pcm, playedAtUs, turnId) => {
        this.deps.sink.write(pcm, playedAtUs);
        this.watchForPause(pcm, turnId);
      },
      started: (turnId, playedAtUs, firstReceivedAtUs) => {
        const t = this.timing(turnId);
        t.playedAtUs = playedAtUs;
        t.firstReceivedAtUs ??= firstReceivedAtUs;
        const bufferMs = (playedAtUs - t.firstReceivedAtUs) / 1000;
        this.deps.metrics?.playbackBuffer.record(bufferMs);
        t.span = trace.getTracer('voicebus.playback').startSpan('playback', {
          startTime: playedAtUs / 1000,
          attributes: { [ATTR.deviceId]: this.deviceId, [ATTR.turnId]: turnId, [ATTR.playbackBufferMs]: bufferMs, 'voicebus.sink': this.deps.sink.description },
        }, t.parent ?? context.active());
        this.inTurn(t, () => {
          this.publish(makeEvent('playback.started', { deviceId: this.deviceId, turnId, playedAt: playedAtUs / 1000, bufferMs }));
          this.audible(turnId, true, playedAtUs / 1000);
        });
      },
      finished: (turnId, playedMs) => {
        if (this.flushAtPause?.turnId === turnId) this.flushAtPause = undefined;
        const t = this.timing(turnId);
        const unmeasured = isUnmeasured(t);
        this.inTurn(t, () => {
          this.publish(makeEvent('playback.finished', { deviceId: this.deviceId, turnId, playedMs, ...(unmeasured ? { unmeasured } : {}) }));
          this.audible(turnId, false, this.clock.epochUs() / 1000);
          this.reportLatency(turnId);
        });
        t.span?.setAttribute('voicebus.playback.played_ms', playedMs);
        t.span?.end();
      },
      underrun: (turnId, silenceMs) => {
        this.deps.metrics?.underruns.add(1);
        this.publish(makeEvent('playback.underrun', { deviceId: this.deviceId, turnId, silenceMs }));
      },
    }, { sampleRate: ASSISTANT_SAMPLE_RATE, ...deps.jitter, clock: this.clock });
  }

  onTimer(name: string): void {
    if (name === MailboxPlayoutClock.TIMER) this.clock.fire();
    if (name === PAUSE_FLUSH_TIMER && this.flushAtPause) {
      const { command } = this.flushAtPause;
      this.flushAtPause = undefined;
      this.flush(command, 'flush at a pause');
    }
  }

  /** Counts the silence just played; a pause long enough is where a waiting flush takes effect. */
  private watchForPause(pcm: Int16Array, turnId: string): void {
    const waiting = this.flushAtPause;
    if (!waiting || (waiting.turnId !== undefined && waiting.turnId !== turnId)) return;
    let peak = 0;
    for (let i = 0; i < pcm.length; i++) peak = Math.max(peak, Math.abs(pcm[i]!));
    waiting.silentMs = peak < PAUSE_PEAK ? waiting.silentMs + (pcm.length / ASSISTANT_SAMPLE_RATE) * 1000 : 0;
    // Flushed between frames, through the mailbox: never inside the buffer's own tick.
    if (waiting.silentMs >= PAUSE_MIN_MS) this.ctx.schedule(PAUSE_FLUSH_TIMER, 0, { priority: true });
  }

  /** Publishes what the user hears now (on every change, the only place that does). */
  private audible(turnId: string | undefined, audible: boolean, at: number): void {
    this.publish(makeEvent('assistant.audible', { deviceId: this.deviceId, turnId, audible, paused: this.paused && !audible && turnId !== undefined, at }));
  }

  handle(message: PlaybackMessage): void | Promise<void> {
    if (!this.registryRead) {
      this.registryRead = true;
      const announcing = message.kind === 'event' && message.event.type === 'device.announced';
      if (this.deps.registry && !announcing) return this.readRegistry().then(() => this.dispatch(message));
    }
    return this.dispatch(message);
  }

  /**
   * This actor began after the device announced itself (playback restarted, or took the device
   * over): whether the device plays for itself is read from the registry before anything is
   * played. Only that: the announcement's timeline origin is the live announcement's to set.
   */
  private async readRegistry(): Promise<void> {
    try {
      const announced = await this.deps.registry!.announcement(this.deviceId);
      if (announced?.playout === 'device') this.onEvent(announced);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'device registry unreadable: whether the device plays for itself is learnt from its next announcement');
    }
  }

  private dispatch(message: PlaybackMessage): void | Promise<void> {
    if (message.kind === 'audio') return this.onAudio(message.chunk, message.receivedAtUs, message.parent);
    else if (message.kind === 'resume') this.resume(message.answer);
    else this.onEvent(message.event);
  }

  /** Runs `fn` in the turn's playback span (or its parent), so events join the turn's trace. */
  private inTurn(t: TurnTiming, fn: () => void): void {
    const ctx = t.span ? trace.setSpan(t.parent ?? context.active(), t.span) : t.parent;
    if (ctx) context.with(ctx, fn);
    else fn();
  }

  private onAudio(chunk: AudioChunk, receivedAtUs: number, parent: Context): void | Promise<void> {
    if (this.playsItself) return;
    if (chunk.sampleRate !== ASSISTANT_SAMPLE_RATE || chunk.channels !== 1) {
      this.deps.counters.rejected++;
      this.log.warn({ sampleRate: chunk.sampleRate, channels: chunk.channels }, 'rejected assistant audio: expected 24 kHz mono');
      return;
    }
    const turnId = chunk.turnId ?? 'unknown';
    if (this.flushed.has(turnId)) return;
    if (turnId === this.resumed?.turnId && chunk.seq <= this.resumed.upToSeq) return;
    if (this.heardAudio.alreadyHeard(chunk)) return;
    // Numbers missing within the answer: this subscription came back after some of it went by
    // (its cluster node died); the answer history has them, and they play first, in order.
    // An answer numbers its own chunks from 0: a jump within the answer heard last, or a first
    // chunk heard of an answer that is not its first (its start went by), is what is missing.
    // An answer resumed from the history at start-up (resume) is not started here.
    const startMissed = turnId !== this.lastHeardTurn && chunk.seq > 0 && turnId !== this.resumed?.turnId;
    if (startMissed || (turnId === this.lastHeardTurn && this.heardAudio.isGapBefore(chunk))) {
      const read = startMissed ? this.heardAudio.missingFromStart(chunk, this.log) : this.heardAudio.missingBefore(chunk, this.log);
      return read.then((missing) => {
        const filled = missing.filter((c) => c.turnId === turnId);
        if (filled.length > 0) this.log.info({ turnId, chunks: filled.length }, 'answer audio read back from the answer history: a gap in what arrived');
        for (const c of filled) this.play(c, turnId, receivedAtUs, parent);
        this.play(chunk, turnId, receivedAtUs, parent);
      });
    }
    this.play(chunk, turnId, receivedAtUs, parent);
  }

  private play(chunk: AudioChunk, turnId: string, receivedAtUs: number, parent: Context): void {
    if (this.flushed.has(turnId) || this.heardAudio.alreadyHeard(chunk)) return; // flushed while the gap was read
    this.heardAudio.heard(chunk);
    this.lastHeardTurn = turnId;
    const t = this.timing(turnId);
    if (t.firstReceivedAtUs === undefined) {
      t.firstReceivedAtUs = receivedAtUs;
      t.parent = parent;
      t.firstChunkSentAtUs = chunk.sentAtUs;
      if (chunk.sentAtUs) this.deps.metrics?.busTransit.record((receivedAtUs - chunk.sentAtUs) / 1000, { 'voicebus.hop': 'session-playback' });
    }
    this.buffer.push(turnId, chunk.pcm);
  }

  /**
   * Plays what the user has not heard yet of the answer the last playback left unfinished:
   * it is finished here (`playback.finished`, unmeasured: its latency was not seen here).
   */
  private resume(answer: UnfinishedAnswer): void {
    if (this.playsItself) return;
    const { chunks, skippedMs } = unheardPart(answer, answer.heardUntilMs ?? this.clock.epochUs() / 1000);
    this.resumed = { turnId: answer.turnId, upToSeq: answer.chunks.at(-1)!.seq };
    this.timing(answer.turnId).firstReceivedAtUs = this.clock.epochUs();
    for (const c of chunks) this.buffer.push(answer.turnId, c.pcm);
    if (answer.complete) this.buffer.complete(answer.turnId);
    this.log.info({ turnId: answer.turnId, skippedMs, chunks: chunks.length, complete: answer.complete }, 'resumed the answer the last playback left unfinished');
  }

  private onEvent(event: VoiceEvent): void {
    if (this.playsItself && this.onDeviceEvent(event)) return;
    switch (event.type) {
      case 'device.announced':
        if (event.playout === 'device' && !this.playsItself) {
          this.playsItself = true;
          this.buffer.flush();
          this.log.info('the device plays for itself: its playback events give the latency');
          return;
        }
        if ('setOrigin' in this.deps.sink) (this.deps.sink as { setOrigin(us: number): void }).setOrigin(event.firstCaptureTsUs);
        break;
      case 'turn.pause':
        if (this.repeated(event.type, event.turnId, event.decidedAt)) break;
        this.reopenFlushed(event.turnId);
        this.timing(event.turnId).pauseDecidedAtMs = event.decidedAt;
        break;
      case 'turn.end': {
        if (this.repeated(event.type, event.turnId, event.decidedAt)) break;
        this.reopenFlushed(event.turnId);
        const t = this.timing(event.turnId);
        t.speechStartUs = event.speechStartUs;
        t.speechEndUs = event.speechEndUs;
        t.decidedAtMs = event.decidedAt;
        t.endOfTurnDelayMs = event.endOfTurnDelayMs;
        break;
      }
      case 'assistant.audio.first': {
        const t = this.timing(event.turnId);
        t.requestedAtMs = event.requestedAt;
        t.modelFirstAudioMs = event.modelFirstAudioMs;
        break;
      }
      case 'assistant.turn.complete':
        if (event.interrupted) this.timing(event.turnId).interrupted = true;
        this.buffer.complete(event.turnId);
        break;
      case 'control.interrupt':
        this.flush(event, 'interrupt');
        break;
      case 'control.flush':
        if (event.at === 'pause' && this.buffer.currentTurnId !== undefined) {
          this.flushAtPause = { command: event, turnId: this.buffer.currentTurnId, silentMs: 0 };
          this.log.info({ turnId: this.buffer.currentTurnId, reason: event.reason }, 'flush waits for the next pause');
        } else this.flush(event, 'flush');
        break;
      case 'control.pause': {
        const turnId = this.buffer.currentTurnId;
        this.buffer.pause();
        this.paused = true;
        this.publish(makeEvent('playback.paused', { deviceId: this.deviceId, turnId }));
        if (turnId) this.audible(turnId, false, this.clock.epochUs() / 1000);
        break;
      }
      case 'control.resume': {
        const turnId = this.buffer.currentTurnId;
        this.buffer.resume();
        this.paused = false;
        this.publish(makeEvent('playback.resumed', { deviceId: this.deviceId, turnId }));
        if (turnId && this.timings.get(turnId)?.playedAtUs !== undefined) this.audible(turnId, true, this.clock.epochUs() / 1000);
        break;
      }
      default:
        break;
    }
  }

  /**
   * A turn flushed before its end (a speculative answer the user talked over) is answered
   * again after a new pause or its end: its answer starts afresh.
   */
  private reopenFlushed(turnId: string): void {
    if (this.flushed.delete(turnId)) this.timings.delete(turnId);
  }

  /**
   * The same decision again (a stored publish retried after an outage reached us twice): a
   * turn.end repeated after its answer was interrupted would reopen the answer, and the audio
   * still on its way would play after the barge-in. Each decision has its own time.
   */
  private repeated(type: string, turnId: string, decidedAt: number): boolean {
    const key = `${type} ${turnId} ${decidedAt}`;
    if (this.decisions.has(key)) return true;
    this.decisions.add(key);
    return false;
  }

  /** A device that plays for itself: returns true for what it handled (its own playback events, commands it obeys itself). */
  private onDeviceEvent(event: VoiceEvent): boolean {
    switch (event.type) {
      case 'playback.started': {
        const t = this.timing(event.turnId);
        t.playedAtUs = event.playedAt * 1000;
        t.firstReceivedAtUs = (event.playedAt - event.bufferMs) * 1000;
        return true;
      }
      case 'playback.finished':
        this.reportLatency(event.turnId);
        return true;
      case 'playback.flushed':
        if (event.turnId) {
          // As for a flush of our own: if the turn goes on (a speculative answer withdrawn
          // before it was heard), its next pause or end reopens it and its answer starts afresh.
          this.flushed.add(event.turnId);
          this.timing(event.turnId).interrupted = true;
          this.reportLatency(event.turnId);
        }
        return true;
      case 'control.interrupt':
      case 'control.flush':
      case 'control.pause':
      case 'control.resume':
        return true;
      case 'assistant.turn.complete':
        if (event.interrupted) this.timing(event.turnId).interrupted = true;
        return true;
      default:
        return false;
    }
  }

  private flush(event: ControlEvent, why: string): void {
    this.flushAtPause = undefined;
    const { turnId, droppedMs } = this.buffer.flush();
    this.deps.sink.discard();
    this.paused = false;
    const flushedTurn = turnId ?? event.turnId;
    if (flushedTurn) {
      this.flushed.add(flushedTurn);
      this.timing(flushedTurn).interrupted = true;
    }
    this.log.info({ turnId: flushedTurn, droppedMs, why }, 'playback flushed');
    const t = flushedTurn ? this.timing(flushedTurn) : undefined;
    // The rest of an answer resumed after a restart, heard in part: no latency will follow either.
    const unmeasured = t !== undefined && t.playedAtUs !== undefined && isUnmeasured(t);
    const publish = () => {
      this.publish(makeEvent('playback.flushed', { deviceId: this.deviceId, turnId: flushedTurn, droppedMs, ...(unmeasured ? { unmeasured } : {}) }));
      this.audible(flushedTurn, false, this.clock.epochUs() / 1000);
      if (flushedTurn) this.reportLatency(flushedTurn);
    };
    if (t) this.inTurn(t, publish);
    else publish();
    t?.span?.addEvent('flushed', { [ATTR.droppedMs]: droppedMs });
    t?.span?.setAttribute(ATTR.interrupted, true);
    t?.span?.end();
  }

  /**
   * turn.latency: t0 = speechEndUs, t1 = decidedAt, t2 = requestedAt, t3 = t2 + model,
   * t4 = first audio received, t5 = first sample played. Published once per answered turn.
   * When the model was asked before the end was decided (speculative endpointing), the
   * decision it acted on is the pause: t1 is the pause's, and a hold until the end is buffer.
   */
  private reportLatency(turnId: string): void {
    const t = this.timings.get(turnId);
    if (!t || t.reported || t.playedAtUs === undefined || t.speechEndUs === undefined || t.requestedAtMs === undefined) return;
    t.reported = true;
    const t0 = t.speechEndUs / 1000;
    const t2 = t.requestedAtMs;
    const t1 = t.pauseDecidedAtMs !== undefined && t2 < t.decidedAtMs! ? t.pauseDecidedAtMs : t.decidedAtMs!;
    const t3 = t2 + t.modelFirstAudioMs!;
    const t4 = t.firstReceivedAtUs! / 1000;
    const t5 = t.playedAtUs / 1000;
    const latency = {
      endOfTurnDelayMs: t1 - t0,
      busMs: t2 - t1 + (t4 - t3),
      modelFirstAudioMs: t3 - t2,
      playbackBufferMs: t5 - t4,
      voiceToVoiceMs: t5 - t0,
    };
    this.deps.metrics?.voiceToVoice.record(latency.voiceToVoiceMs);
    t.span?.setAttributes(latencyAttributes(latency));
    this.publish(makeEvent('turn.latency', {
      deviceId: this.deviceId,
      turnId,
      speechStartUs: t.speechStartUs!,
      speechEndUs: t.speechEndUs,
      interrupted: Boolean(t.interrupted),
      ...latency,
    }));
    // Keep the map small: a reported turn needs nothing more.
    this.timings.delete(turnId);
    if (this.flushed.size > 64) this.flushed.delete(this.flushed.values().next().value!);
  }

  private timing(turnId: string): TurnTiming {
    let t = this.timings.get(turnId);
    if (!t) {
      t = {};
      this.timings.set(turnId, t);
      if (this.timings.size > 256) this.timings.delete(this.timings.keys().next().value!);
    }
    return t;
  }

  private publish(event: VoiceEvent): void {
    this.out.tryPublishEvent(event, this.log);
  }

  stop(): void {
    for (const t of this.timings.values()) t.span?.end();
    this.buffer.close();
    this.deps.sink.close();
    this.out.close();
  }
}

