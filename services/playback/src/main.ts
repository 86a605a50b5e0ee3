import { Command, Option } from 'commander';
import { STREAMS } from '@voicebus/protocol';
import { ActorHost, addCommonOptions, addOwnershipOptions, setupOwnership, type DeviceRouter, type OwnershipFlags, nowUs, numberIn, processSpan, startServiceRuntime, type CommonOptions } from '@voicebus/runtime';
import { PlaybackActor, type PlaybackMessage } from './playback-actor.ts';
import { sinkFactory } from './sinks.ts';

interface PlaybackOptions extends CommonOptions, OwnershipFlags {
  sink: string;
  jitterTargetMs: number;
  frameMs: number;
}

const program = addOwnershipOptions(addCommonOptions(new Command('playback')))
  .description('Plays each device\'s assistant audio (voice.v1.<device>.audio.out) through a jitter buffer into a sink')
  .addOption(new Option('--sink <sink>', 'speaker, null or wav:DIR (DIR/<device>/assistant.wav)').env('PLAYBACK_SINK').default('wav:out'))
  .addOption(new Option('--jitter-target-ms <ms>', 'audio buffered before a turn starts playing').env('JITTER_TARGET_MS').default(60).argParser(numberIn(0, 2000)))
  .addOption(new Option('--frame-ms <ms>', 'playout frame').env('PLAYOUT_FRAME_MS').default(20).argParser(numberIn(5, 100, true)));

const opts = program.parse().opts<PlaybackOptions>();
let makeSink: ReturnType<typeof sinkFactory>;
try {
  makeSink = sinkFactory(opts.sink);
} catch (err) {
  program.error((err as Error).message);
}
const counters = { rejected: 0 };

let router: DeviceRouter<PlaybackMessage> | undefined;
const rt = await startServiceRuntime({
  ...opts,
  name: 'playback',
  version: '0.1.0',
  description: 'Jitter buffer and sinks, flush on barge-in',
  stats: () => ({ ownership: router?.ownership?.stats(), sink: opts.sink, devices: host.stats(), rejected: counters.rejected + rt.bus.rejectedTotal(), dropped: host.totalDropped }),
});
const host: ActorHost<PlaybackMessage> = new ActorHost<PlaybackMessage>(
  (ctx) => new PlaybackActor(ctx, {
    bus: rt.bus,
    sink: makeSink(ctx.deviceId),
    metrics: rt.telemetry.metrics,
    jitter: { targetMs: opts.jitterTargetMs, frameMs: opts.frameMs },
    counters,
  }),
  rt.log,
  { idleMs: 0, onDrop: (n) => rt.telemetry.metrics.chunksDropped.add(n) },
);

// Audio is droppable under overload; control and events never are.
router = await setupOwnership(rt, host, opts);
const deliver = router.deliver;
rt.bus.subscribeAudio('audio.out', (chunk, meta) => deliver(meta.deviceId, { message: { kind: 'audio', chunk, receivedAtUs: nowUs(), parent: meta.parent }, droppable: true }));
for (const stream of [STREAMS.control, STREAMS.turn, STREAMS.session, STREAMS.capture] as const) {
  rt.bus.subscribeEvents(stream, (event, meta) =>
    deliver(meta.deviceId, { message: { kind: 'event', event }, droppable: false, trace: stream === STREAMS.control ? processSpan(stream, meta) : undefined }),
  );
}
rt.shutdown.add('actors', () => host.close());
await rt.ready();
