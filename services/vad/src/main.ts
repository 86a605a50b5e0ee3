import { Command, Option } from 'commander';
import { STREAMS } from '@voicebus/protocol';
import { ActorHost, addCommonOptions, addOwnershipOptions, setupOwnership, type DeviceRouter, type OwnershipFlags, nowUs, numberIn, processSpan, startServiceRuntime, type CommonOptions } from '@voicebus/runtime';
import { createVadEngine } from './engines/create-engine.ts';
import { VAD_ENGINES, type VadEngineName } from './engines/vad-engine.ts';
import { SPEECH_DETECTOR_DEFAULTS } from './speech-detector.ts';
import { TURN_DETECTOR_DEFAULTS } from './turn-detector.ts';
import { BARGE_IN_DEFAULTS } from './barge-in-arbiter.ts';
import { VadActor, type VadMessage } from './vad-actor.ts';

interface VadOptions extends CommonOptions, OwnershipFlags {
  engine: VadEngineName;
  positiveThreshold: number;
  negativeThreshold: number;
  minSpeechMs: number;
  preSpeechPadMs: number;
  redemptionMs: number;
  minVolume: number;
  endOfTurnMs: number;
  minInterruptionMs: number;
  mailbox: number;
}

const d = SPEECH_DETECTOR_DEFAULTS;
const program = addOwnershipOptions(addCommonOptions(new Command('vad')))
  .description('Silero voice activity and turn detection per device, with barge-in')
  .addOption(new Option('--engine <name>', 'VAD engine').env('VAD_ENGINE').choices(VAD_ENGINES).default('silero-v6'))
  .addOption(new Option('--positive-threshold <p>', 'speech probability that makes a frame voiced').env('VAD_POSITIVE_THRESHOLD').default(d.positiveSpeechThreshold).argParser(numberIn(0, 1)))
  .addOption(new Option('--negative-threshold <p>', 'probability under which a frame is silence').env('VAD_NEGATIVE_THRESHOLD').default(d.negativeSpeechThreshold).argParser(numberIn(0, 1)))
  .addOption(new Option('--min-speech-ms <ms>', 'shorter speech is a misfire').env('VAD_MIN_SPEECH_MS').default(d.minSpeechMs).argParser(numberIn(0, 5000)))
  .addOption(new Option('--pre-speech-pad-ms <ms>', 'audio before speech the session also sends').env('VAD_PRE_SPEECH_PAD_MS').default(d.preSpeechPadMs).argParser(numberIn(0, 2000)))
  .addOption(new Option('--redemption-ms <ms>', 'silence that ends a speech segment (hangover)').env('VAD_REDEMPTION_MS').default(d.redemptionMs).argParser(numberIn(0, 5000)))
  .addOption(new Option('--min-volume <rms>', 'frames under this RMS count as silence').env('VAD_MIN_VOLUME').default(d.minVolume).argParser(numberIn(0, 1)))
  .addOption(new Option('--end-of-turn-ms <ms>', 'silence that ends the user\'s turn').env('VAD_END_OF_TURN_MS').default(TURN_DETECTOR_DEFAULTS.endOfTurnSilenceMs).argParser(numberIn(100, 10_000)))
  .addOption(new Option('--min-interruption-ms <ms>', 'pause strategy: speech this long confirms an interruption').env('VAD_MIN_INTERRUPTION_MS').default(BARGE_IN_DEFAULTS.minInterruptionMs).argParser(numberIn(0, 10_000)))
  .addOption(new Option('--mailbox <n>', 'queued chunks per device before the oldest audio is dropped').env('VAD_MAILBOX').default(250).argParser(numberIn(1, 100_000, true)));

const opts = program.parse().opts<VadOptions>();
// The energy engine keeps the seed's own defaults (start 0.2 s, stop 0.8 s, min volume 0.01)
// unless they were set explicitly.
if (opts.engine === 'energy') {
  const seed = { minSpeechMs: 200, redemptionMs: 800, minVolume: 0.01 } as const;
  for (const [k, v] of Object.entries(seed)) if (program.getOptionValueSource(k) === 'default') (opts as unknown as Record<string, number>)[k] = v;
}
const engine = await createVadEngine(opts.engine, { minVolume: opts.minVolume });
const counters = { rejected: 0, gaps: 0, restarts: 0 };

let router: DeviceRouter<VadMessage> | undefined;
const rt = await startServiceRuntime({
  ...opts,
  name: 'vad',
  version: '0.1.0',
  description: 'Voice activity and turn detection',
  stats: () => ({ ownership: router?.ownership?.stats(), engine: opts.engine, devices: host.stats(), dropped: host.totalDropped, rejected: counters.rejected + rt.bus.rejectedTotal(), gaps: counters.gaps, captureRestarts: counters.restarts }),
});
const host: ActorHost<VadMessage> = new ActorHost<VadMessage>(
  (ctx) => new VadActor(ctx, {
    bus: rt.bus,
    engine,
    speech: {
      positiveSpeechThreshold: opts.positiveThreshold,
      negativeSpeechThreshold: opts.negativeThreshold,
      minSpeechMs: opts.minSpeechMs,
      preSpeechPadMs: opts.preSpeechPadMs,
      redemptionMs: opts.redemptionMs,
      minVolume: opts.minVolume,
    },
    turn: { endOfTurnSilenceMs: opts.endOfTurnMs },
    bargeIn: { minInterruptionMs: opts.minInterruptionMs },
    metrics: rt.telemetry.metrics,
    counters,
  }),
  rt.log,
  { mailboxCapacity: opts.mailbox, onDrop: (n) => rt.telemetry.metrics.chunksDropped.add(n) },
);

router = await setupOwnership(rt, host, opts);
const deliver = router.deliver;
rt.bus.subscribeAudio('audio.in', (chunk, meta) =>
  deliver(meta.deviceId, { message: { kind: 'audio', chunk, receivedAtUs: nowUs() }, droppable: true, trace: meta.chunkTraced ? processSpan(STREAMS.audioIn, meta) : undefined }),
);
for (const stream of [STREAMS.capture, STREAMS.session, STREAMS.playback, STREAMS.turn] as const) {
  rt.bus.subscribeEvents(stream, (event, meta) => {
    // Our own turn events come back on the turn stream; only the latency report matters here.
    if (stream === STREAMS.turn && event.type !== 'turn.latency') return;
    deliver(meta.deviceId, { message: { kind: 'event', event }, droppable: false, trace: stream === STREAMS.playback ? processSpan(stream, meta) : undefined });
  });
}
rt.log.info({ engine: opts.engine, endOfTurnMs: opts.endOfTurnMs }, 'vad engine loaded');
rt.shutdown.add('actors', () => host.close());
await rt.ready();
