import type { ActorHost, Delivery } from './actor-host.ts';
import type { DeviceOwnership } from './device-ownership.ts';

/**
 * Puts ownership in front of an actor host: messages of a device this instance owns go to
 * its actor; the first message of an unowned device triggers a claim, with the device's
 * messages held (in order) until the claim is decided; devices owned elsewhere are ignored.
 */
export class OwnershipGate<M> {
  private readonly host: ActorHost<M>;
  private readonly ownership: DeviceOwnership;
  private readonly waiting = new Map<string, Delivery<M>[]>();
  ignored = 0;

  constructor(host: ActorHost<M>, ownership: DeviceOwnership) {
    this.host = host;
    this.ownership = ownership;
    // A lost lease stops the device here at once: its actor and its queue are dropped.
    ownership.onLost = (deviceId) => void host.release(deviceId, 'released');
  }

  deliver(deviceId: string, delivery: Delivery<M>): void {
    if (this.ownership.isMine(deviceId)) {
      this.host.deliver(deviceId, delivery);
      return;
    }
    const queue = this.waiting.get(deviceId);
    if (queue) {
      // Bounded like the mailbox it feeds: audio beyond that is dropped while the claim runs.
      if (queue.length < this.host.options.mailboxCapacity || !delivery.droppable) queue.push(delivery);
      return;
    }
    this.waiting.set(deviceId, [delivery]);
    void this.ownership.acquire(deviceId).then((mine) => {
      const held = this.waiting.get(deviceId) ?? [];
      this.waiting.delete(deviceId);
      if (!mine) {
        this.ignored += held.length;
        if (this.host.has(deviceId)) void this.host.release(deviceId, 'released');
        return;
      }
      for (const d of held) this.host.deliver(deviceId, d);
    });
  }
}
