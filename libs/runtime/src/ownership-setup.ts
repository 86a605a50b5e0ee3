import type { ActorHost } from './actor-host.ts';
import type { OwnershipFlags } from './common-options.ts';
import { DeviceOwnership } from './device-ownership.ts';
import { OwnershipGate } from './ownership-gate.ts';
import type { ServiceRuntime } from './service-runtime.ts';

/** What a service delivers its messages to: the ownership gate, or the host itself. */
export interface DeviceRouter<M> {
  deliver: ActorHost<M>['deliver'];
  ownership: DeviceOwnership | undefined;
}

/**
 * Shares devices with the service's other instances (leases in NATS KV), stamps and fences
 * leases on the bus, and hands devices over on shutdown. Register it before the actors'
 * shutdown hook, so the actors finish first and the leases are released after them.
 */
export async function setupOwnership<M>(rt: ServiceRuntime, host: ActorHost<M>, flags: OwnershipFlags): Promise<DeviceRouter<M>> {
  if (flags.ownership === 'none') return { deliver: (id, d) => host.deliver(id, d), ownership: undefined };
  let ownership: DeviceOwnership;
  try {
    ownership = await DeviceOwnership.start(rt.bus, {
      service: rt.name,
      instanceId: rt.instanceId,
      ttlMs: flags.leaseTtlMs,
      heartbeatMs: Math.max(100, Math.floor(flags.leaseTtlMs / 4)),
      maxDevices: flags.maxDevices,
    }, rt.log, rt.telemetry.metrics);
  } catch (err) {
    // A NATS without JetStream: one instance still works, it just cannot share devices.
    rt.log.warn({ err: (err as Error).message }, 'device ownership unavailable (JetStream?): this instance takes every device');
    return { deliver: (id, d) => host.deliver(id, d), ownership: undefined };
  }
  rt.bus.leaseService = rt.name;
  rt.bus.leaseOf = (deviceId) => ownership.token(deviceId);
  rt.bus.fence = (service, deviceId, token) => ownership.isStale(service, deviceId, token);
  const gate = new OwnershipGate(host, ownership);
  rt.shutdown.add('hand devices over', () => ownership.releaseAll());
  return { deliver: (id, d) => gate.deliver(id, d), ownership };
}
