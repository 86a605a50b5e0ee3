import { writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Bus } from './bus.ts';
import type { CommonOptions } from './common-options.ts';
import { createLogger } from './logger.ts';
import { registerService } from './service-registration.ts';
import { Shutdown } from './shutdown.ts';
import { startTelemetry, type Telemetry } from './telemetry.ts';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

export interface ServiceRuntime {
  name: string;
  instanceId: string;
  log: Logger;
  bus: Bus;
  telemetry: Telemetry;
  shutdown: Shutdown;
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
  /** Tests pass an exporter; services leave it to the OTEL environment. */
  spanExporter?: SpanExporter;
  /** Tests and embedded use skip process signal handlers. */
  handleSignals?: boolean;
  logDestination?: NodeJS.WritableStream;
}

/**
 * Brings up what every service needs, in the order that makes shutdown clean: telemetry
 * first (so startup is traced), logger, bus connection, service registration; shutdown
 * runs the reverse: the service's own hooks, then drain, then telemetry flush.
 */
export async function startServiceRuntime(options: StartServiceOptions): Promise<ServiceRuntime> {
  const telemetry = await startTelemetry({ serviceName: options.name, instanceId: options.instanceId, version: options.version, spanExporter: options.spanExporter });
  const log = createLogger({ service: options.name, instanceId: options.instanceId, level: options.logLevel, destination: options.logDestination });
  const shutdown = new Shutdown(log);
  shutdown.add('telemetry', () => telemetry.shutdown());
  const bus = await Bus.connect({
    servers: options.natsUrl,
    name: `${options.name}-${options.instanceId}`,
    user: options.natsUser,
    pass: options.natsPass,
    log,
  });
  shutdown.add('bus', () => bus.drain());
  bus.onReject = (kind) => telemetry.metrics.chunksRejected.add(1, { 'voicebus.reason': kind });
  const ready = async () => {
    await bus.flush(); // the server has every subscription made so far
    await registerService(bus.nc, {
      name: options.name,
      version: options.version,
      description: options.description,
      instanceId: options.instanceId,
      stats: options.stats,
    });
    log.info({ nats: options.natsUrl }, `${options.name} ready`);
  };
  if (options.handleSignals !== false) shutdown.installSignalHandlers();
  const healthFile = process.env.HEALTH_FILE;
  if (healthFile) {
    // Containers: fresh while connected to NATS (see infra/healthcheck.ts).
    const beat = () => {
      if (bus.connected && !bus.nc.isClosed()) writeFileSync(healthFile, String(Date.now()));
    };
    beat();
    const timer = setInterval(beat, 5000);
    timer.unref();
    shutdown.add('health file', () => clearInterval(timer));
  }
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  return { name: options.name, instanceId: options.instanceId, log, bus, telemetry, shutdown, ready };
}
