import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { makeEvent, STREAMS, type TurnEvent } from '@voicebus/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorHost } from './actor-host.ts';
import { ATTR } from './attributes.ts';
import { Bus, processSpan } from './bus.ts';
import { startTelemetry, type Telemetry } from './telemetry.ts';
import { expectCalls, memoryLogger } from './testing.ts';

let server: NatsServer;
let telemetry: Telemetry;
const exporter = new InMemorySpanExporter();
const { log, lines } = memoryLogger();

beforeAll(async () => {
  server = await startNatsServer();
  telemetry = await startTelemetry({ serviceName: 'tracing-test', instanceId: 't', spanExporter: exporter });
});
afterAll(async () => {
  await telemetry?.shutdown();
  await server?.stop();
});

describe('trace context across NATS', () => {
  it('the consumer span is a child of the producer span, in the same trace', async () => {
    const producer = await Bus.connect({ servers: server.url, name: 'p', log });
    const consumer = await Bus.connect({ servers: server.url, name: 'c', log });
    const handled = expectCalls<string>(1);
    const host = new ActorHost<TurnEvent>(({ log: actorLog }) => ({
      handle(event) {
        actorLog.info({ turnId: 'turnId' in event ? event.turnId : undefined }, 'handled turn event');
        handled.push(trace.getActiveSpan()?.spanContext().spanId ?? 'none');
      },
    }), log);
    consumer.subscribeEvents(STREAMS.turn, (event, meta) =>
      host.deliver(meta.deviceId, { message: event, droppable: false, trace: processSpan(STREAMS.turn, meta) }),
    );
    await consumer.flush();

    const tracer = trace.getTracer('test');
    const root = tracer.startSpan('user turn');
    await trace.getTracer('test').startActiveSpan('user turn', async (span) => {
      producer.publishEvent(makeEvent('turn.end', {
        deviceId: 'kitchen', turnId: 'kitchen-1', speechStartUs: 1, speechEndUs: 2, decidedAt: 3, endOfTurnDelayMs: 700,
      }));
      span.end();
    });
    root.end();
    await producer.flush();
    const [activeInHandler] = await handled.done;
    await host.whenIdle();
    // Export waits for the resource's async attributes: read the spans once they are out.
    await telemetry.forceFlush();

    const spans = exporter.getFinishedSpans();
    const send = spans.find((s) => s.name === 'send voice.v1.{deviceId}.turn')!;
    const proc = spans.find((s) => s.name === 'process voice.v1.{deviceId}.turn')!;
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(proc.kind).toBe(SpanKind.CONSUMER);
    expect(proc.spanContext().traceId).toBe(send.spanContext().traceId);
    expect(proc.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(activeInHandler).toBe(proc.spanContext().spanId);
    expect(send.attributes[ATTR.messagingSystem]).toBe('nats');
    expect(send.attributes[ATTR.messagingDestinationName]).toBe('voice.v1.kitchen.turn');
    expect(send.attributes[ATTR.turnId]).toBe('kitchen-1');
    expect(proc.attributes[ATTR.messagingOperationType]).toBe('process');
    expect(proc.attributes[ATTR.deviceId]).toBe('kitchen');

    const line = lines().find((l) => l.msg === 'handled turn event')!;
    expect(line.deviceId).toBe('kitchen');
    expect(line.traceId).toBe(send.spanContext().traceId);
    await host.close();
    await producer.drain();
    await consumer.drain();
  });
});
