import { Kvm } from '@nats-io/kv';
import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceOwnership } from './device-ownership.ts';
import { connectNats } from './bus.ts';
import { memoryLogger } from './testing.ts';

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('DeviceOwnership renewals', () => {
  it('heartbeats that come faster than a renewal takes do not overlap: the lease is never given up to itself', async () => {
    // Old code: two renewals in flight sent the same expected revision; the loser released the device.
    const nc = await connectNats({ servers: server.url, name: 'owner' });
    const watcher = await connectNats({ servers: server.url, name: 'watcher' });
    const { log, lines } = memoryLogger();
    const own = await DeviceOwnership.start(nc, { service: 'svc', instanceId: 'i1', heartbeatMs: 1, ttlMs: 10_000, bucket: 'renewal_test' }, log);
    expect(await own.acquire('a')).toBe(true);
    expect(await own.acquire('b')).toBe(true);
    // Wait for 100 renewals of the lease, seen on the bucket itself (or for a loss, which ends it).
    const kv = await new Kvm(watcher as never).open('renewal_test');
    const updates = await kv.watch({ key: 'svc.a' });
    const lost: string[] = [];
    own.onLost = (id) => {
      lost.push(id);
      updates.stop();
    };
    let n = 0;
    for await (const _e of updates) if (++n >= 100) break;
    expect(lost).toEqual([]);
    expect(own.isMine('a') && own.isMine('b')).toBe(true);
    expect(lines().filter((l) => l.msg === 'lost device ownership: stopping this device here')).toEqual([]);
    await own.releaseAll();
    await nc.drain();
    await watcher.drain();
  });
});
