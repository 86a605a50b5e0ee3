import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/nats-core';
import { KV_BUCKETS } from '@voicebus/protocol';
import type { LeaseFencing } from './bus.ts';
import type { VoiceMetrics } from './metrics.ts';

export interface OwnershipOptions {
  service: string;
  instanceId: string;
  /** A lease not renewed for this long expires (the KV bucket's TTL). */
  ttlMs: number;
  /** How often an owner renews its leases. */
  heartbeatMs: number;
  /** This instance takes no more devices than this. */
  maxDevices: number;
  bucket: string;
}

export const OWNERSHIP_DEFAULTS: Omit<OwnershipOptions, 'service' | 'instanceId'> = {
  ttlMs: 1200,
  heartbeatMs: 300,
  maxDevices: Number.POSITIVE_INFINITY,
  bucket: KV_BUCKETS.owners,
};

interface LeaseValue {
  instance: string;
  /** Fencing token: the revision at which this holder created the lease. 0 until known. */
  token: number;
}

interface Held {
  token: number;
  revision: number;
}

interface Seen extends LeaseValue {
  seenAt: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Per-device ownership across the instances of one service, coordinated by NATS itself: a
 * lease per (service, device) in a JetStream KV bucket whose TTL is the lease time. `create`
 * acquires (only one instance can), a revision-checked `update` renews (a renewal that finds
 * another revision means the lease was lost), and a holder that dies simply stops renewing.
 * The revision at which a lease was created is its fencing token: owners stamp it on what
 * they publish, and consumers drop messages carrying an older token than the current one.
 */
export class DeviceOwnership implements LeaseFencing {
  readonly options: OwnershipOptions;
  private readonly kv: KV;
  private readonly log: Logger;
  private readonly metrics: VoiceMetrics | undefined;
  private readonly held = new Map<string, Held>();
  /** Every lease of every service as the watch reports it. */
  private readonly view = new Map<string, Seen>();
  private readonly pending = new Map<string, Promise<boolean>>();
  private heartbeat: NodeJS.Timeout | undefined;
  private lastRenewedAt = Date.now();
  /** The renewal in flight, which a second one joins. */
  private renewing: Promise<void> | undefined;
  private stopped = false;
  changes = 0;
  /** Called when a held lease is lost (expired, taken over): stop processing that device now. */
  onLost: (deviceId: string) => void = () => {};

  private constructor(kv: KV, options: OwnershipOptions, log: Logger, metrics: VoiceMetrics | undefined) {
    this.kv = kv;
    this.options = options;
    this.log = log;
    this.metrics = metrics;
  }

  static async start(nc: NatsConnection, options: Pick<OwnershipOptions, 'service' | 'instanceId'> & Partial<OwnershipOptions>, log: Logger, metrics?: VoiceMetrics): Promise<DeviceOwnership> {
    const opts = { ...OWNERSHIP_DEFAULTS, ...options };
    const kv = await new Kvm(nc as never).create(opts.bucket, { ttl: opts.ttlMs, history: 1 });
    const own = new DeviceOwnership(kv, opts, log, metrics);
    await own.watch();
    own.heartbeat = setInterval(() => void own.renew(), opts.heartbeatMs);
    own.heartbeat.unref();
    return own;
  }

  private key(deviceId: string, service = this.options.service): string {
    return `${service}.${deviceId}`;
  }

  private async watch(): Promise<void> {
    const iter = await this.kv.watch({ key: '>' });
    let initial = true;
    const ready = new Promise<void>((resolve) => {
      void (async () => {
        for await (const e of iter) {
          if (e.operation === 'PUT') {
            try {
              this.view.set(e.key, { ...(JSON.parse(decoder.decode(e.value)) as LeaseValue), seenAt: Date.now() });
            } catch {
              // not ours
            }
          } else {
            this.view.delete(e.key);
          }
          if (initial && e.delta === 0) {
            initial = false;
            resolve();
          }
        }
      })();
      // An empty bucket sends nothing to mark the end of the initial values.
      setTimeout(resolve, 200);
    });
    await ready;
  }

  get ownedDevices(): string[] {
    return [...this.held.keys()];
  }

  isMine(deviceId: string): boolean {
    return this.held.has(deviceId) && Date.now() - this.lastRenewedAt < this.options.ttlMs;
  }

  get service(): string {
    return this.options.service;
  }

