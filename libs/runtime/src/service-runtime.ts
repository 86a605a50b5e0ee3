import { writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { NatsConnection } from '@nats-io/nats-core';
import { Bus, connectNats } from './bus.ts';
import type { CommonOptions, ScaleOutOptions } from './common-options.ts';
import { DeviceOwnership } from './device-ownership.ts';
import { createLogger } from './logger.ts';
import { registerService } from './service-registration.ts';
import { Shutdown } from './shutdown.ts';
import { startTelemetry, type Telemetry } from './telemetry.ts';

export interface ServiceRuntime {
  name: string;
  instanceId: string;
  log: Logger;
  bus: Bus;
  telemetry: Telemetry;
  shutdown: Shutdown;
  /** Leases shared with the service's other instances; undefined when this one takes every device. */
  ownership: DeviceOwnership | undefined;
  /** Replicas of the KV buckets the service creates (KV_REPLICAS). */
  kvReplicas: number;
  /**
   * Registers with the NATS services framework (`$SRV`, `voicebus.<name>.status`): call it
   * once the service's subscriptions are in place, since answering is what "ready" means.
   */
  ready(): Promise<void>;
}

export interface StartServiceOptions extends CommonOptions {
  name: string;
  version: string;
  description: string;
  stats: () => unknown;
  /** Share devices with other instances through leases (services that scale out). */
  ownership?: ScaleOutOptions | undefined;
  /** Tests pass an exporter; services leave it to the OTEL environment. */
  spanExporter?: SpanExporter;
  /** Tests and embedded use skip process signal handlers. */
  handleSignals?: boolean;
  logDestination?: NodeJS.WritableStream;
  /** Where the connection's replies come back (NatsConnectOptions.inboxPrefix). */
  inboxPrefix?: string | undefined;
  /**
   * A connection to use instead of dialing `natsUrl` (several services in one process on a
   * LocalConnection); it is drained at shutdown like a dialed one.
   */
  connection?: NatsConnection | undefined;
}

/**
 * Brings up what every service needs, in the order that makes shutdown clean: telemetry
 * first (so startup is traced), logger, NATS, leases, the bus with its hooks, service
 * registration; shutdown runs the reverse: the service's own hooks, then drain, then flush.
 */
export async function startServiceRuntime(options: StartServiceOptions): Promise<ServiceRuntime> {
  const telemetry = await startTelemetry({ serviceName: options.name, instanceId: options.instanceId, version: options.version, spanExporter: options.spanExporter });
  const log = createLogger({ service: options.name, instanceId: options.instanceId, level: options.logLevel, destination: options.logDestination });
  const shutdown = new Shutdown(log);
  shutdown.add('telemetry', () => telemetry.shutdown());
  const nc = options.connection ?? await connectNats({ servers: options.natsUrl, name: `${options.name}-${options.instanceId}`, user: options.natsUser, pass: options.natsPass, creds: options.natsCreds, inboxPrefix: options.inboxPrefix });
  const ownership = options.ownership?.ownership === 'kv' ? await startOwnership(nc, options, options.ownership, log, telemetry) : undefined;
  const bus = new Bus(nc, {
    log,
    onReject: (kind) => telemetry.metrics.chunksRejected.add(1, { 'voicebus.reason': kind }),
    fencing: ownership,
    chunkSpanRatio: options.traceChunks,
  });
  shutdown.add('bus', () => bus.drain());
  const ready = async () => {
    await bus.flush(); // the server has every subscription made so far
    if (options.discovery !== 'off') await registerService(bus.nc, {
      name: options.name,
      version: options.version,
      description: options.description,
      instanceId: options.instanceId,
      stats: options.stats,
    });
    log.info({ nats: options.natsUrl }, `${options.name} ready`);
  };
  if (options.handleSignals !== false) shutdown.installSignalHandlers();
  if (options.healthFile) keepHealthFile(options.healthFile, bus, shutdown);
  if (options.memoryLogS > 0) logMemory(options.memoryLogS, log, shutdown);
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  return { name: options.name, instanceId: options.instanceId, log, bus, telemetry, shutdown, ownership, kvReplicas: options.kvReplicas, ready };
}

/**
 * A JetStream that is there but not ready yet (a cluster still forming: no meta leader, or
 * fewer nodes up than the buckets' replicas) answers with these; it is waited for, not taken
 * for "no JetStream", which would make every instance take every device.
 */
const JETSTREAM_NOT_READY = /no suitable peers|temporarily unavailable|insufficient resources|timeout/i;
const OWNERSHIP_READY_WAIT_MS = 60_000;

async function startOwnership(nc: Bus['nc'], options: StartServiceOptions, flags: ScaleOutOptions, log: Logger, telemetry: Telemetry): Promise<DeviceOwnership | undefined> {
  const deadline = Date.now() + OWNERSHIP_READY_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await DeviceOwnership.start(nc, {
        service: options.name,
        instanceId: options.instanceId,
        ttlMs: flags.leaseTtlMs,
        heartbeatMs: Math.max(100, Math.floor(flags.leaseTtlMs / 4)),
        maxDevices: flags.maxDevices,
        outageGraceMs: flags.leaseOutageGraceMs,
        replicas: options.kvReplicas,
      }, log, telemetry.metrics);
    } catch (err) {
      const message = (err as Error).message;
      if (JETSTREAM_NOT_READY.test(message) && Date.now() < deadline) {
        if (attempt === 1) log.warn({ err: message }, 'JetStream not ready for the leases yet (a cluster forming?): waiting for it');
        await new Promise((r) => setTimeout(r, Math.min(2000, 250 * attempt)));
        continue;
      }
      // A NATS without JetStream: one instance still works, it just cannot share devices.
      log.warn({ err: message }, 'device ownership unavailable (JetStream?): this instance takes every device');
      return undefined;
    }
  }
}

/** `memory` lines (MB): a leak's slope, and whether it is in V8's heap or native memory (`./voicebus soak`). */
function logMemory(everyS: number, log: Logger, shutdown: Shutdown): void {
  const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    log.info({ memory: { rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) } }, 'memory');
  }, everyS * 1000);
  timer.unref();
  shutdown.add('memory log', () => clearInterval(timer));
}

/** Containers: the file is fresh while connected to NATS (see infra/healthcheck.ts). */
function keepHealthFile(path: string, bus: Bus, shutdown: Shutdown): void {
  const beat = () => {
    if (bus.connected && !bus.nc.isClosed()) writeFileSync(path, String(Date.now()));
  };
  beat();
  const timer = setInterval(beat, 5000);
  timer.unref();
  shutdown.add('health file', () => clearInterval(timer));
}
