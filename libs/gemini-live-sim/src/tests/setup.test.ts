import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGeminiLiveSim, type GeminiLiveSim } from '../server.ts';
import { MANUAL, connect, connectFails, speak, turnCompletes } from './client.ts';

let sim: GeminiLiveSim;
beforeAll(async () => {
  sim = await startGeminiLiveSim({ preset: 'realistic', firstAudioDelayMs: 20, generationCompleteEarly: false });
});
afterAll(async () => {
  await sim?.close();
});

describe('setup and metadata (real @google/genai client)', () => {
  it('closes 1007 naming an unknown setup field or enum value', async () => {
    // realtimeInputConfig goes to the wire as given: a typo reaches the server.
    const typo = await connectFails(sim, { realtimeInputConfig: { automaticActivityDetection: { silenceDurationMS: 500 } } });
    // Old simulator: accepted anything.
    // (A close reason holds 123 bytes: the service's message is cut there.)
    expect(typo).toMatch(/code 1007.*Unknown name "silenceDurationMS" at 'setup\.realtime_input_config\.automatic_activity/);
    const badEnum = await connectFails(sim, { realtimeInputConfig: { activityHandling: 'SOMETIMES' } });
    expect(badEnum).toMatch(/code 1007.*activity_handling.*SOMETIMES/);
  });

  it('closes 1008 for a model that is not a Live model', async () => {
    // Old simulator: only names with not-found/invalid/bogus were refused.
    expect(await connectFails(sim, MANUAL, 'gemini-2.5-flash')).toMatch(/code 1008.*not supported for bidiGenerateContent/);
    const live = await connect(sim, MANUAL, 'gemini-3.1-flash-live-preview');
    live.session.close();
  });

  it('sends setupComplete.sessionId and usageMetadata with per-modality details', async () => {
    const c = await connect(sim, MANUAL);
    speak(c, 1000);
    await c.until((m) => m.some((x) => x.usageMetadata));
    // Old simulator: setupComplete {} and totals only.
    expect(c.session.setupComplete?.sessionId).toMatch(/^sim-/);
    const u = c.messages.find((m) => m.usageMetadata)!.usageMetadata!;
    expect(u.promptTokensDetails).toEqual([{ modality: 'TEXT', tokenCount: expect.any(Number) }, { modality: 'AUDIO', tokenCount: 25 }]);
    expect(u.responseTokensDetails).toEqual([{ modality: 'AUDIO', tokenCount: u.responseTokenCount }]);
    expect(u.totalTokenCount).toBe(u.promptTokenCount! + u.responseTokenCount!);
    expect(turnCompletes(c.messages)).toBe(1);
    c.session.close();
  });

  it('the realistic preset is the default; --preset / SIM_PRESET choose one on the command line', async () => {
    const byDefault = await startGeminiLiveSim({ firstAudioDelayMs: 20 });
    expect(byDefault.preset).toBe('realistic');
    expect(byDefault.behaviour.audioBursts).toBe(true);
    await byDefault.close();
    const simple = await startGeminiLiveSim({ preset: 'simple', firstAudioDelayMs: 20 });
    expect(simple.behaviour.audioBursts).toBe(false);
    await simple.close();
    for (const [args, env, want] of [[['--preset', 'simple'], {}, 'simple'], [[], { SIM_PRESET: 'simple' }, 'simple'], [[], {}, 'realistic']] as const) {
      const child = spawn(process.execPath, ['libs/gemini-live-sim/src/main.ts', '--port', '0', ...args], { env: { ...process.env, SIM_PRESET: undefined, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
      const [line] = (await once(child.stdout!, 'data')) as [Buffer];
      child.kill();
      expect(JSON.parse(line.toString().split('\n')[0]!)).toMatchObject({ event: 'listening', preset: want });
    }
  });
});
