import { hostname } from 'node:os';
import { Svcm } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/nats-core';

export interface ServiceRegistrationOptions {
  name: string;
  version: string;
  description: string;
  instanceId: string;
  /** What `$SRV.STATS` reports in the status endpoint's `data` (devices, drops, ...). */
  stats: () => unknown;
}

/**
 * Registers with the NATS services framework so `$SRV.PING|INFO|STATS` find every instance,
 * and answers `voicebus.<name>.status` (and `voicebus.<name>.<instanceId>.status`) with the
 * same live stats, for people and scripts.
 */
export async function registerService(nc: NatsConnection, options: ServiceRegistrationOptions) {
  // The services package pins an older nats-core; the connection object is compatible.
  const svc = new Svcm(nc as never);
  const service = await svc.add({
    name: options.name,
    version: options.version,
    description: options.description,
    metadata: { instance: options.instanceId, host: hostname(), pid: String(process.pid) },
    statsHandler: async () => options.stats(),
  });
  const respond = (_err: unknown, msg: { respond: (data: string) => boolean }) => {
    msg.respond(JSON.stringify({ instance: options.instanceId, ...(options.stats() as object) }));
  };
  service.addEndpoint('status', { subject: `voicebus.${options.name}.status`, handler: respond });
  service.addEndpoint('instance-status', { subject: `voicebus.${options.name}.${options.instanceId}.status`, handler: respond });
  return service;
}
