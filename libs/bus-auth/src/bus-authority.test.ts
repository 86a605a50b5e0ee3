import { headers, jwtAuthenticator, wsconnect, type NatsConnection } from '@nats-io/nats-core';
import { AUDIO_HISTORY_STREAM, deviceInboxPrefix } from '@voicebus/protocol';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { startLocalNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { encodeUser, createUser, fromSeed } from '@nats-io/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusAuthority } from './bus-authority.ts';
import { CredentialError } from './errors.ts';
import type { UserCredential } from './user-credential.ts';
import { SERVICE_PERMISSIONS, type ServiceRole } from './permissions.ts';

/**
 * Operator mode on a real nats-server (Debian's 2.9 works): devices connect over the
 * WebSocket listener with JWTs issued after the server started, and each reaches only its
 * own subjects. Nothing in the server's config names a device.
 */
let server: NatsServer;
let authority: BusAuthority;
const conns: NatsConnection[] = [];

beforeAll(async () => {
  authority = await BusAuthority.create();
  server = await startLocalNatsServer({ configText: authority.serverConfig({ websocketPort: -1 }) });
});
afterAll(async () => {
  await Promise.all(conns.map((c) => c.close().catch(() => {})));
  await server?.stop();
});

async function overWebSocket(cred: UserCredential): Promise<{ nc: NatsConnection; denied: string[] }> {
  const nc = await wsconnect({ servers: server.websocketUrl!, authenticator: jwtAuthenticator(cred.jwt, new TextEncoder().encode(cred.seed)), reconnect: false });
  conns.push(nc);
  const denied: string[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      const err = s.type === 'error' ? (s.error as { operation?: string; subject?: string; name?: string }) : undefined;
      if (err?.name === 'PermissionViolationError') denied.push(`${err.operation} ${err.subject}`);
    }
  })();
  return { nc, denied };
}

async function service(role: 'vad' | 'session'): Promise<NatsConnection> {
  const cred = await authority.serviceCredential(role);
  const nc = await connect({ servers: server.url, authenticator: credsAuthenticator(new TextEncoder().encode(cred.creds)) });
  conns.push(nc);
  return nc;
}

/** Everything `subject` received once a round trip through every connection proves delivery is over. */
function collect(nc: NatsConnection, subject: string): string[] {
  const got: string[] = [];
  // A denied subscription calls back once with the error and no message.
  nc.subscribe(subject, { callback: (err, m) => void (err ? undefined : got.push(m.string())) });
  return got;
}

async function settle(...ncs: NatsConnection[]): Promise<void> {
  for (const nc of ncs) await nc.flush();
  for (const nc of ncs) await nc.flush();
}

