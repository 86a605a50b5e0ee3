import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { NatsServerNotFoundError, NatsServerStartError, startLocalNatsServer, type NatsServer } from './index.ts';

const started: NatsServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

describe('local nats-server launcher', () => {
  it('starts two servers on distinct free ports with JetStream, and stops them', async () => {
    const [a, b] = await Promise.all([startLocalNatsServer(), startLocalNatsServer()]);
    started.push(a!, b!);
    expect(a!.port).not.toBe(b!.port);
    expect(a!.port).not.toBe(4222);
    const nc = await connect({ servers: a!.url });
    const info = nc.info;
    expect(info?.jetstream).toBe(true);
    await nc.close();
    await a!.stop();
    await a!.stop(); // idempotent
    await expect(connect({ servers: a!.url, reconnect: false, timeout: 1000 })).rejects.toThrow();
  });

  it('a server killed with -9 starts again on its port with its JetStream store: a client reconnects and finds its stream', async () => {
    const server = await startLocalNatsServer();
    started.push(server);
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'KEPT', subjects: ['kept.>'] });
    await jetstream(nc).publish('kept.one', 'hello');
    const before = server.pid;
    process.kill(before!, 'SIGKILL');
    await server.exited;
    const reconnected = (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') return;
    })();
    await server.restart!();
    expect(server.pid).not.toBe(before);
    await reconnected;
    const msg = await jsm.streams.getMessage('KEPT', { last_by_subj: 'kept.one' });
    expect(msg?.string()).toBe('hello');
    await nc.close();
  });

  it('says clearly when the binary is missing', async () => {
    await expect(startLocalNatsServer({ binary: '/nonexistent/nats-server' })).rejects.toThrow(NatsServerNotFoundError);
    await expect(startLocalNatsServer({ binary: '/nonexistent/nats-server' })).rejects.toThrow(/apt-get install nats-server/);
  });

  it('reports a server that exits at start with its own message', async () => {
    await expect(startLocalNatsServer({ args: ['--no-such-flag'] })).rejects.toThrow(NatsServerStartError);
  });
});
