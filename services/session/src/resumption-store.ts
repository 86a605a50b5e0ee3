import { Kvm, type KV } from '@nats-io/kv';
import { createRacing, type Bus, type Logger } from '@voicebus/runtime';
import { KV_BUCKETS } from '@voicebus/protocol';

/**
 * Session resumption handles in a NATS KV bucket, so the instance that takes a device over
 * after a failover resumes the conversation instead of starting it again. Handles are valid
 * for about two hours; the bucket keeps them that long.
 */
export class ResumptionStore {
  private readonly kv: KV | undefined;
  private readonly log: Logger;

  private constructor(kv: KV | undefined, log: Logger) {
    this.kv = kv;
    this.log = log;
  }

  /** `replicas`: how many nodes of a JetStream cluster keep the bucket (1 on a single server). */
  static async open(bus: Bus, log: Logger, replicas = 1): Promise<ResumptionStore> {
    try {
      // Two session instances starting together both make the bucket.
      return new ResumptionStore(await createRacing(() => new Kvm(bus.nc as never).create(KV_BUCKETS.sessions, { ttl: 2 * 3600_000, history: 1, replicas })), log);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'no KV for resumption handles (JetStream?): kept in memory only');
      return new ResumptionStore(undefined, log);
    }
  }

  async load(deviceId: string): Promise<string | undefined> {
    try {
      const e = await this.kv?.get(deviceId);
      return e && e.operation === 'PUT' && e.value.length ? new TextDecoder().decode(e.value) : undefined;
    } catch {
      return undefined;
    }
  }

  save(deviceId: string, handle: string): void {
    void this.kv?.put(deviceId, handle).catch((err: Error) => this.log.warn({ deviceId, err: err.message }, 'could not store resumption handle'));
  }

  remove(deviceId: string): void {
    void this.kv?.delete(deviceId).catch(() => {});
  }
}
