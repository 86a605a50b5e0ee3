import { assertDeviceId, AUDIO_HISTORY_STREAM, deviceInboxPrefix, makeEvent, STREAMS } from '@voicebus/protocol';
import { DeviceOutbox, runService, UsageError, type ProcessService, type ServiceDefinition, type ServiceRuntime } from '@voicebus/runtime';
import { AssistantAudibleSpans } from './assistant-audible.ts';
import { CAPTURE_FLAGS, type CaptureFlags } from './capture-flags.ts';
import { CaptureDevice } from './capture-device.ts';
import { sourceFromSpec, type AudioSource } from './sources.ts';

interface DeviceSpec {
  id: string;
  source: AudioSource;
}

function devicesOf(flags: CaptureFlags): DeviceSpec[] {
  const specs = flags.device.length > 0 ? flags.device : flags.deviceId ? [`${flags.deviceId}=${flags.source}`] : [];
  if (specs.length === 0) throw new UsageError('no device: pass --device <id>=<mic|stdin|file:PATH> (or set DEVICE_ID and SOURCE)');
  return specs.map((spec) => {
    const eq = spec.indexOf('=');
    const id = eq > 0 ? spec.slice(0, eq) : spec;
    try {
      assertDeviceId(id);
      return { id, source: sourceFromSpec(eq > 0 ? spec.slice(eq + 1) : 'mic', { loop: flags.loop, soxBin: flags.soxBin }) };
    } catch (err) {
      throw new UsageError(`--device ${spec}: ${(err as Error).message}`);
    }
  });
}

/** Publishes each device's audio until its input ends, then lingers while its last answer plays. */
async function capture(rt: ServiceRuntime, flags: CaptureFlags, devices: DeviceSpec[], sent: Map<string, number>, outboxes: Map<string, DeviceOutbox>): Promise<number> {
  let exitCode = 0;
  let endedAt = 0;
  // Each device listens to its own playback only (its bus permissions allow no more).
  const audible = new AssistantAudibleSpans();
  for (const { id } of devices) {
    rt.bus.subscribeEvents(STREAMS.playback, (event, meta) => {
      if (event.type === 'assistant.audible') audible.onAudible(event, meta);
    }, { deviceId: id });
  }
  rt.shutdown.add('audible spans', () => audible.close());
  // Each device's audio is held over a NATS outage and sent after it, stored in the audio
  // history (DeviceOutbox); its announcements in their turn.
  for (const { id } of devices) {
    const outbox = new DeviceOutbox(rt.bus, id, rt.log.child({ deviceId: id }), { history: AUDIO_HISTORY_STREAM, storedStreams: [STREAMS.audioIn] });
    outboxes.set(id, outbox);
    rt.shutdown.add(`outbox ${id}`, () => outbox.close());
  }
  await rt.ready();
  const running = devices.map(({ id, source }) => {
    const outbox = outboxes.get(id)!;
    const device = new CaptureDevice(id, source, {
      announce: (info) => {
        rt.log.info({ deviceId: id, source: info.source }, 'device attached');
        outbox.tryPublishEvent(makeEvent('device.announced', { ...info, channels: 1 }), rt.log);
      },
      chunk: async (chunk) => {
        outbox.publishAudio('audio.in', chunk);
        const n = (sent.get(id) ?? 0) + 1;
        sent.set(id, n);
        // In fast mode, let the bus catch up now and then instead of buffering the whole file.
        if (flags.fast && n % 50 === 0 && !outbox.isHolding) await rt.bus.flush();
      },
      ended: async (end) => {
        // In order after the device's audio, also when it is held over an outage; waited for
        // (bounded: a bus that never comes back must not keep the process).
        outbox.tryPublishEvent(makeEvent('device.ended', { deviceId: id, ...end }), rt.log);
        await Promise.race([outbox.settled(), new Promise((r) => setTimeout(r, outbox.options.maxHeldMs + outbox.options.storeWaitMs).unref())]);
        endedAt = Date.now();
        await rt.bus.flush();
        rt.log.info({ deviceId: id, reason: end.reason, lastSeq: end.lastSeq }, 'device ended');
      },
    }, { chunkMs: flags.chunkMs, fast: flags.fast });
    rt.shutdown.add(`device ${id}`, () => device.stop());
    return device.run().catch((err: Error) => {
      rt.log.error({ deviceId: id, err: err.message }, 'capture failed');
      exitCode = 1;
    });
  });
  await Promise.all(running);
  // The input has ended, but the device is still there while its last answer plays: linger
  // until its speaker has been quiet for a moment (bounded), like a person who waits for the reply.
  const lingerUntil = Date.now() + flags.lingerMs * 10;
  while (Date.now() < lingerUntil && (audible.busy || Date.now() - Math.max(audible.lastEventAt, endedAt) < flags.lingerMs)) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return exitCode;
}

/** Microphones, WAV files and stdin as devices on the bus. */
export const CAPTURE_SERVICE: ServiceDefinition<CaptureFlags, ProcessService> = {
  name: 'capture',
  version: '0.1.0',
  description: 'Captures audio for one or more devices and publishes it on voice.v1.<device>.audio.in',
  flags: CAPTURE_FLAGS,
  configure(flags) {
    const devices = devicesOf(flags);
    const sent = new Map<string, number>();
    const outboxes = new Map<string, DeviceOutbox>();
    return {
      stats: () => ({ devices: devices.map((d) => ({ id: d.id, source: d.source.description, sent: sent.get(d.id) ?? 0, ...outboxes.get(d.id)?.stats })) }),
      run: (rt) => capture(rt, flags, devices, sent, outboxes),
      // One device: its own inbox (the acks of what it held over an outage), so that device's
      // own credential (capture-device) will do; a shared one reads every inbox.
      inboxPrefix: devices.length === 1 ? deviceInboxPrefix(devices[0]!.id) : undefined,
    };
  },
};

export const runCaptureService = (argv?: readonly string[], env?: NodeJS.ProcessEnv) => runService(CAPTURE_SERVICE, argv, env);
