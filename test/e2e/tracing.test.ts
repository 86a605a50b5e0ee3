import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts';
import { FIXTURES, readTurns, runDemo } from '../support/run-demo.ts';

let receiver: OtlpReceiver;
let endpoint: string;
beforeAll(async () => {
  receiver = new OtlpReceiver();
  endpoint = await receiver.start();
});
afterAll(async () => {
  await receiver?.stop();
});

describe('traces of a demo run, as the real exporters send them', () => {
  it('one trace per user turn, spanning capture, vad, session and playback, linked across NATS', async () => {
    const run = await runDemo(['--no-greeting', '--input', join(FIXTURES, 'three-turns-2s.wav'), '--jaeger', endpoint], {
      env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200' },
    });
    expect(run.code, run.lines.join('\n')).toBe(0);
    expect(run.violations).toEqual([]);
    const rows = readTurns(run.out);
    const roots = () => receiver.spans.filter((s) => s.name === 'user turn');
    await receiver.waitFor(() => roots().length >= rows.length);
    expect(roots()).toHaveLength(rows.length);
    expect(new Set(roots().map((r) => r.traceId)).size).toBe(rows.length);

    for (const row of rows) {
      const root = roots().find((r) => r.attributes['voicebus.turn.id'] === row.turnId)!;
      expect(root, `root span of ${row.turnId}`).toBeDefined();
      const spans = receiver.spans.filter((s) => s.traceId === root.traceId);
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      const one = (service: string, name: string): ReceivedSpan => {
        const found = spans.find((s) => s.service === service && s.name === name);
        expect(found, `${service} / ${name} in ${row.turnId}'s trace`).toBeDefined();
        return found!;
      };
      expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['capture', 'vad', 'session', 'playback']));
      expect(root.service).toBe('vad');
      expect(root.parentSpanId).toBeUndefined();
      expect(root.attributes).toMatchObject({ 'voicebus.device.id': 'dev1', 'voicebus.interruption.strategy': 'immediate', 'gen_ai.request.model': 'gemini-2.5-flash-native-audio-latest' });
      for (const k of ['voicebus.latency.end_of_turn_ms', 'voicebus.latency.bus_ms', 'voicebus.latency.model_first_audio_ms', 'voicebus.latency.playback_buffer_ms', 'voicebus.latency.voice_to_voice_ms']) {
        expect(typeof root.attributes[k], k).toBe('number');
      }
      // endpointing (vad) under the root; turn.end: vad send -> session process -> model response.
      expect(one('vad', 'endpointing').parentSpanId).toBe(root.spanId);
      const sends = spans.filter((s) => s.service === 'vad' && s.name === 'send voice.v1.{deviceId}.turn' && s.attributes['voicebus.event.type'] === 'turn.end');
      expect(sends).toHaveLength(1);
      expect(sends[0]!.parentSpanId).toBe(root.spanId);
      expect(sends[0]!.attributes['messaging.system']).toBe('nats');
      const processed = spans.filter((s) => s.service === 'session' && s.name === 'process voice.v1.{deviceId}.turn' && s.parentSpanId === sends[0]!.spanId);
      expect(processed).toHaveLength(1);
      const model = one('session', 'model response');
      expect(model.parentSpanId).toBe(processed[0]!.spanId);
      expect(model.events.map((e) => e.name)).toContain('first model audio');
      // Audio carries the model-response context to playback; playback's events reach capture.
      const playback = one('playback', 'playback');
      expect(playback.parentSpanId).toBe(model.spanId);
      const audible = one('capture', 'assistant audible at device');
      expect(byId.get(audible.parentSpanId!)?.service).toBe('playback');
      // No transcript text in spans by default.
      expect(spans.every((s) => s.events.every((e) => !('text' in e.attributes)))).toBe(true);
    }
  }, 120_000);
});
