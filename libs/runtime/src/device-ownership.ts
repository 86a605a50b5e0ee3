import { jetstream, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/nats-core';
import { KV_BUCKETS } from '@voicebus/protocol';
import type { LeaseFencing } from './bus.ts';
import type { VoiceMetrics } from './metrics.ts';
import { createRacing } from './jetstream-create.ts';

export interface OwnershipOptions {
  service: string;
  instanceId: string;
  /** A lease not renewed for this long expires (the KV bucket's TTL). */
  ttlMs: number;
  /**
   * While renewals fail without proof of another holder (timeouts, no responders: the store
   * is electing a leader or this instance is reconnecting), held devices stay ours this much
   * longer than the TTL. Nobody can take a lease from a store that cannot be written, and
   * fencing tokens drop what a former owner publishes after a takeover.
   */
  outageGraceMs: number;
  /** Replicas of the bucket: how many nodes of a JetStream cluster keep the leases. */
  replicas: number;
  /** How often an owner renews its leases. */
  heartbeatMs: number;
  /** This instance takes no more devices than this. */
  maxDevices: number;
  bucket: string;
}

export const OWNERSHIP_DEFAULTS: Omit<OwnershipOptions, 'service' | 'instanceId'> = {
  ttlMs: 1200,
  outageGraceMs: 15_000,
  replicas: 1,
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
  /** When the store says it was written: its holder's last renewal. */
  writtenAt: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A lease value as stored; undefined for one that is not a lease (not ours to read). */
function parseLease(bytes: Uint8Array): LeaseValue | undefined {
  try {
    return JSON.parse(decoder.decode(bytes)) as LeaseValue;
  } catch {
    return undefined;
  }
}

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
  /** Claims waiting for their fair-share turn (see tryAcquire). */
  private claimsInFlight = 0;
  /** Every lease of every service as the watch reports it. */
  private readonly view = new Map<string, Seen>();
  private readonly pending = new Map<string, Promise<boolean>>();
  /** Leases being deleted: a claim of the same device waits for it (it would find the old key). */
  private readonly releasing = new Map<string, Promise<void>>();
  private heartbeat: NodeJS.Timeout | undefined;
  private lastRenewedAt = Date.now();
  /** Since when renewals have failed inconclusively (undefined while they succeed). */
  private storeFailingSince: number | undefined;
  /** Since when claims have failed without an answer of the store (undefined once it answers). */
  private claimFailingSince: number | undefined;
  /** Claims of devices others were seen holding wait until then (see othersHadTheirTurn). */
  private claimsPausedUntil = 0;
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
    // A request to a node that just died gets no answer: give up on it within half a TTL, so
    // the failure is known (and the outage grace applies) before the lease runs out, and the
    // next heartbeat retries over the reconnected connection instead of waiting 5 s.
    // Creating a replicated bucket is slower (the meta leader places it, its own group elects a
    // leader), so only that request gets the default timeout.
    await createRacing(() => new Kvm(nc as never).create(opts.bucket, { ttl: opts.ttlMs, history: 1, replicas: opts.replicas }));
    const kv = await new Kvm(jetstream(nc as never, { timeout: Math.max(500, Math.floor(opts.ttlMs / 2)) })).open(opts.bucket);
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
            const value = parseLease(e.value);
            if (value) this.view.set(e.key, { ...value, seenAt: Date.now(), writtenAt: e.created.getTime() });
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

  /**
   * When the device's lease of this service was last renewed, by whichever instance: the last
   * sign of life of a holder that died (undefined once the lease is gone).
   */
  lastRenewedAtOf(deviceId: string): number | undefined {
    return this.view.get(this.key(deviceId))?.writtenAt;
  }

  /**
   * Claims a device whose lease a dead process may still hold: its lease runs out within a TTL,
   * so the claim is tried again until then. False if a live instance holds it (its renewals go
   * on): that one has the device's work.
   */
  async acquireFromDeadHolder(deviceId: string): Promise<boolean> {
    const { ttlMs } = this.options;
    const deadline = Date.now() + 3 * ttlMs;
    const lastRenewal = this.lastRenewedAtOf(deviceId);
    for (;;) {
      if (await this.acquire(deviceId)) return true;
      const renewed = this.lastRenewedAtOf(deviceId);
      if ((renewed !== undefined && renewed !== lastRenewal) || Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, ttlMs / 4));
    }
  }

  get ownedDevices(): string[] {
    return [...this.held.keys()];
  }

  isMine(deviceId: string): boolean {
    return this.held.has(deviceId) && Date.now() - this.lastRenewedAt < this.holdMs();
  }

  /** How long after the last renewal a held lease still counts: the TTL, plus the grace while the store is out. */
  private holdMs(): number {
    return this.options.ttlMs + (this.storeFailingSince !== undefined ? this.options.outageGraceMs : 0);
  }

  /** Whether renewals are failing inconclusively right now, and since when. */
  get storeOutageSince(): number | undefined {
    return this.storeFailingSince;
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
    await this.releasing.get(deviceId);
    // Still ours, but the renewal is late (a busy or paused process): renew now to find out.
    if (this.held.has(deviceId)) {
      await this.renew();
      return this.isMine(deviceId);
    }
    if (this.held.size >= this.options.maxDevices) return false;
    const key = this.key(deviceId);
    const seen = this.view.get(key);
    if (seen && seen.instance !== this.options.instanceId) {
      if (Date.now() - seen.seenAt < this.options.ttlMs) return false;
      if (!(await this.othersHadTheirTurn())) return false;
    }
    // Fair share: a busier instance waits a little, so a less loaded one usually wins a new
    // device. Its claims in flight count too: devices that appear at once (a capture process
    // attaching ten) all found none held, and the instance that was quicker by a millisecond
    // took every one. A few ms at random break the tie between instances that count the same.
    const heldBefore = this.held.size;
    const load = heldBefore + this.claimsInFlight++;
    try {
      await new Promise((r) => setTimeout(r, Math.min(200, load * 15) + Math.random() * 10));
      // What it won meanwhile makes it busier still: the instance that won the first of them
      // yields the next, and the two even out.
      const won = this.held.size - heldBefore;
      if (won > 0) await new Promise((r) => setTimeout(r, Math.min(200, won * 15)));
    } finally {
      this.claimsInFlight--;
    }
    try {
      // Held under our own id by an earlier run of this instance (it died and was restarted
      // with the same id): nobody renews it, so take it over now instead of waiting out its TTL.
      this.held.set(deviceId, seen?.instance === this.options.instanceId ? await this.takeOver(key) : await this.claim(key));
      this.changes++;
      this.metrics?.ownershipChanges.add(1, { 'voicebus.change': 'acquired' });
      this.log.info({ deviceId, token: this.held.get(deviceId)!.token }, 'acquired device ownership');
      return true;
    } catch (err) {
      // Not an answer of the store: it is out (an election, a reconnect), and the leases
      // held in it may expire before their holders can renew them again.
      if (!(err instanceof JetStreamApiError)) this.claimFailingSince ??= Date.now();
      return false; // someone else holds it (or just took it)
    }
  }

  /**
   * Whether this instance may claim a device another instance was seen holding. After the
   * store was out, every lease in it may have expired although its holder is alive and
   * about to renew (the TTL is shorter than a leader election). So once the store answers
   * again, claims of others' devices wait one TTL: their holders re-take them first, and
   * only a holder that is truly gone loses its devices.
   */
  private async othersHadTheirTurn(): Promise<boolean> {
    if (this.claimFailingSince !== undefined) {
      if (!(await this.storeAnswers())) return false;
      this.claimFailingSince = undefined;
      this.claimsPausedUntil = Date.now() + this.options.ttlMs;
    }
    return Date.now() >= this.claimsPausedUntil;
  }

  /**
   * Asks the store for a write that can only be refused (an impossible expected revision):
   * a refusal proves it has a leader and answers; a timeout or no responders that it is out.
   * A read would not do: any replica answers a direct get, leader or not.
   */
  private async storeAnswers(): Promise<boolean> {
    try {
      await this.kv.update(`${this.options.service}._probe`, new Uint8Array(), Number.MAX_SAFE_INTEGER);
      return true;
    } catch (err) {
      return err instanceof JetStreamApiError;
    }
  }

  /**
   * Takes over a lease under this instance's id that this process does not hold, at the
   * revision it has now (fails if anyone changed it meanwhile), with a new fencing token: what
   * the earlier run published, if it still runs, is fenced off. A key that is gone is claimed.
   */
  private async takeOver(key: string): Promise<Held> {
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') return this.claim(key);
    const value = parseLease(entry.value);
    if (value?.instance !== this.options.instanceId) return this.claim(key); // refused by the store: someone else's now
    const held = await this.stamped(key, this.kv.update(key, this.leaseBody(0), entry.revision));
    this.log.info({ key, formerToken: value.token, token: held.token }, 'took over a lease of an earlier run of this instance');
    return held;
  }

  /** Creates the lease (fails if anyone holds it) and stamps it with its fencing token. */
  private claim(key: string): Promise<Held> {
    return this.stamped(key, this.kv.create(key, this.leaseBody(0)));
  }

  /** The revision a lease was just written at becomes its fencing token, written into it. */
  private async stamped(key: string, written: Promise<number>): Promise<Held> {
    const token = await written;
    return { token, revision: await this.kv.update(key, this.leaseBody(token), token) };
  }

  private leaseBody(token: number): Uint8Array {
    return encoder.encode(JSON.stringify({ instance: this.options.instanceId, token } satisfies LeaseValue));
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
        h.revision = await this.kv.update(this.key(deviceId), this.leaseBody(h.token), h.revision);
      } catch (err) {
        // Another revision is the only proof of another holder, and even that is looked at first.
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) {
          if ((await this.reconcile(deviceId, h, err)) !== 'unknown') return;
          ok = false;
          if (Date.now() - this.lastRenewedAt >= this.holdMs()) this.lose(deviceId, `not renewed for ${this.holdMs()} ms: ${err.message}`);
          return;
        }
        ok = false;
        this.noteStoreFailure(started);
        // A timeout or a lost connection says nothing about the lease: keep it, longer while
        // the store is out; it expires on its own if we truly cannot renew.
        if (Date.now() - this.lastRenewedAt >= this.holdMs()) this.lose(deviceId, `not renewed for ${this.holdMs()} ms: ${(err as Error).message}`);
        else this.log.warn({ deviceId, err: (err as Error).message }, 'lease renewal failed; trying again at the next heartbeat');
      }
    }));
    if (ok) {
      if (this.storeFailingSince !== undefined) {
        if (this.held.size > 0) this.log.info({ outageMs: Date.now() - this.storeFailingSince }, 'lease renewals work again');
        this.claimsPausedUntil = Date.now() + this.options.ttlMs;
      }
      this.storeFailingSince = undefined;
      this.lastRenewedAt = started;
    } else {
      this.noteStoreFailure(started);
    }
  }

  /**
   * The store did not answer a renewal. That starts an outage (and its grace) only while our
   * leases were current: a process that was paused past its TTL, whose renewal timed out
   * because of the pause, has no outage to blame and re-checks its leases instead.
   */
  private noteStoreFailure(startedAt: number): void {
    if (this.storeFailingSince === undefined && Date.now() - this.lastRenewedAt < this.options.ttlMs) this.storeFailingSince = startedAt;
  }

  /**
   * A renewal found another revision than ours. Three stories fit, told apart by the key:
   * our own renewal landed but its answer was lost (the value is ours: adopt its revision);
   * the lease expired while the store could not be written, e.g. during a leader election,
   * and nobody took it (no value: take it again, with a new fencing token); or another
   * instance holds it (lost); `unknown` when the key could not be read.
   */
  private async reconcile(deviceId: string, h: Held, conflict: Error): Promise<'kept' | 'lost' | 'unknown'> {
    const key = this.key(deviceId);
    let entry;
    try {
      entry = await this.kv.get(key);
    } catch (err) {
      this.log.warn({ deviceId, err: (err as Error).message }, 'lease renewal conflicted and the lease could not be read; trying again at the next heartbeat');
      return 'unknown';
    }
    if (entry && entry.operation === 'PUT') {
      const value = parseLease(entry.value);
      if (value?.instance === this.options.instanceId && value.token === h.token) {
        h.revision = entry.revision;
        return 'kept';
      }
      this.lose(deviceId, conflict.message);
      return 'lost';
    }
    try {
      const fresh = await this.claim(key);
      this.log.info({ deviceId, token: fresh.token, formerToken: h.token }, 'lease expired while it could not be renewed and nobody took it: taken again');
      h.token = fresh.token;
      h.revision = fresh.revision;
      return 'kept';
    } catch (err) {
      this.lose(deviceId, `expired and taken by another instance: ${(err as Error).message}`);
      return 'lost';
    }
  }

  private lose(deviceId: string, why: string): void {
    if (!this.held.delete(deviceId)) return;
    this.changes++;
    this.metrics?.ownershipChanges.add(1, { 'voicebus.change': 'lost' });
    this.log.warn({ deviceId, why }, 'lost device ownership: stopping this device here');
    this.onLost(deviceId);
  }

  /**
   * Gives up one device (its actor was passivated: the device went quiet): the lease is
   * deleted, so it is no longer renewed here, and whoever hears from the device first takes it.
   */
  release(deviceId: string): Promise<void> {
    const h = this.held.get(deviceId);
    if (!h) return Promise.resolve();
    this.held.delete(deviceId);
    this.changes++;
    this.metrics?.ownershipChanges.add(1, { 'voicebus.change': 'released' });
    const deleting = this.kv.delete(this.key(deviceId), { previousSeq: h.revision })
      .catch(() => {})
      .then(() => {
        this.releasing.delete(deviceId);
        this.log.info({ deviceId }, 'released device ownership (the device went quiet)');
      });
    this.releasing.set(deviceId, deleting);
    return deleting;
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
