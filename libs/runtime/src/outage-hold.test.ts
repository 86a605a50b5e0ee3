import type { AudioChunk } from '@voicebus/protocol';
import { memoryLogger } from './testing.ts';
import { describe, expect, it } from 'vitest';
import { OutageHold } from './outage-hold.ts';

const chunk = (seq: number): AudioChunk => ({ seq, captureTsUs: seq * 20_000, sampleRate: 16000, channels: 1, pcm: new Int16Array(320) });

/** A bus whose audio history refuses to store until `storing` is set (the stream is not back yet). */
function fakeBus() {
  const bus = {
    live: [] as number[],
    stored: [] as number[],
    storing: true,
    attempts: 0,
    publish: (c: AudioChunk) => void bus.live.push(c.seq),
    store: async (c: AudioChunk) => {
      bus.attempts++;
      await Promise.resolve();
      if (!bus.storing) throw new Error('no stream');
      bus.stored.push(c.seq);
    },
    durationMs: () => 20,
    resendable: () => true,
  };
  return bus;
}

describe('OutageHold: a device\'s audio across a NATS outage', () => {
  it('holds from the disconnect, sends the last 500 ms again first, stores every held chunk in order after the reconnect, then goes live', async () => {
    const bus = fakeBus();
    let now = 0;
    const hold = new OutageHold(bus, memoryLogger().log, { resendMs: 500 }, () => now);
    for (let n = 0; n < 50; n++, now += 20) hold.send(chunk(n));
    hold.disconnected();
    for (let n = 50; n < 100; n++, now += 20) hold.send(chunk(n));
    expect(bus.live).toEqual(Array.from({ length: 50 }, (_, n) => n));
    hold.reconnected();
    // Audio captured while the held audio goes out waits behind it.
    hold.send(chunk(100));
    await hold.settled();
    // Sent in the last 500 ms before the disconnect noticed (at 1000 ms): chunks 25 to 49, again.
    expect(bus.stored).toEqual(Array.from({ length: 76 }, (_, n) => 25 + n));
    hold.send(chunk(101));
    expect(bus.live.at(-1)).toBe(101);
    expect(hold.isHolding).toBe(false);
  });

  it('retries until the history takes the audio; gone again while sending, it keeps holding and goes on at the next reconnect', async () => {
    const bus = fakeBus();
    const hold = new OutageHold(bus, memoryLogger().log, { retryMs: 1, resendMs: 0 });
    hold.disconnected();
    for (let n = 0; n < 5; n++) hold.send(chunk(n));
    bus.storing = false;
    hold.reconnected();
    // Not stored until the stream is there: tried again, nothing sent live meanwhile.
    while (bus.attempts < 3) await new Promise((r) => setImmediate(r));
    expect(bus.stored).toEqual([]);
    hold.disconnected();
    hold.send(chunk(5));
    bus.storing = true;
    hold.reconnected();
    await hold.settled();
    expect(bus.stored).toEqual([0, 1, 2, 3, 4, 5]);
    expect(bus.live).toEqual([]);
  });

  it('a history asked first (historyReady): nothing is tried before the stream is back, so each held message is stored once and reaches no one twice', async () => {
    const bus = fakeBus();
    bus.storing = false;
    let checks = 0;
    const hold = new OutageHold({ ...bus, historyReady: async () => (++checks === 3 && (bus.storing = true), bus.storing) }, memoryLogger().log, { retryMs: 1, resendMs: 0 });
    hold.disconnected();
    for (let n = 0; n < 5; n++) hold.send(chunk(n));
    hold.reconnected();
    await hold.settled();
    expect(checks).toBe(3);
    expect(bus.attempts).toBe(5);
    expect(bus.stored).toEqual([0, 1, 2, 3, 4]);
    expect(bus.live).toEqual([]);
  });

  it('a history asked first that never comes: the held go live after storeWaitMs, none tried as a store', async () => {
    const bus = fakeBus();
    let now = 0;
    const hold = new OutageHold({ ...bus, historyReady: async () => ((now += 600), false) }, memoryLogger().log, { retryMs: 1, resendMs: 0, storeWaitMs: 2000 }, () => now);
    hold.disconnected();
    for (let n = 0; n < 3; n++) hold.send(chunk(n));
    hold.reconnected();
    await hold.settled();
    expect(bus.attempts).toBe(0);
    expect(bus.live).toEqual([0, 1, 2]);
    expect(hold.stats).toMatchObject({ sentLateUnstored: 3, storedAfterOutage: 0 });
  });

  it('a stack whose history never takes it gets the held audio live after storeWaitMs, late but in order; beyond maxHeldMs the oldest goes', async () => {
    const bus = fakeBus();
    bus.storing = false;
    let now = 0;
    const { log, lines } = memoryLogger();
    const hold = new OutageHold(bus, log, { retryMs: 1, resendMs: 0, storeWaitMs: 100, maxHeldMs: 200 }, () => now);
    hold.disconnected();
    for (let n = 0; n < 15; n++) hold.send(chunk(n));
    expect(hold.dropped).toBe(5);
    hold.reconnected();
    while (bus.attempts < 2) await new Promise((r) => setImmediate(r));
    now = 101;
    await hold.settled();
    expect(bus.live).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(hold.unstored).toBe(10);
    expect(lines().filter((l) => /oldest held are dropped/.test(String(l.msg)))).toHaveLength(1);
  });

  it('a store that hangs (a cluster electing the stream\'s leader) is tried for storeAttemptMs at a time, the last attempt no longer than storeWaitMs has left; then the held go live in order', async () => {
    const bus = fakeBus();
    let now = 0;
    const timeouts: number[] = [];
    const store = async (_c: AudioChunk, timeoutMs: number) => {
      timeouts.push(timeoutMs);
      now += timeoutMs; // it hangs for as long as it is allowed to
      throw Object.assign(new Error('timeout'), { name: 'TimeoutError' });
    };
    const hangs = { ...bus, store };
    const hold = new OutageHold(hangs, memoryLogger().log, { retryMs: 1, resendMs: 0, storeWaitMs: 3000, storeAttemptMs: 1200 }, () => now);
    hold.disconnected();
    for (let n = 0; n < 5; n++) hold.send(chunk(n));
    now = 1000;
    hold.reconnected();
    hold.send(chunk(5));
    await hold.settled();
    expect(timeouts).toEqual([1200, 1200, 600]);
    expect(now).toBe(4000);
    expect(bus.live).toEqual([0, 1, 2, 3, 4, 5]);
    expect(hold.stats).toMatchObject({ holding: false, sentLateUnstored: 6, storedAfterOutage: 0 });
  });

  it('a message the history does not keep goes out live in its turn: after the stored ones held before it, before those after it; an event is not sent again', async () => {
    const order: string[] = [];
    const hold = new OutageHold<string>({
      publish: (m) => void order.push(`live ${m}`),
      store: (m) => (m.startsWith('audio') ? Promise.resolve().then(() => void order.push(`stored ${m}`)) : undefined),
      durationMs: (m) => (m.startsWith('audio') ? 20 : 0),
      resendable: (m) => m.startsWith('audio'),
    }, memoryLogger().log, { resendMs: 500 });
    // Sent just before the disconnect: the audio goes again, the event does not (it would count twice).
    hold.send('start');
    hold.send('audio 0');
    hold.disconnected();
    for (const m of ['audio 1', 'audio 2', 'end', 'audio 3']) hold.send(m);
    hold.reconnected();
    await hold.settled();
    expect(order).toEqual(['live start', 'live audio 0', 'stored audio 0', 'stored audio 1', 'stored audio 2', 'live end', 'stored audio 3']);
  });
});
