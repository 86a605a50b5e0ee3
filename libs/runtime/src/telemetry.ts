import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export interface TelemetryOptions {
  serviceName: string;
  instanceId: string;
  version: string;
  /** Export spans here (tests); otherwise OTLP when an endpoint is configured, else nowhere. */
  spanExporter: SpanExporter | undefined;
  env: NodeJS.ProcessEnv;
}

export interface Telemetry {
  tracer: Tracer;
  /** True when spans leave the process. */
  exporting: boolean;
  shutdown(): Promise<void>;
}

/** True when the standard OTEL variables name an endpoint for traces. */
export function otlpTracesConfigured(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

async function otlpExporter(env: NodeJS.ProcessEnv): Promise<SpanExporter> {
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  if (protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter();
  }
  if (protocol === 'grpc') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-grpc');
    return new OTLPTraceExporter();
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter();
}

/**
 * Starts the OpenTelemetry SDK for one service. Spans are always created (trace ids reach the
 * logs and the NATS headers), but they are exported only to an explicit exporter or a
 * configured OTLP endpoint: with no endpoint nothing is sent and nothing logs errors.
 */
export async function startTelemetry(options: Pick<TelemetryOptions, 'serviceName' | 'instanceId'> & Partial<TelemetryOptions>): Promise<Telemetry> {
  const env = options.env ?? process.env;
  const processors: SpanProcessor[] = [];
  if (options.spanExporter) processors.push(new SimpleSpanProcessor(options.spanExporter));
  else if (otlpTracesConfigured(env)) processors.push(new BatchSpanProcessor(await otlpExporter(env)));

  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME ?? options.serviceName,
      [ATTR_SERVICE_VERSION]: options.version ?? '0.1.0',
      'service.instance.id': options.instanceId,
    }),
    spanProcessors: processors,
    // No auto-instrumentation: the bus spans are made by hand, the rest would be noise.
    instrumentations: [],
    textMapPropagator: new W3CTraceContextPropagator(),
    // Metrics and logs are wired separately; keep the SDK from guessing exporters for them.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  // NodeSDK leaves the propagator unset when env says otherwise; the bus relies on W3C.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  let stopped: Promise<void> | undefined;
  return {
    tracer: trace.getTracer(`voicebus.${options.serviceName}`),
    exporting: processors.length > 0,
    shutdown: () => {
      stopped ??= sdk.shutdown().catch(() => {});
      return stopped;
    },
  };
}

export { context, trace };
