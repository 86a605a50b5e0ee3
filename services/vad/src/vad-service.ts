import { AudioHistory, DeviceOutbox, runService, UsageError, type ActorService, type ServiceDefinition } from '@voicebus/runtime';
import { STREAMS, TURN_HISTORY_STREAM } from '@voicebus/protocol';
import { BatchedSileroEngine, createBatchedSileroEngine, isBatchableEngine } from './engines/batched-silero-engine.ts';
import { createVadEngine } from './engines/create-engine.ts';
import { TurnHistory } from './turn-history.ts';
import { VadActor, type VadMessage } from './vad-actor.ts';
import { ENERGY_ENGINE_DEFAULTS, speechOptions, VAD_FLAGS, type VadFlags } from './vad-flags.ts';

/** Silero per device: speech facts and turns for everyone else to act on. */
export const VAD_SERVICE: ServiceDefinition<VadFlags, ActorService<VadMessage>> = {
  name: 'vad',
  version: '0.1.0',
  description: 'Silero voice activity and turn detection per device',
  flags: VAD_FLAGS,
  scaleOut: true,
  async configure(flags, _env, sourceOf) {
    if (flags.engine === 'energy') {
      for (const [k, v] of Object.entries(ENERGY_ENGINE_DEFAULTS)) if (sourceOf(k as keyof VadFlags) === 'default') (flags as unknown as Record<string, number>)[k] = v;
    }
    if (flags.endpointing === 'speculative' && flags.speculativeSilenceMs >= flags.endOfTurnSilenceMs) {
      throw new UsageError(`--speculative-silence-ms (${flags.speculativeSilenceMs}) must be shorter than --end-of-turn-silence-ms (${flags.endOfTurnSilenceMs}): the speculation is what comes before the end`);
    }
    if (flags.adaptiveMinMs > flags.adaptiveMaxMs) throw new UsageError(`--adaptive-min-ms (${flags.adaptiveMinMs}) is over --adaptive-max-ms (${flags.adaptiveMaxMs})`);
    // Silero v5/v6 batch the frames due together across devices (same decisions, fewer calls),
    // on a worker thread by default so that a call never holds up the chunks arriving meanwhile.
    const engine = isBatchableEngine(flags.engine) && flags.batch > 1
      ? await createBatchedSileroEngine(flags.engine, { maxBatch: flags.batch, thread: flags.inferenceThread })
      : await createVadEngine(flags.engine, { minVolume: flags.minVolume });
    const counters = { rejected: 0, gaps: 0, restarts: 0, gapChunksFilled: 0 };
    let turnHistory: TurnHistory | undefined;
    let audioHistory: AudioHistory | undefined;
    return {
      attach: async (rt) => {
        if (flags.turnHistoryS === 0) return;
        turnHistory = await TurnHistory.open(rt.bus.nc, rt.log, { maxAgeMs: flags.turnHistoryS * 1000, replicas: rt.kvReplicas });
        // The session's copy of the microphones: what was said while no vad listened.
        audioHistory = await AudioHistory.open(rt.bus.nc, rt.log, { replicas: rt.kvReplicas });
      },
      actor: (ctx, rt) => new VadActor(ctx, {
        bus: rt.bus,
        // Turns stored where they are kept (acked), the speech facts and commands live in their turn.
        outbox: (deviceId) => new DeviceOutbox(rt.bus, deviceId, ctx.log, turnHistory ? { history: TURN_HISTORY_STREAM, storedStreams: [STREAMS.turn], confirmHistory: true } : {}),
        engine, speech: speechOptions(flags), turn: flags, facts: flags, metrics: rt.telemetry.metrics, counters, turnHistory, audioHistory }),
      host: { mailboxCapacity: flags.mailboxCapacity },
      routes: (on) => [
        on.audio('audio.in', (chunk, _meta, receivedAtUs) => ({ kind: 'audio', chunk, receivedAtUs })),
        on.events(STREAMS.capture, (event) => ({ kind: 'event', event })),
        on.events(STREAMS.session, (event) => (event.type === 'session.opened' || event.type === 'user.turn.dropped' ? { kind: 'event', event } : undefined)),
        on.events(STREAMS.playback, (event) => (event.type === 'assistant.audible' ? { kind: 'event', event } : undefined), { priority: true, traced: true }),
        // Our own turn events come back on the turn stream; only the latency report matters here.
        on.events(STREAMS.turn, (event) => (event.type === 'turn.latency' ? { kind: 'event', event } : undefined)),
      ],
      stats: () => ({ engine: flags.engine, ...(engine instanceof BatchedSileroEngine ? { batch: engine.batcher.stats } : {}), rejected: counters.rejected, gaps: counters.gaps, gapChunksFilled: counters.gapChunksFilled, captureRestarts: counters.restarts }),
      summary: { engine: flags.engine, endpointing: flags.endpointing, endOfTurnSilenceMs: flags.endOfTurnSilenceMs },
    };
  },
};

export const runVadService = (argv?: readonly string[], env?: NodeJS.ProcessEnv) => runService(VAD_SERVICE, argv, env);