describe('per-device credentials in operator mode', () => {
  it('every service role connects: its JWT, which rides in the CONNECT line, fits the 4 kB nats-server takes', async () => {
    for (const role of Object.keys(SERVICE_PERMISSIONS) as ServiceRole[]) {
      const cred = await authority.serviceCredential(role);
      expect(cred.jwt.length, role).toBeLessThan(3600);
      const nc = await connect({ servers: server.url, authenticator: credsAuthenticator(new TextEncoder().encode(cred.creds)), reconnect: false, timeout: 5000 });
      await nc.flush();
      await nc.close();
    }
  });

  it('a web device publishes its own audio and hears its own answers over WebSocket', async () => {
    const vad = await service('vad');
    const session = await service('session');
    const heardByVad = collect(vad, 'voice.v1.*.audio.in');
    await vad.flush();
    const web1 = await overWebSocket(await authority.deviceIssuer('web-device').issue('web1'));
    const answers = collect(web1.nc, 'voice.v1.web1.audio.out');
    await web1.nc.flush();
    web1.nc.publish('voice.v1.web1.audio.in', 'hello from web1');
    session.publish('voice.v1.web1.audio.out', 'an answer for web1');
    await settle(web1.nc, session, vad);
    expect(heardByVad).toEqual(['hello from web1']);
    expect(answers).toEqual(['an answer for web1']);
    expect(web1.denied).toEqual([]);
  });

  it('a page cannot read or write another device\'s subjects, nor its own service streams', async () => {
    const vad = await service('vad');
    const session = await service('session');
    const web2Audio = collect(vad, 'voice.v1.web2.audio.in');
    const turns = collect(session, 'voice.v1.*.turn');
    const controls = collect(session, 'voice.v1.*.control');
    await settle(vad, session);
    const web1 = await overWebSocket(await authority.deviceIssuer('web-device').issue('web1'));
    const overheard = collect(web1.nc, 'voice.v1.web2.audio.out');
    const everything = collect(web1.nc, 'voice.v1.>');
    web1.nc.publish('voice.v1.web2.audio.in', 'spoofed audio');
    web1.nc.publish('voice.v1.web1.turn', 'spoofed turn');
    web1.nc.publish('voice.v1.web1.control', 'spoofed flush');
    session.publish('voice.v1.web2.audio.out', 'for web2 only');
    await settle(web1.nc, session, vad);
    expect(web2Audio).toEqual([]);
    expect(turns).toEqual([]);
    expect(controls).toEqual([]);
    expect(overheard).toEqual([]);
    expect(everything).toEqual([]);
    expect(web1.denied.sort()).toEqual([
      'publish voice.v1.web1.control',
      'publish voice.v1.web1.turn',
      'publish voice.v1.web2.audio.in',
      'subscription voice.v1.>',
      'subscription voice.v1.web2.audio.out',
    ]);
  });

  /** The vad makes the audio history (a JetStream stream in memory), as it does on a reconnect; made again, it is the same. */
  async function makeAudioHistory(): Promise<void> {
    const vad = await service('vad');
    const stream = { name: AUDIO_HISTORY_STREAM, subjects: ['voice.v1.*.audio.in'], storage: 'memory', max_age: 30e9 };
    const created = JSON.parse((await vad.request(`$JS.API.STREAM.CREATE.${AUDIO_HISTORY_STREAM}`, JSON.stringify(stream), { timeout: 5000 })).string()) as { error?: unknown };
    expect(created.error).toBeUndefined();
  }

  /** An acked publish, as an outbox stores what it held: JetStream answers on the publisher's inbox. */
  async function store(nc: NatsConnection, subject: string): Promise<{ stream?: string; seq?: number }> {
    const h = headers();
    h.set('Nats-Expected-Stream', AUDIO_HISTORY_STREAM);
    return JSON.parse((await nc.request(subject, 'held over an outage', { headers: h, timeout: 5000 })).string()) as { stream?: string; seq?: number };
  }

  it('a web device stores its audio in the audio history, its ack on its own inbox; another device\'s inbox, or every inbox, is not its to read', async () => {
    await makeAudioHistory();
    const cred = await authority.deviceIssuer('web-device').issue('web3');
    const web3 = await wsconnect({ servers: server.websocketUrl!, authenticator: jwtAuthenticator(cred.jwt, new TextEncoder().encode(cred.seed)), reconnect: false, inboxPrefix: deviceInboxPrefix('web3') });
    conns.push(web3);
    expect(await store(web3, 'voice.v1.web3.audio.in')).toMatchObject({ stream: AUDIO_HISTORY_STREAM });
    // Without its own prefix the reply would go to the shared _INBOX, which it may not read.
    const plain = await overWebSocket(cred);
    collect(plain.nc, `${deviceInboxPrefix('web4')}.>`);
    collect(plain.nc, '_INBOX.>');
    await settle(plain.nc);
    expect(plain.denied.sort()).toEqual([`subscription ${deviceInboxPrefix('web4')}.>`, 'subscription _INBOX.>'].sort());
  });

  it('the role is the scoped key\'s: a device JWT that asks for more is refused', async () => {
    // Whoever holds the device key (the web service) cannot mint a user with more than the role.
    const key = authority.deviceSigningKey('web-device');
    const user = createUser();
    const jwt = await encodeUser('web3', user, key.account, { pub: { allow: ['>'] }, sub: { allow: ['>'] } }, { signer: fromSeed(new TextEncoder().encode(key.seed)), scopedUser: true });
    await expect(wsconnect({ servers: server.websocketUrl!, authenticator: jwtAuthenticator(jwt, user.getSeed()), reconnect: false })).rejects.toThrow(/authoriz/i);
  });

  it('a capture device gets the capture role: its own audio in, its own playback back', async () => {
    const vad = await service('vad');
    const heard = collect(vad, 'voice.v1.*.audio.in');
    await vad.flush();
    const cred = await authority.deviceIssuer('capture-device').issue('mic7');
    const mic = await connect({ servers: server.url, authenticator: credsAuthenticator(new TextEncoder().encode(cred.creds)) });
    conns.push(mic);
    const denied: string[] = [];
    void (async () => {
      for await (const s of mic.status()) if (s.type === 'error') denied.push(String((s.error as { subject?: string }).subject));
    })();
    mic.publish('voice.v1.mic7.audio.in', 'mic7 audio');
    mic.publish('voice.v1.mic8.audio.in', 'spoofed');
    mic.subscribe('voice.v1.mic7.audio.out');
    // Every inbox, or another device's, is not its to read.
    mic.subscribe('_INBOX.>');
    mic.subscribe(`${deviceInboxPrefix('mic8')}.>`);
    await settle(mic, vad);
    expect(heard).toEqual(['mic7 audio']);
    expect(denied.sort()).toEqual([`${deviceInboxPrefix('mic8')}.>`, '_INBOX.>', 'voice.v1.mic7.audio.out', 'voice.v1.mic8.audio.in'].sort());
  });

  it('a capture device stores what it held over an outage with its acks on its own inbox (as a one-device capture process connects)', async () => {
    await makeAudioHistory();
    const cred = await authority.deviceIssuer('capture-device').issue('mic9');
    const mic = await connect({ servers: server.url, authenticator: credsAuthenticator(new TextEncoder().encode(cred.creds)), inboxPrefix: deviceInboxPrefix('mic9'), reconnect: false });
    conns.push(mic);
    expect(await store(mic, 'voice.v1.mic9.audio.in')).toMatchObject({ stream: AUDIO_HISTORY_STREAM });
  });

  it('refuses an expired credential and a credential from another operator', async () => {
    const expired = await authority.deviceIssuer('web-device').issue('web5');
    const issuer = new (await import('./device-credential-issuer.ts')).DeviceCredentialIssuer(authority.deviceSigningKey('web-device'), { ttlS: -60 });
    const stale = await issuer.issue('web5');
    await expect(wsconnect({ servers: server.websocketUrl!, authenticator: jwtAuthenticator(stale.jwt, new TextEncoder().encode(stale.seed)), reconnect: false })).rejects.toThrow(/authoriz|expired/i);
    const stranger = await (await BusAuthority.create('other')).deviceIssuer('web-device').issue('web5');
    await expect(wsconnect({ servers: server.websocketUrl!, authenticator: jwtAuthenticator(stranger.jwt, new TextEncoder().encode(stranger.seed)), reconnect: false })).rejects.toThrow(/authoriz/i);
    // The same device with a fresh credential is fine.
    const ok = await overWebSocket(expired);
    expect(ok.nc.isClosed()).toBe(false);
  });

  it('will not issue a credential for a device id that is not one subject token', async () => {
    const issuer = authority.deviceIssuer('web-device');
    await expect(issuer.issue('web.*')).rejects.toThrow(CredentialError);
    await expect(issuer.issue('')).rejects.toThrow(/invalid device id/);
  });
});
