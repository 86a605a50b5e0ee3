import { join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startLocalNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The bus nobody else can use: a real nats-server started with infra/nats/nats.conf. A
 * device may publish only its own audio and hear only its own playback and control.
 */
const CONF = join(resolve(import.meta.dirname, '../..'), 'infra/nats/nats.conf');
const PASSWORDS: Record<string, string> = {
  VAD_NATS_PASSWORD: 'vad-secret',
  SESSION_NATS_PASSWORD: 'session-secret',
  PLAYBACK_NATS_PASSWORD: 'playback-secret',
  OBSERVER_NATS_PASSWORD: 'observer-secret',
  DEV1_NATS_PASSWORD: 'dev1-secret',
  DEV2_NATS_PASSWORD: 'dev2-secret',
  DEV3_NATS_PASSWORD: 'dev3-secret',
};

let server: NatsServer;
const conns: NatsConnection[] = [];

beforeAll(async () => {
  // nats-server reads the passwords from its environment ($VAR in the config).
  Object.assign(process.env, PASSWORDS);
  server = await startLocalNatsServer({ configFile: CONF });
});
afterAll(async () => {
  await Promise.all(conns.map((c) => c.close()));
  await server?.stop();
});

async function as(user: string): Promise<{ nc: NatsConnection; errors: string[] }> {
  const nc = await connect({ servers: server.url, user, pass: PASSWORDS[`${user.toUpperCase()}_NATS_PASSWORD`] });
  conns.push(nc);
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push(String((s as { error?: unknown }).error));
  })();
  return { nc, errors };
}

/** Resolves with what `subject` received within a round trip that proves delivery is over. */
async function collect(nc: NatsConnection, subject: string) {
  const got: string[] = [];
  const sub = nc.subscribe(subject, { callback: (_e, m) => void got.push(m.string()) });
  await nc.flush();
  return { got, sub };
}

describe('NATS permissions from infra/nats/nats.conf', () => {
  it('refuses a wrong password', async () => {
    await expect(connect({ servers: server.url, user: 'dev1', pass: 'wrong', reconnect: false })).rejects.toThrow(/Authorization/i);
  });

  it('an authorised device reaches the VAD with its own audio', async () => {
    const vad = await as('vad');
    const dev1 = await as('dev1');
    const { got } = await collect(vad.nc, 'voice.v1.*.audio.in');
    dev1.nc.publish('voice.v1.dev1.audio.in', 'hello from dev1');
    await dev1.nc.flush();
    await vad.nc.flush();
    expect(got).toEqual(['hello from dev1']);
    expect(dev1.errors).toEqual([]);
  });

  it('a device cannot inject audio or events into another device\'s conversation', async () => {
    const vad = await as('vad');
    const session = await as('session');
    const dev1 = await as('dev1');
    const audio = await collect(vad.nc, 'voice.v1.dev2.audio.in');
    const turns = await collect(session.nc, 'voice.v1.*.turn');
    dev1.nc.publish('voice.v1.dev2.audio.in', 'spoofed audio');
    dev1.nc.publish('voice.v1.dev1.turn', 'spoofed turn event');
    dev1.nc.publish('voice.v1.dev2.control', 'spoofed flush');
    await dev1.nc.flush();
    await vad.nc.flush();
    await session.nc.flush();
    expect(audio.got).toEqual([]);
    expect(turns.got).toEqual([]);
    expect(dev1.errors.filter((e) => /Permissions Violation for Publish/i.test(e)).length).toBe(3);
  });

  it('a device cannot listen to another device', async () => {
    const dev1 = await as('dev1');
    const dev2 = await as('dev2');
    const playback = await as('playback');
    const denied: string[] = [];
    dev1.nc.subscribe('voice.v1.dev2.audio.in', { callback: (e, m) => void (e ? denied.push(String(e)) : denied.push(`GOT ${m.string()}`)) });
    dev1.nc.subscribe('voice.v1.dev2.playback', { callback: (e, m) => void (e ? denied.push(String(e)) : denied.push(`GOT ${m.string()}`)) });
    await dev1.nc.flush();
    dev2.nc.publish('voice.v1.dev2.audio.in', 'private audio');
    playback.nc.publish('voice.v1.dev2.playback', 'private event');
    await dev2.nc.flush();
    await playback.nc.flush();
    await dev1.nc.flush();
    expect(denied.some((d) => d.startsWith('GOT'))).toBe(false);
    expect([...dev1.errors, ...denied].filter((e) => /Permissions Violation for Subscription/i.test(e)).length).toBeGreaterThanOrEqual(2);
  });

  it('each device hears its own playback and control, and services do their documented jobs', async () => {
    const dev3 = await as('dev3');
    const playback = await as('playback');
    const session = await as('session');
    const own = await collect(dev3.nc, 'voice.v1.dev3.playback');
    const control = await collect(dev3.nc, 'voice.v1.dev3.control');
    const audioOut = await collect(playback.nc, 'voice.v1.*.audio.out');
    playback.nc.publish('voice.v1.dev3.playback', 'started');
    session.nc.publish('voice.v1.dev3.control', 'flush');
    session.nc.publish('voice.v1.dev3.audio.out', 'answer audio');
    await Promise.all([playback.nc.flush(), session.nc.flush()]);
    await dev3.nc.flush();
    await playback.nc.flush();
    expect(own.got).toEqual(['started']);
    expect(control.got).toEqual(['flush']);
    expect(audioOut.got).toEqual(['answer audio']);
    expect([...dev3.errors, ...playback.errors, ...session.errors]).toEqual([]);
  });
});
