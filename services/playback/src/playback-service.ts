import { ANSWER_HISTORY_STREAM, STREAMS } from '@voicebus/protocol';
import { AudioHistory, DeviceOutbox, runService, UsageError, type ActorService, type ServiceDefinition } from '@voicebus/runtime';
import { PlaybackActor, type PlaybackMessage } from './playback-actor.ts';
import { PLAYBACK_FLAGS, type PlaybackFlags } from './playback-flags.ts';
import { sinkFactory, type Sink } from './sinks.ts';
import { AnswerHistory } from './answer-history.ts';
import { DeviceRegistry } from './device-registry.ts';

/** Plays each device's assistant audio through a jitter buffer into a sink; obeys control at once. */
export const PLAYBACK_SERVICE: ServiceDefinition<PlaybackFlags, ActorService<PlaybackMessage>> = {
  name: 'playback',
  version: '0.1.0',
  description: 'Plays each device\'s assistant audio (voice.v1.<device>.audio.out) through a jitter buffer into a sink',
  flags: PLAYBACK_FLAGS,
  scaleOut: true,
  configure(flags) {
    let makeSink: (deviceId: string) => Sink;
    try {
      makeSink = sinkFactory(flags.sink, { soxBin: flags.soxBin });
    } catch (err) {
      throw new UsageError(`--sink: ${(err as Error).message}`);
    }
    const counters = { rejected: 0 };
    let answers: AnswerHistory | undefined;
    let registry: DeviceRegistry | undefined;
    let answerAudio: AudioHistory | undefined;
    return {
      attach: async (rt) => {
        registry = await DeviceRegistry.open(rt.bus.nc, rt.log, { replicas: rt.kvReplicas });
        if (flags.answerHistoryS > 0) answers = await AnswerHistory.open(rt.bus.nc, rt.log, { maxAgeMs: flags.answerHistoryS * 1000, replicas: rt.kvReplicas });
        // The same stream's audio, for a gap in what arrives: read within a second, as the
        // actor waits for it (its playout too).
        if (answers) answerAudio = await AudioHistory.find(rt.bus.nc, rt.log, ANSWER_HISTORY_STREAM, STREAMS.audioOut, { fetchTimeoutMs: 1000 });
      },
      // An answer the last process was playing when it died: its rest was sent already.
      recover: async (rt) => [...((await answers?.unfinished()) ?? [])].map(([deviceId, answer]) => ({
        deviceId,
        message: { kind: 'resume', answer: { ...answer, heardUntilMs: rt.ownership?.lastRenewedAtOf(deviceId) } },
      })),
      actor: (ctx, rt) => new PlaybackActor(ctx, {
        bus: rt.bus,
        // Its events after an outage in their order, stored in the answer history (acked) where
        // one is kept: a playback restarted later reads there which answers were finished.
        outbox: (deviceId) => new DeviceOutbox(rt.bus, deviceId, ctx.log, answers ? { history: ANSWER_HISTORY_STREAM, storedStreams: [STREAMS.playback], confirmHistory: true } : {}),
        registry,
        answerAudio,
        sink: makeSink(ctx.deviceId),
        metrics: rt.telemetry.metrics,
        jitter: { targetMs: flags.jitterTargetMs, frameMs: flags.frameMs },
        counters,
      }),
      host: { mailboxCapacity: flags.mailboxCapacity },
      routes: (on) => [
        on.audio('audio.out', (chunk, meta, receivedAtUs) => ({ kind: 'audio', chunk, receivedAtUs, parent: meta.parent })),
        on.events(STREAMS.control, (event) => ({ kind: 'event', event }), { priority: true, traced: true }),
        on.events(STREAMS.turn, (event) => (event.type === 'turn.end' || event.type === 'turn.pause' ? { kind: 'event', event } : undefined), { priority: true }),
        on.events(STREAMS.session, (event) => (event.type === 'assistant.audio.first' || event.type === 'assistant.turn.complete' ? { kind: 'event', event } : undefined)),
        on.events(STREAMS.capture, (event) => ({ kind: 'event', event })),
        // A device that plays for itself (a browser) says here when its audio started and stopped.
        on.events(STREAMS.playback, (event) => (event.type === 'playback.started' || event.type === 'playback.finished' || event.type === 'playback.flushed' ? { kind: 'event', event } : undefined)),
      ],
      stats: () => ({ sink: flags.sink, rejected: counters.rejected }),
    };
  },
};

export const runPlaybackService = (argv?: readonly string[], env?: NodeJS.ProcessEnv) => runService(PLAYBACK_SERVICE, argv, env);
