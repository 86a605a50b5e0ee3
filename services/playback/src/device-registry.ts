import { allDevicesSubject, decodeEvent, deviceSubject, DEVICE_REGISTRY_STREAM, STREAMS, type EventOf } from '@voicebus/protocol';
import { StreamHistory, type Bus, type Logger, type StreamHistoryOptions } from '@voicebus/runtime';

export type DeviceRegistryOptions = Pick<StreamHistoryOptions, 'maxAgeMs' | 'replicas' | 'fetchTimeoutMs'>;

/** A day: a browser tab stays open for hours with no word on its capture subject. */
export const DEVICE_REGISTRY_DEFAULTS: DeviceRegistryOptions = { maxAgeMs: 24 * 3600_000, replicas: 1, fetchTimeoutMs: 2000 };

/**
 * Each device's last capture event, kept by the server (VOICEBUS_DEVICES, one message per
 * device): an announcement, or its end. A device says how it is played (`playout`) once, when
 * it attaches; the answer history forgets that after a minute, so a playback restarted later
 * would play a browser's answers itself, beside the browser. It reads it here instead.
 */
export class DeviceRegistry {
  private readonly history: StreamHistory;

  private constructor(history: StreamHistory) {
    this.history = history;
  }

  static async open(nc: Bus['nc'], log: Logger, options: Partial<DeviceRegistryOptions> = {}): Promise<DeviceRegistry | undefined> {
    const history = await StreamHistory.open(nc, log, {
      ...DEVICE_REGISTRY_DEFAULTS,
      ...options,
      stream: DEVICE_REGISTRY_STREAM,
      subjects: [allDevicesSubject(STREAMS.capture)],
      maxMsgsPerSubject: 1,
    }, 'a restarted playback does not know which devices play for themselves');
    return history ? new DeviceRegistry(history) : undefined;
  }

  /** The device's announcement, if its last capture event is one (not its end, nor nothing). */
  async announcement(deviceId: string): Promise<EventOf<'device.announced'> | undefined> {
    const m = await this.history.last(deviceSubject(deviceId, STREAMS.capture));
    if (!m) return undefined;
    try {
      const event = decodeEvent(STREAMS.capture, m.data);
      return event.type === 'device.announced' && event.deviceId === deviceId ? event : undefined;
    } catch {
      return undefined; // what the bus would have refused says nothing about the device
    }
  }
}
