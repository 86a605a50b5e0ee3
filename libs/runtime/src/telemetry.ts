import { propagation, trace, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { createVoiceMetrics, type VoiceMetrics } from './metrics.ts';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export interface TelemetryOptions {
  serviceName: string;
  instanceId: string;
  version: string;
  /** Export spans here (tests); otherwise OTLP when an endpoint is configured, else nowhere. */
  spanExporter: SpanExporter | undefined;
  env: NodeJS.ProcessEnv;
  /** Tests pass a reader (e.g. an in-memory one); otherwise OTLP and/or Prometheus from env. */
  metricReader: MetricReader | undefined;
  /** Serve Prometheus metrics on this port (0 = off). */
  prometheusPort: number;
}

export interface Telemetry {
  tracer: Tracer;
  metrics: VoiceMetrics;
  /** True when spans leave the process. */
  exporting: boolean;
  /** Resolves once every ended span has reached its exporter (the resource's async attributes delay them). */
  forceFlush(): Promise<void>;
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

async function otlpMetricReader(env: NodeJS.ProcessEnv): Promise<MetricReader> {
  const protocol = env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  const exporter = protocol === 'http/json'
    ? new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter()
    : new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter();
  return new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: Number(env.OTEL_METRIC_EXPORT_INTERVAL ?? 10_000) });
}

function otlpMetricsConfigured(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_METRICS_EXPORTER === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT);
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

  const readers: MetricReader[] = [];
  if (options.metricReader) readers.push(options.metricReader);
  else if (otlpMetricsConfigured(env)) readers.push(await otlpMetricReader(env));
  const prometheusPort = options.prometheusPort ?? Number(env.PROMETHEUS_PORT ?? 0);
  if (prometheusPort > 0) {
    const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
    readers.push(new PrometheusExporter({ port: prometheusPort, host: env.PROMETHEUS_HOST ?? '0.0.0.0' }));
  }

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
    // Readers are chosen above; logs stay in pino. Keep the SDK from guessing exporters.
    metricReaders: readers,
    logRecordProcessors: [],
  });
  sdk.start();
  // NodeSDK leaves the propagator unset when env says otherwise; the bus relies on W3C.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  let stopped: Promise<void> | undefined;
  return {
    tracer: trace.getTracer(`voicebus.${options.serviceName}`),
    metrics: createVoiceMetrics(),
    exporting: processors.length > 0,
    forceFlush: async () => {
      await Promise.all(processors.map((processor) => processor.forceFlush()));
    },
    shutdown: () => {
      stopped ??= sdk.shutdown().catch(() => {});
      return stopped;
    },
  };
}

