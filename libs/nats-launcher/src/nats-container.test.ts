import { request } from 'node:http';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { startNatsServer } from './index.ts';

/**
 * The testcontainers path: nats-server in a container of a real Docker engine. Skipped, with
 * the reason in its name, where no engine answers (the normal suite on a machine without
 * Docker). Here, ./voicebus compose-test runs it against the locally built image
 * (VOICEBUS_NATS_IMAGE, TESTCONTAINERS_RYUK_DISABLED=true).
 */
function dockerAnswers(): Promise<string | undefined> {
  const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const target = host.startsWith('unix://') ? { socketPath: host.slice('unix://'.length) } : (() => {
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    return { host: u.hostname, port: Number(u.port) };
  })();
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? undefined : `the Docker engine at ${host} answered ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve(`no Docker engine answers at ${host} (${(err as NodeJS.ErrnoException).code ?? err.message})`));
    req.end();
  });
}

const noEngine = await dockerAnswers();
const image = process.env.VOICEBUS_NATS_IMAGE ?? 'nats:2.12-alpine';

describe(noEngine ? `nats-server in a container: skipped, ${noEngine}` : `nats-server in a container (${image})`, () => {
  it.skipIf(noEngine !== undefined)('starts with JetStream on a mapped port, needs no credentials, and is removed by stop()', async () => {
    const server = await startNatsServer({ mode: 'container', containerImage: image });
    try {
      const nc = await connect({ servers: server.url, reconnect: false });
      expect(nc.info?.jetstream).toBe(true);
      const sub = nc.subscribe('launcher.test', { max: 1 });
      nc.publish('launcher.test', 'hello');
      for await (const m of sub) expect(m.string()).toBe('hello');
      await nc.close();
    } finally {
      await server.stop();
    }
    await expect(connect({ servers: server.url, reconnect: false, timeout: 1000 })).rejects.toThrow();
  }, 120_000);
});
