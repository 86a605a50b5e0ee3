export { ATTR, MESSAGING_SYSTEM, latencyAttributes } from './attributes.ts';
export { createLogger, LOGGER_DEFAULTS, type Logger, type LoggerOptions } from './logger.ts';
export { startTelemetry, otlpTracesConfigured, type Telemetry, type TelemetryOptions } from './telemetry.ts';
export { createVoiceMetrics, LATENCY_BUCKETS_MS, type VoiceMetrics } from './metrics.ts';
export { injectTraceContext, extractTraceContext } from './trace-headers.ts';
export { Mailbox, type MailboxEntry } from './mailbox.ts';
export {
  ActorHost,
  ACTOR_HOST_DEFAULTS,
  ACTOR_STOP_REASONS,
  type Actor,
  type ActorContext,
  type ActorFactory,
  type ActorHostOptions,
  type ActorStats,
  type ActorStopReason,
  type Delivery,
  type DeliveryTrace,
  type LaneOptions,
} from './actor-host.ts';
export { Bus, nowUs, processSpan, type AudioStream, type BusOptions, type Received, type SubscribeOptions } from './bus.ts';
export { DeviceOwnership, OWNERSHIP_DEFAULTS, type OwnershipOptions } from './device-ownership.ts';
export { OwnershipGate } from './ownership-gate.ts';
export { registerService, type ServiceRegistrationOptions } from './service-registration.ts';
export { Shutdown } from './shutdown.ts';
export { addCommonOptions, addOwnershipOptions, defaultInstanceId, numberIn, type CommonOptions, type OwnershipFlags } from './common-options.ts';
export { setupOwnership, type DeviceRouter } from './ownership-setup.ts';
export { memoryLogger, expectCalls } from './testing.ts';
export { startServiceRuntime, type ServiceRuntime, type StartServiceOptions } from './service-runtime.ts';
