// What the skeleton is made of, for tools, benchmarks and tests that assemble their own.
export * from './index.ts';
export { createLogger, LOGGER_DEFAULTS, type LoggerOptions } from './logger.ts';
export { startTelemetry, otlpTracesConfigured, type Telemetry, type TelemetryOptions } from './telemetry.ts';
export { createVoiceMetrics, LATENCY_BUCKETS_MS } from './metrics.ts';
export { injectTraceContext, extractTraceContext } from './trace-headers.ts';
export { Mailbox, type MailboxEntry } from './mailbox.ts';
export { DeviceOwnership, OWNERSHIP_DEFAULTS, type OwnershipOptions } from './device-ownership.ts';
export { OwnershipGate } from './ownership-gate.ts';
export { registerService, type ServiceRegistrationOptions } from './service-registration.ts';
export { Shutdown } from './shutdown.ts';
export { startService, type EmbeddingOptions, type StartedService } from './service-main.ts';
export { LocalRouter, subjectMatches } from './local-connection.ts';
