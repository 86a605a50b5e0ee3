import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from './bus.ts';
import { createRacing } from './jetstream-create.ts';
import { StreamHistory } from './stream-history.ts';
import { memoryLogger } from './testing.ts';

const race = () => new Error('subjects overlap with an existing stream');

describe('createRacing', () => {
  it('asks again when another client made the stream a moment earlier, and gets what the second ask answers', async () => {
    let asked = 0;
    const made = await createRacing(async () => {
      asked++;
      if (asked === 1) throw race();
      return 'bucket';
    });
    expect(made).toBe('bucket');
    expect(asked).toBe(2);
  });

  it('gives up after the third race, and never retries another error', async () => {
    let asked = 0;
    await expect(createRacing(async () => { asked++; throw race(); })).rejects.toThrow(/subjects overlap/);
    expect(asked).toBe(3);
    asked = 0;
    await expect(createRacing(async () => { asked++; throw new Error('insufficient resources'); })).rejects.toThrow(/insufficient resources/);
    expect(asked).toBe(1);
  });
});

describe('StreamHistory.open by several instances at the same moment', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('gives every one of them the history (none runs without it)', async () => {
    for (let round = 0; round < 5; round++) {
      const conns = await Promise.all(Array.from({ length: 6 }, (_, i) => connectNats({ servers: server.url, name: `opener-${round}-${i}` })));
      const logs = conns.map(() => memoryLogger());
      try {
        const opened = await Promise.all(conns.map((nc, i) => StreamHistory.open(nc, logs[i]!.log, { stream: `RACE_${round}`, subjects: [`race${round}.>`] }, 'nothing kept')));
        expect(opened.filter((h) => h === undefined).length, `round ${round}: ${logs.flatMap((l) => l.lines().map((x) => JSON.stringify(x))).join('\n')}`).toBe(0);
      } finally {
        await Promise.all(conns.map((c) => c.close()));
      }
    }
  });
});
