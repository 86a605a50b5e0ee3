import { makeEvent } from '@voicebus/protocol';
import { ATTR } from '@voicebus/runtime';
import { startTelemetry, type Telemetry, type TelemetryOptions } from '@voicebus/runtime/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunksOf, loadFixture } from './fixture-runner.ts';
import { actorForTest } from './vad-actor.testing.ts';

type Exporter = NonNullable<TelemetryOptions['spanExporter']>;
type Exported = Parameters<Exporter['export']>[0][number];

const ended: Exported[] = [];
let telemetry: Telemetry;
beforeAll(async () => {
  telemetry = await startTelemetry({
    serviceName: 'vad-test',
    instanceId: 't',
    spanExporter: { export: (spans, done) => (ended.push(...spans), done({ code: 0 })), shutdown: async () => {} },
  });
});
afterAll(async () => {
  await telemetry?.shutdown();
});

const T0 = 1_700_000_000_000_000;

/** A vad actor hearing `turns` times the one-turn fixture, each followed by a second of quiet; nobody answers. */
async function talk(turns: number) {
  const { pcm } = loadFixture('single-hello');
  const once = Int16Array.from([...pcm, ...new Int16Array(16000)]);
  const { actor, events } = await actorForTest('spans');
  let seq = 0;
  for (let k = 0; k < turns; k++) {
    for (const chunk of chunksOf(once, T0 + seq * 20_000, seq)) await actor.handle({ kind: 'audio', chunk, receivedAtUs: 0 });
    seq += Math.floor(once.length / 320);
  }
  return { actor, events, turnIds: events.filter((e) => e.type === 'turn.end').map((e) => (e as { turnId: string }).turnId) };
}

const userTurnSpans = async () => {
  await telemetry.forceFlush();
  return ended.filter((s) => s.name === 'user turn');
};

describe('VadActor: a user turn\'s span when no latency report comes', () => {
  it('ends when the session says it dropped the turn (the model waits for more, or nobody had it)', async () => {
    ended.length = 0;
    const { actor, turnIds } = await talk(1);
    expect(turnIds).toHaveLength(1);
    expect(await userTurnSpans()).toEqual([]);
    await actor.handle({ kind: 'event', event: makeEvent('user.turn.dropped', { deviceId: 'spans', turnId: turnIds[0]!, reason: 'continued' }) });
    const spans = await userTurnSpans();
    expect(spans.map((s) => [s.attributes[ATTR.turnId], s.attributes['voicebus.turn.ended_by']])).toEqual([[turnIds[0], 'user.turn.dropped:continued']]);
    actor.stop();
  });

  it('a long conversation whose answers never report keeps at most eight open: the oldest ends as the next turn starts', async () => {
    ended.length = 0;
    const { actor, turnIds } = await talk(11);
    expect(turnIds).toHaveLength(11);
    const spans = await userTurnSpans();
    expect(spans.map((s) => s.attributes[ATTR.turnId])).toEqual(turnIds.slice(0, 3));
    expect(new Set(spans.map((s) => s.attributes['voicebus.turn.ended_by']))).toEqual(new Set(['superseded']));
    actor.stop();
  });
});