  /** The fencing token to stamp on what this instance publishes for the device. */
  tokenOf(deviceId: string): number | undefined {
    return this.held.get(deviceId)?.token;
  }

  /** True when a message from `service` about the device carries a token older than the current lease's. */
  isStale(service: string, deviceId: string, token: number): boolean {
    const current = this.view.get(this.key(deviceId, service));
    return current !== undefined && current.token > 0 && token < current.token;
  }

  /** Claims the device if nobody holds it; resolves whether this instance now owns it. */
  acquire(deviceId: string): Promise<boolean> {
    if (this.isMine(deviceId)) return Promise.resolve(true);
    let p = this.pending.get(deviceId);
    if (!p) {
      p = this.tryAcquire(deviceId).finally(() => this.pending.delete(deviceId));
      this.pending.set(deviceId, p);
    }
    return p;
  }

  private async tryAcquire(deviceId: string): Promise<boolean> {
    if (this.stopped) return false;
    // Still ours, but the renewal is late (a busy or paused process): renew now to find out.
    if (this.held.has(deviceId)) {
      await this.renew();
      return this.isMine(deviceId);
    }
    if (this.held.size >= this.options.maxDevices) return false;
    const key = this.key(deviceId);
    const seen = this.view.get(key);
    if (seen && seen.instance !== this.options.instanceId && Date.now() - seen.seenAt < this.options.ttlMs) return false;
    // Fair share: a busier instance waits a little, so a less loaded one usually wins a new device.
    if (this.held.size > 0) await new Promise((r) => setTimeout(r, Math.min(200, this.held.size * 15)));
    try {
      const created = await this.kv.create(key, encoder.encode(JSON.stringify({ instance: this.options.instanceId, token: 0 })));
      const revision = await this.kv.update(key, encoder.encode(JSON.stringify({ instance: this.options.instanceId, token: created })), created);
      this.held.set(deviceId, { token: created, revision });
      this.changes++;
      this.metrics?.ownershipChanges.add(1, { 'voicebus.change': 'acquired' });
      this.log.info({ deviceId, token: created }, 'acquired device ownership');
      return true;
    } catch {
      return false; // someone else holds it (or just took it)
    }
  }

  /**
   * Renews every lease, once at a time: a renewal asked for while one is in flight joins it.
   * Two at once would send the same expected revision, and the loser would give up a device
   * that is still ours.
   */
  private renew(): Promise<void> {
    this.renewing ??= this.renewAll().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async renewAll(): Promise<void> {
    if (this.stopped) return;
    const started = Date.now();
    let ok = true;
    await Promise.all([...this.held].map(async ([deviceId, h]) => {
      try {
        h.revision = await this.kv.update(this.key(deviceId), encoder.encode(JSON.stringify({ instance: this.options.instanceId, token: h.token })), h.revision);
      } catch (err) {
        ok = false;
        // Only another revision proves another holder. A timeout or a lost connection says
        // nothing about the lease: keep it; it expires on its own if we truly cannot renew.
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) this.lose(deviceId, err.message);
        else if (Date.now() - this.lastRenewedAt >= this.options.ttlMs) this.lose(deviceId, `not renewed for ${this.options.ttlMs} ms: ${(err as Error).message}`);
        else this.log.warn({ deviceId, err: (err as Error).message }, 'lease renewal failed; trying again at the next heartbeat');
      }
    }));
    if (ok) this.lastRenewedAt = started;
  }

  private lose(deviceId: string, why: string): void {
    if (!this.held.delete(deviceId)) return;
    this.changes++;
    this.metrics?.ownershipChanges.add(1, { 'voicebus.change': 'lost' });
    this.log.warn({ deviceId, why }, 'lost device ownership: stopping this device here');
    this.onLost(deviceId);
  }

  /** Graceful hand-over: delete every lease so another instance takes the devices at once. */
  async releaseAll(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    await Promise.all(this.ownedDevices.map(async (deviceId) => {
      const h = this.held.get(deviceId)!;
      this.held.delete(deviceId);
      await this.kv.delete(this.key(deviceId), { previousSeq: h.revision }).catch(() => {});
      this.log.info({ deviceId }, 'released device ownership');
    }));
  }

  stats() {
    return { instance: this.options.instanceId, owned: this.ownedDevices, changes: this.changes, maxDevices: this.options.maxDevices };
  }
}
