import { ROOT_CONTEXT } from '@opentelemetry/api';
import { makeEvent } from '@voicebus/protocol';
import { ATTR, type Received } from '@voicebus/runtime';
import { startTelemetry, type Telemetry, type TelemetryOptions } from '@voicebus/runtime/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssistantAudibleSpans } from './assistant-audible.ts';

type Exporter = NonNullable<TelemetryOptions['spanExporter']>;
type Exported = Parameters<Exporter['export']>[0][number];

/** Spans as the SDK hands them to an exporter: only ended spans get here. */
const ended: Exported[] = [];
const exporter: Exporter = {
  export(spans, done) {
    ended.push(...spans);
    done({ code: 0 });
  },
  shutdown: async () => {},
};
let telemetry: Telemetry;
beforeAll(async () => {
  telemetry = await startTelemetry({ serviceName: 'capture-test', instanceId: 't', spanExporter: exporter });
});
afterAll(async () => {
  await telemetry?.shutdown();
});

const meta = { parent: ROOT_CONTEXT } as Received;
/** Wall-clock times (the SDK reads small numbers as performance-clock times). */
const T0 = Date.now();
const audible = (deviceId: string, turnId: string, heard: boolean, atMs: number, paused = false) =>
  makeEvent('assistant.audible', { deviceId, turnId, audible: heard, paused, at: T0 + atMs });
const epochMs = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6;

describe('AssistantAudibleSpans', () => {
  it('a late copy of an ended answer\'s start opens nothing: the device is not busy, and one span was made', async () => {
    await telemetry.forceFlush();
    ended.length = 0;
    const spans = new AssistantAudibleSpans();
    spans.onAudible(audible('d1', 't1', true, 1000), meta);
    spans.onAudible(audible('d1', 't1', true, 1005), meta); // the same start twice
    spans.onAudible(audible('d1', 't1', false, 3000), meta);
    expect(spans.busy).toBe(false);
    spans.onAudible(audible('d1', 't1', true, 1000), meta); // resent after an outage
    expect(spans.busy, 'the resent start of an ended answer').toBe(false);
    spans.close();
    await telemetry.forceFlush();
    expect(ended.map((s) => s.name)).toEqual(['assistant audible at device']);
  });

  it('a pause keeps the span open; the next answer on the same device ends the one whose end never came', async () => {
    await telemetry.forceFlush();
    ended.length = 0;
    const spans = new AssistantAudibleSpans();
    spans.onAudible(audible('d1', 't1', true, 1000), meta);
    spans.onAudible(audible('d1', 't1', false, 1500, true), meta);
    expect(spans.busy).toBe(true);
    await telemetry.forceFlush();
    expect(ended).toEqual([]);
    spans.onAudible(audible('d2', 'u1', true, 1600), meta);
    spans.onAudible(audible('d1', 't2', true, 2000), meta);
    await telemetry.forceFlush();
    expect(ended.map((s) => s.attributes[ATTR.turnId])).toEqual(['t1']);
    expect(epochMs(ended[0]!.endTime) - T0, 'ended where the next answer began').toBeCloseTo(2000, 0);
    spans.onAudible(audible('d1', 't2', false, 2500), meta);
    spans.onAudible(audible('d2', 'u1', false, 2600), meta);
    expect(spans.busy).toBe(false);
    await telemetry.forceFlush();
    expect(ended).toHaveLength(3);
  });
});
