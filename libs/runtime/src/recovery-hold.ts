/**
 * What arrives for each device while a service that starts recovers what a dead process left
 * undone: held in order, so it follows what is recovered for that device. Until the recovery
 * knows which devices it has something for (the histories are being read), every device
 * waits; from then on only those still recovering do, each released on its own as soon as
 * its own recovery is delivered. A device with nothing to recover does not wait for another's
 * lease (up to three lease TTLs when its holder died).
 */
export class RecoveryHold<D> {
  private readonly deliver: (deviceId: string, delivery: D) => void;
  private readonly waiting = new Map<string, D[]>();
  /** True until the recovery knows its devices: everyone waits. */
  private holdingAll: boolean;

  constructor(deliver: (deviceId: string, delivery: D) => void, recovering: boolean) {
    this.deliver = deliver;
    this.holdingAll = recovering;
  }

  /** Delivered now, or held behind its device's recovery. */
  push(deviceId: string, delivery: D): void {
    const queue = this.waiting.get(deviceId);
    if (queue) queue.push(delivery);
    else if (this.holdingAll) this.waiting.set(deviceId, [delivery]);
    else this.deliver(deviceId, delivery);
  }

  /** The recovery knows its devices: the others' held messages go now, theirs wait for `release`. */
  recovering(deviceIds: Iterable<string>): void {
    const recovering = new Set(deviceIds);
    const others = [...this.waiting.keys()].filter((id) => !recovering.has(id));
    for (const id of recovering) if (!this.waiting.has(id)) this.waiting.set(id, []);
    this.holdingAll = false;
    for (const id of others) this.release(id);
  }

  /** This device's recovery is delivered (or given up): what it held follows, in order. */
  release(deviceId: string): void {
    const queue = this.waiting.get(deviceId);
    if (!queue) return;
    this.waiting.delete(deviceId);
    for (const delivery of queue) this.deliver(deviceId, delivery);
  }

  /** Devices whose messages are held now. */
  get held(): string[] {
    return [...this.waiting.keys()];
  }
}
