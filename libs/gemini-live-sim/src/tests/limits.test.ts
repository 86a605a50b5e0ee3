import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGeminiLiveSim, type GeminiLiveSim } from '../server.ts';
import { MANUAL, connect } from './client.ts';

let sim: GeminiLiveSim;
beforeAll(async () => {
  // The real limits are 10 and 15 minutes; shortened here.
  sim = await startGeminiLiveSim({ preset: 'realistic', connectionLimitMs: 600, goAwayTimeLeftMs: 300, audioSessionLimitMs: 0 });
});
afterAll(async () => {
  await sim?.close();
});

describe('connection and session limits (real @google/genai client)', () => {
  it('sends goAway with timeLeft before the connection limit, then closes', async () => {
    const t0 = performance.now();
    const c = await connect(sim, MANUAL);
    const { code } = await c.closed;
    const goAway = c.messages.findIndex((m) => m.goAway);
    // Old simulator: no goAway unless scripted.
    expect(goAway).toBeGreaterThan(-1);
    expect(c.messages[goAway]!.goAway!.timeLeft).toBe('0.300s');
    expect(c.times[goAway]! - t0).toBeGreaterThan(200);
    expect(performance.now() - t0).toBeGreaterThan(550);
    expect(code).toBe(1001);
  });

  it('ends an audio session at its limit unless the setup has contextWindowCompression, counting across resumed connections', async () => {
    sim.behaviour.connectionLimitMs = 0;
    sim.behaviour.audioSessionLimitMs = 500;
    try {
      const t0 = performance.now();
      const c = await connect(sim, { ...MANUAL, sessionResumption: {} });
      const handle = sim.sessions.at(-1)!.sendResumptionUpdate()!;
      await new Promise((r) => setTimeout(r, 200));
      c.session.close();
      const resumed = await connect(sim, { ...MANUAL, sessionResumption: { handle } });
      const compressed = await connect(sim, { ...MANUAL, contextWindowCompression: { slidingWindow: {} } });
      let compressedClosed = false;
      void compressed.closed.then(() => (compressedClosed = true));
      const { code, reason } = await resumed.closed;
      // Old simulator: no audio session limit.
      expect(code).toBe(1011);
      expect(reason).toMatch(/Deadline expired/);
      expect(performance.now() - t0).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 400));
      expect(sim.sessions.at(-1)!.answering).toBe(false);
      expect(compressedClosed).toBe(false);
      compressed.session.close();
    } finally {
      sim.behaviour.audioSessionLimitMs = 0;
    }
  });
});
