import { Svcm } from '@nats-io/services';
import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from './bus.ts';
import { registerService } from './service-registration.ts';
import { memoryLogger } from './testing.ts';

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('NATS services registration', () => {
  it('every instance answers $SRV.PING, INFO and STATS, and the status endpoint', async () => {
    const { log } = memoryLogger();
    const a = await Bus.connect({ servers: server.url, name: 'vad-a', log });
    const b = await Bus.connect({ servers: server.url, name: 'vad-b', log });
    await registerService(a.nc, { name: 'vad', version: '0.1.0', description: 'VAD', instanceId: 'a', stats: () => ({ devices: 2 }) });
    await registerService(b.nc, { name: 'vad', version: '0.1.0', description: 'VAD', instanceId: 'b', stats: () => ({ devices: 3 }) });
    const client = await Bus.connect({ servers: server.url, name: 'client', log });
    const monitor = new Svcm(client.nc as never).client();
    const pings = [];
    for await (const p of await monitor.ping('vad')) pings.push(p);
    expect(pings.map((p) => p.metadata?.instance).sort()).toEqual(['a', 'b']);
    const stats = [];
    for await (const s of await monitor.stats('vad')) stats.push(s);
    const data = stats.flatMap((s) => (s.endpoints ?? []).map((e) => e.data as { devices: number })).filter(Boolean);
    expect(data.map((d) => d.devices).sort()).toEqual([2, 2, 3, 3]);
    const reply = await client.nc.request('voicebus.vad.a.status', undefined, { timeout: 2000 });
    expect(JSON.parse(reply.string())).toEqual({ instance: 'a', devices: 2 });
    await Promise.all([a.drain(), b.drain(), client.drain()]);
  });
});
