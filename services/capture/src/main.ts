import { Command, Option } from 'commander';
import { assertDeviceId, makeEvent, STREAMS } from '@voicebus/protocol';
import { AssistantAudibleSpans } from './assistant-audible.ts';
import { addCommonOptions, numberIn, startServiceRuntime, type CommonOptions } from '@voicebus/runtime';
import { CaptureDevice } from './capture-device.ts';
import { sourceFromSpec } from './sources.ts';

interface CaptureOptions extends CommonOptions {
  device: string[];
  chunkMs: number;
  fast?: boolean;
  loop?: boolean;
  lingerMs: number;
}

const program = addCommonOptions(new Command('capture'))
  .description('Captures audio for one or more devices and publishes it on voice.v1.<device>.audio.in')
  .addOption(new Option('--device <id=source>', 'device and source (mic, stdin, file:PATH); repeatable').argParser((v: string, prev: string[] = []) => [...prev, v]))
  .addOption(new Option('--chunk-ms <ms>', 'chunk duration').env('CHUNK_MS').default(20).argParser(numberIn(10, 100, true)))
  .addOption(new Option('--fast', 'send file audio as fast as the bus takes it (tests, benchmarks)').env('CAPTURE_FAST'))
  .addOption(new Option('--loop', 'repeat file sources forever').env('CAPTURE_LOOP'))
  .addOption(new Option('--linger-ms <ms>', 'after the input ends, stay until the device\'s speaker was quiet this long').env('CAPTURE_LINGER_MS').default(3000).argParser(numberIn(0, 600_000, true)));

const opts = program.parse().opts<CaptureOptions>();
const specs = opts.device ?? (process.env.DEVICE_ID ? [`${process.env.DEVICE_ID}=${process.env.SOURCE ?? 'mic'}`] : []);
if (specs.length === 0) program.error('no device: pass --device <id>=<mic|stdin|file:PATH> (or set DEVICE_ID and SOURCE)');
const devices = specs.map((spec) => {
  const eq = spec.indexOf('=');
  const id = eq > 0 ? spec.slice(0, eq) : spec;
  try {
    assertDeviceId(id);
    return { id, source: sourceFromSpec(eq > 0 ? spec.slice(eq + 1) : 'mic', { loop: Boolean(opts.loop) }) };
  } catch (err) {
    return program.error(`--device ${spec}: ${(err as Error).message}`);
  }
});

const rt = await startServiceRuntime({
  ...opts,
  name: 'capture',
  version: '0.1.0',
  description: 'Audio capture devices',
  stats: () => ({ devices: devices.map((d) => ({ id: d.id, source: d.source.description, sent: sent.get(d.id) ?? 0 })) }),
});
const sent = new Map<string, number>();
let endedAt = 0;
// Each device listens to its own playback events only (its bus permissions allow no more).
const audible = new AssistantAudibleSpans();
for (const { id } of devices) rt.bus.subscribeEvents(STREAMS.playback, (event, meta) => audible.onPlayback(event, meta), { deviceId: id });
rt.shutdown.add('audible spans', () => audible.close());
await rt.ready();
const running = devices.map(({ id, source }) => {
  const device = new CaptureDevice(id, source, {
    announce: (info) => {
      rt.log.info({ deviceId: id, source: info.source }, 'device attached');
      rt.bus.publishEvent(makeEvent('device.announced', { ...info, channels: 1 }));
    },
    chunk: async (chunk) => {
      rt.bus.publishAudio(id, 'audio.in', chunk);
      const n = (sent.get(id) ?? 0) + 1;
      sent.set(id, n);
      // In fast mode, let the bus catch up now and then instead of buffering the whole file.
      if (opts.fast && n % 50 === 0) await rt.bus.flush();
    },
    ended: async (end) => {
      endedAt = Date.now();
      rt.bus.publishEvent(makeEvent('device.ended', { deviceId: id, ...end }));
      await rt.bus.flush();
      rt.log.info({ deviceId: id, reason: end.reason, lastSeq: end.lastSeq }, 'device ended');
    },
  }, { chunkMs: opts.chunkMs, fast: Boolean(opts.fast) });
  rt.shutdown.add(`device ${id}`, () => device.stop());
  return device.run().catch((err: Error) => {
    rt.log.error({ deviceId: id, err: err.message }, 'capture failed');
    process.exitCode = 1;
  });
});

await Promise.all(running);
// The input has ended, but the device is still there while its last answer plays: linger
// until its speaker has been quiet for a moment (bounded), like a person who waits for the reply.
const lingerUntil = Date.now() + opts.lingerMs * 10;
while (Date.now() < lingerUntil && (audible.busy || Date.now() - Math.max(audible.lastEventAt, endedAt) < opts.lingerMs)) {
  await new Promise((r) => setTimeout(r, 100));
}
await rt.shutdown.run();
process.exit(process.exitCode ?? 0);
