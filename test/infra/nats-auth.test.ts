import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jwtAuthenticator, wsconnect } from '@nats-io/nats-core';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { SECRETS_LAYOUT, runBusAuth, type ServiceRole } from '@voicebus/bus-auth';
import { Kvm } from '@nats-io/kv';
import { startLocalNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { allDevicesSubject, deviceSubject, encodeEvent, KV_BUCKETS, makeEvent, STREAMS, TURN_HISTORY_STREAM } from '@voicebus/protocol';
import { DeviceOwnership, StreamHistory } from '@voicebus/runtime/internal';
import { memoryLogger } from '@voicebus/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The deployment's bus as compose runs it: a real nats-server on infra/nats/nats.conf with the
 * operator-mode lines `bus-auth init` writes, every service and device connecting with a
 * `.creds` file from the same run. A device reaches only its own subjects, and a device added
 * after the server started (`bus-auth device`) needs no restart.
 */
const CONF = join(resolve(import.meta.dirname, '../..'), 'infra/nats/nats.conf');

let dir: string;
let secrets: string;
let server: NatsServer;
const conns: NatsConnection[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicebus-nats-auth-'));
  secrets = join(dir, 'secrets');
  await runBusAuth(['init', '--out', secrets, '--devices', 'dev1,dev2,dev3']);
  // The server's directory as compose mounts it: nats.conf beside the generated include. The
  // WebSocket listener moves to a free port (8443 may be taken here); nothing else changes.
  const conf = readFileSync(CONF, 'utf8');
  expect(conf).toMatch(/port: 8443/);
  writeFileSync(join(dir, 'nats.conf'), conf.replace('port: 8443', 'port: -1'));
  copyFileSync(join(secrets, SECRETS_LAYOUT.natsAuthConf), join(dir, 'nats-auth.conf'));
  server = await startLocalNatsServer({ configFile: join(dir, 'nats.conf') });
});
afterAll(async () => {
  await Promise.all(conns.map((c) => c.close().catch(() => {})));
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Client {
  nc: NatsConnection;
  /** Server-reported permission violations, as "publish SUBJECT" / "subscription SUBJECT". */
  denied: string[];
}

function watch(nc: NatsConnection): Client {
  conns.push(nc);
  const denied: string[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      const err = s.type === 'error' ? (s.error as { name?: string; operation?: string; subject?: string }) : undefined;
      if (err?.name === 'PermissionViolationError') denied.push(`${err.operation} ${err.subject}`);
    }
  })();
  return { nc, denied };
}

const credsOf = (rel: string) => credsAuthenticator(new Uint8Array(readFileSync(join(secrets, rel))));
const asService = async (role: ServiceRole) => watch(await connect({ servers: server.url, authenticator: credsOf(SECRETS_LAYOUT.service(role)) }));
const asDevice = async (id: string) => watch(await connect({ servers: server.url, authenticator: credsOf(SECRETS_LAYOUT.device(id)) }));

/** What `subject` receives; a denied subscription calls back once with the error and no message. */
function collect(c: Client, subject: string): string[] {
  const got: string[] = [];
  c.nc.subscribe(subject, { callback: (err, m) => void (err ? undefined : got.push(m.string())) });
  return got;
}

/** Two round trips through every connection: whatever was going to be delivered or refused has been. */
async function settle(...cs: Client[]): Promise<void> {
  for (const c of cs) await c.nc.flush();
  for (const c of cs) await c.nc.flush();
}

describe('NATS permissions: infra/nats/nats.conf in operator mode with bus-auth credentials', () => {
  it('refuses a client without credentials and one with another operator\'s', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/authoriz/i);
    const other = join(dir, 'other');
    await runBusAuth(['init', '--out', other, '--devices', 'dev1']);
    const stranger = credsAuthenticator(new Uint8Array(readFileSync(join(other, SECRETS_LAYOUT.device('dev1')))));
    await expect(connect({ servers: server.url, authenticator: stranger, reconnect: false })).rejects.toThrow(/authoriz/i);
  });

  it('a provisioned capture device reaches the VAD with its own audio', async () => {
    const vad = await asService('vad');
    const heard = collect(vad, 'voice.v1.*.audio.in');
    await settle(vad);
    const dev1 = await asDevice('dev1');
    dev1.nc.publish('voice.v1.dev1.audio.in', 'hello from dev1');
    await settle(dev1, vad);
    expect(heard).toEqual(['hello from dev1']);
    expect(dev1.denied).toEqual([]);
  });

  it('a device cannot inject into or listen to another device\'s conversation', async () => {
    const vad = await asService('vad');
    const session = await asService('session');
    const playback = await asService('playback');
    const dev2Audio = collect(vad, 'voice.v1.dev2.audio.in');
    const turns = collect(session, 'voice.v1.*.turn');
    const controls = collect(playback, 'voice.v1.*.control');
    await settle(vad, session, playback);
    const dev1 = await asDevice('dev1');
    const overheard = [...['voice.v1.dev2.audio.in', 'voice.v1.dev2.playback'].map((s) => collect(dev1, s))];
    await settle(dev1);
    dev1.nc.publish('voice.v1.dev2.audio.in', 'spoofed audio');
    dev1.nc.publish('voice.v1.dev1.turn', 'spoofed turn event');
    dev1.nc.publish('voice.v1.dev2.control', 'spoofed flush');
    const dev2 = await asDevice('dev2');
    dev2.nc.publish('voice.v1.dev2.audio.in', 'private audio');
    playback.nc.publish('voice.v1.dev2.playback', 'private event');
    await settle(dev1, dev2, vad, session, playback);
    expect(dev2Audio).toEqual(['private audio']);
    expect(turns).toEqual([]);
    expect(controls).toEqual([]);
    expect(overheard.flat()).toEqual([]);
    expect(dev1.denied.sort()).toEqual([
      'publish voice.v1.dev1.turn',
      'publish voice.v1.dev2.audio.in',
      'publish voice.v1.dev2.control',
      'subscription voice.v1.dev2.audio.in',
      'subscription voice.v1.dev2.playback',
    ]);
  });

  it('a device added while the server runs connects at once, confined like the others', async () => {
    const [file] = await runBusAuth(['device', 'dev4', '--secrets', secrets]);
    expect(file).toBe(join(secrets, SECRETS_LAYOUT.device('dev4')));
    const vad = await asService('vad');
    const heard = collect(vad, 'voice.v1.*.audio.in');
    await settle(vad);
    const dev4 = await asDevice('dev4');
    dev4.nc.publish('voice.v1.dev4.audio.in', 'dev4 audio');
    dev4.nc.publish('voice.v1.dev1.audio.in', 'spoofed');
    await settle(dev4, vad);
    expect(heard).toEqual(['dev4 audio']);
    expect(dev4.denied).toEqual(['publish voice.v1.dev1.audio.in']);
  });

  it('a browser reaches the WebSocket listener with a credential the web service\'s key signed', async () => {
    const key = JSON.parse(readFileSync(join(secrets, SECRETS_LAYOUT.deviceSigningKey('web-device')), 'utf8'));
    const { DeviceCredentialIssuer } = await import('@voicebus/bus-auth');
    const cred = await new DeviceCredentialIssuer(key).issue('web1');
    const session = await asService('session');
    const web1 = watch(await wsconnect({ servers: server.websocketUrl!, authenticator: jwtAuthenticator(cred.jwt, new TextEncoder().encode(cred.seed)), reconnect: false }));
    const answers = collect(web1, 'voice.v1.web1.audio.out');
    const foreign = collect(web1, 'voice.v1.dev1.audio.out');
    await settle(web1);
    session.nc.publish('voice.v1.web1.audio.out', 'for web1');
    session.nc.publish('voice.v1.dev1.audio.out', 'for dev1');
    await settle(session, web1);
    expect(answers).toEqual(['for web1']);
    expect(foreign).toEqual([]);
    expect(web1.denied).toEqual(['subscription voice.v1.dev1.audio.out']);
  });

  it('each service publishes what it owns and nothing it does not', async () => {
    const dev3 = await asDevice('dev3');
    const playback = await asService('playback');
    const session = await asService('session');
    const vad = await asService('vad');
    const observer = await asService('observer');
    const own = collect(dev3, 'voice.v1.dev3.playback');
    const control = collect(dev3, 'voice.v1.dev3.control');
    const audioOut = collect(playback, 'voice.v1.*.audio.out');
    const everything = collect(observer, 'voice.v1.>');
    await settle(dev3, playback, observer);
    playback.nc.publish('voice.v1.dev3.playback', 'started');
    session.nc.publish('voice.v1.dev3.control', 'flush');
    session.nc.publish('voice.v1.dev3.audio.out', 'answer audio');
    vad.nc.publish('voice.v1.dev3.audio.out', 'the vad may not answer');
    observer.nc.publish('voice.v1.dev3.control', 'observers only read');
    await settle(playback, session, vad, observer, dev3);
    expect(own).toEqual(['started']);
    expect(control).toEqual(['flush']);
    expect(audioOut).toEqual(['answer audio']);
    expect(everything.sort()).toEqual(['answer audio', 'flush', 'started']);
    expect([...dev3.denied, ...playback.denied, ...session.denied]).toEqual([]);
    expect(vad.denied).toEqual(['publish voice.v1.dev3.audio.out']);
    expect(observer.denied).toEqual(['publish voice.v1.dev3.control']);
  });

  it('KV rights are narrowed: each service holds its own leases, and only its own; handles are the session\'s', async () => {
    const log = memoryLogger().log;
    const vad = await asService('vad');
    const session = await asService('session');
    const playback = await asService('playback');
    // The real lease code on each service's own credential: create the bucket, watch it, lease.
    const owners = await Promise.all([
      DeviceOwnership.start(session.nc, { service: 'session', instanceId: 's1' }, log),
      DeviceOwnership.start(vad.nc, { service: 'vad', instanceId: 'v1' }, log),
      DeviceOwnership.start(playback.nc, { service: 'playback', instanceId: 'p1' }, log),
    ]);
    try {
      for (const o of owners) expect(await o.acquire('dev1'), o.service).toBe(true);
      const sessions = await new Kvm(session.nc as never).create(KV_BUCKETS.sessions, { ttl: 2 * 3600_000, history: 1 });
      await sessions.put('dev1', 'resumption-handle');
      // The vad tries to take the session's lease away and to overwrite its handle.
      const vadOwners = await new Kvm(vad.nc as never).open(KV_BUCKETS.owners);
      await expect(vadOwners.delete('session.dev1')).rejects.toThrow(/permission|timeout/i);
      await expect(vadOwners.put('session.dev1', '{"instance":"v1","token":9}')).rejects.toThrow(/permission|timeout/i);
      const vadSessions = new Kvm(vad.nc as never);
      await expect(vadSessions.create(KV_BUCKETS.sessions, { history: 1 })).rejects.toThrow(/permission|timeout/i);
      await expect(vad.nc.request('$JS.API.STREAM.PURGE.KV_voicebus_owners', '', { timeout: 1000 })).rejects.toThrow(/permission|timeout/i);
      await settle(vad, session, playback);
      expect(owners.every((o) => o.isMine('dev1'))).toBe(true);
      expect(new TextDecoder().decode((await sessions.get('dev1'))!.value)).toBe('resumption-handle');
      expect(vad.denied).toEqual(expect.arrayContaining([
        'publish $KV.voicebus_owners.session.dev1',
        'publish $JS.API.STREAM.PURGE.KV_voicebus_owners',
      ]));
      expect([...session.denied, ...playback.denied]).toEqual([]);
    } finally {
      for (const o of owners) await o.releaseAll();
    }
  });

  it('an observer reads back the turn history the vad keeps (what it missed while cut off), and cannot make, purge or write it', async () => {
    const log = memoryLogger().log;
    const vad = await asService('vad');
    const observer = await asService('observer');
    await StreamHistory.open(vad.nc, log, { stream: TURN_HISTORY_STREAM, subjects: [allDevicesSubject(STREAMS.turn)] }, '');
    const event = makeEvent('turn.start', { deviceId: 'dev2', turnId: 'dev2-t1', speechStartUs: Date.now() * 1000, decidedAt: Date.now() });
    vad.nc.publish(deviceSubject('dev2', STREAMS.turn), encodeEvent(event));
    await settle(vad);
    const history = await StreamHistory.find(observer.nc, TURN_HISTORY_STREAM);
    expect(history, 'the observer finds the stream').toBeDefined();
    const read: string[] = [];
    await history!.read(undefined, Date.now() - 60_000, (m) => void read.push(m.subject));
    expect(read).toContain(deviceSubject('dev2', STREAMS.turn));
    await expect(observer.nc.request(`$JS.API.STREAM.PURGE.${TURN_HISTORY_STREAM}`, '', { timeout: 1000 })).rejects.toThrow(/permission|timeout/i);
    await expect(observer.nc.request(`$JS.API.STREAM.CREATE.VOICEBUS_MINE`, JSON.stringify({ name: 'VOICEBUS_MINE', subjects: ['voice.v1.*.turn'] }), { timeout: 1000 })).rejects.toThrow(/permission|timeout/i);
    observer.nc.publish(deviceSubject('dev2', STREAMS.turn), encodeEvent(event));
    await settle(observer, vad);
    expect(observer.denied).toEqual([
      `publish $JS.API.STREAM.PURGE.${TURN_HISTORY_STREAM}`,
      'publish $JS.API.STREAM.CREATE.VOICEBUS_MINE',
      'publish voice.v1.dev2.turn',
    ]);
  });

  it('a device cannot answer service discovery', async () => {
    const dev2 = await asDevice('dev2');
    const got = collect(dev2, '$SRV.PING.vad');
    await settle(dev2);
    expect(got).toEqual([]);
    expect(dev2.denied).toEqual(['subscription $SRV.PING.vad']);
  });

  it('bus-auth services gives a directory made by an older version this version\'s service grants, keeping the operator and the devices', async () => {
    // A directory whose playback credential carries another grant than today's (an older
    // version's): here the vad's, which may not publish playback's stream.
    const playbackFile = join(secrets, SECRETS_LAYOUT.service('playback'));
    const current = readFileSync(playbackFile);
    copyFileSync(join(secrets, SECRETS_LAYOUT.service('vad')), playbackFile);
    const deviceBefore = readFileSync(join(secrets, SECRETS_LAYOUT.device('dev1')));
    const authorityBefore = readFileSync(join(secrets, SECRETS_LAYOUT.authority));
    try {
      const stale = await asService('playback');
      const dev1 = await asDevice('dev1');
      const heard = collect(dev1, 'voice.v1.dev1.playback');
      await settle(stale, dev1);
      stale.nc.publish('voice.v1.dev1.playback', 'stale');
      await settle(stale, dev1);
      expect(stale.denied).toEqual(['publish voice.v1.dev1.playback']);

      const lines = await runBusAuth(['services', '--secrets', secrets]);
      expect(lines[0]).toMatch(/issued \d+ service credentials again/);
      const fresh = await asService('playback');
      fresh.nc.publish('voice.v1.dev1.playback', 'fresh');
      await settle(fresh, dev1);
      expect(fresh.denied).toEqual([]);
      expect(heard).toEqual(['fresh']);
      // The same operator and device credentials: the running server took the new file as it is.
      expect(readFileSync(join(secrets, SECRETS_LAYOUT.authority))).toEqual(authorityBefore);
      expect(readFileSync(join(secrets, SECRETS_LAYOUT.device('dev1')))).toEqual(deviceBefore);
      const again = await asDevice('dev1');
      await settle(again);
      expect(again.denied).toEqual([]);
    } finally {
      writeFileSync(playbackFile, current);
    }
    await expect(runBusAuth(['services'])).rejects.toThrow(/--secrets DIR is required/);
  });

  it('bus-auth refuses to replace an operator by accident and rejects bad input with a clear error', async () => {
    await expect(runBusAuth(['init', '--out', secrets])).rejects.toThrow(/exists: a new operator would invalidate/);
    await expect(runBusAuth(['device', 'dev.*', '--secrets', secrets])).rejects.toThrow(/invalid device id/);
    await expect(runBusAuth(['device', 'dev5', '--secrets', join(dir, 'nowhere')])).rejects.toThrow(/run `bus-auth init/);
    await expect(runBusAuth(['service', 'root', '--secrets', secrets])).rejects.toThrow(/unknown role root/);
    const broken = join(dir, 'broken-secrets');
    await runBusAuth(['init', '--out', broken]);
    const file = join(broken, SECRETS_LAYOUT.authority);
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), operator: 'nope' }));
    await expect(runBusAuth(['device', 'dev5', '--secrets', broken])).rejects.toThrow(/"operator" must be a SO\.\.\. seed/);
  });
});
