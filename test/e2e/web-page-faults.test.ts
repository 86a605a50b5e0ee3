import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, credsAuthenticator, headers, type NatsConnection } from '@nats-io/transport-node';
import { BusAuthority } from '@voicebus/bus-auth';
import { crashFor, startLocalNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { encodeEvent, makeEvent, type AudioChunk } from '@voicebus/protocol';
import { AudioHistory, Bus } from '@voicebus/runtime';
import { memoryLogger } from '@voicebus/runtime/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleOf, launchBrowser, pageRecord } from '../support/browser.ts';
import { FIXTURES, REPO } from '../support/run-demo.ts';

/**
 * Bad input at the page: a refused microphone, a NATS that is not there (yet), and messages
 * on its subjects that are not what the contract says. The web service runs as its own
 * process against a real nats-server in operator mode; the page's NATS (the WebSocket
 * listener) is a second server started only once the page has been retrying for a while.
 */
let authority: BusAuthority;
let control: NatsServer;
let pageNats: NatsServer | undefined;
let web: ChildProcess;
let url: string;
let wsPort: number;
const browsers: Browser[] = [];
const conns: NatsConnection[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  authority = await BusAuthority.create();
  control = await startLocalNatsServer({ configText: authority.serverConfig() });
  wsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'voicebus-web-faults-'));
  writeFileSync(join(dir, 'web.creds'), (await authority.serviceCredential('web')).creds, { mode: 0o600 });
  writeFileSync(join(dir, 'key.json'), JSON.stringify(authority.deviceSigningKey('web-device')), { mode: 0o600 });
  web = spawn(process.execPath, [join(REPO, 'services/web/src/main.ts'), '--port', '0'], {
    env: { ...process.env, NATS_URL: control.url, NATS_CREDS: join(dir, 'web.creds'), NATS_WS_URL: `ws://127.0.0.1:${wsPort}`, WEB_DEVICE_SIGNING_KEY_FILE: join(dir, 'key.json'), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  url = await new Promise<string>((resolve, reject) => {
    web.stdout!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        try {
          const msg = JSON.parse(line) as { event?: string; url?: string };
          if (msg.event === 'listening' && msg.url) resolve(msg.url);
        } catch { /* a log line */ }
      }
    });
    web.once('exit', (code) => reject(new Error(`web service exited (${code})`)));
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await Promise.all(conns.map((c) => c.close()));
  web?.kill('SIGTERM');
  await pageNats?.stop();
  await control?.stop();
});

describe('the browser device with bad input', () => {
  it('a refused microphone is a clear message on the page', async () => {
    const browser = await launchBrowser({ denyMicrophone: true });
    browsers.push(browser);
    const page = await browser.newPage();
    await page.goto(`${url}?device=webD&autostart=1`);
    await page.locator('#problem').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.locator('#problem').innerText()).toMatch(/Microphone permission denied/);
    // Start stays available to try again.
    expect(await page.locator('#start').isEnabled()).toBe(true);
  });

  it('NATS unreachable: the page says so, retries with growing waits, and connects once it is there; malformed messages are counted and dropped', async () => {
    const browser = await launchBrowser({ wav: join(FIXTURES, 'silence.wav') });
    browsers.push(browser);
    const page = await browser.newPage();
    const lines = consoleOf(page);
    await page.addInitScript(() => {
      // Every text the connection line shows, in order (a MutationObserver sees each one).
      const seen: string[] = ((window as unknown as { connectionTexts: string[] }).connectionTexts = []);
      new MutationObserver(() => {
        const t = document.querySelector('#connection')?.textContent;
        if (t && seen.at(-1) !== t) seen.push(t);
      }).observe(document, { subtree: true, childList: true, characterData: true });
    });
    await page.goto(`${url}?device=webE&autostart=1`);
    await page.waitForFunction(() => (window as unknown as { connectionTexts: string[] }).connectionTexts.filter((t) => t.startsWith('NATS unreachable')).length >= 3, undefined, { timeout: 20_000 });
    const texts = await page.evaluate(() => (window as unknown as { connectionTexts: string[] }).connectionTexts);
    const waits = texts.filter((t) => t.startsWith('NATS unreachable')).map((t) => Number(/retrying in ([\d.]+) s/.exec(t)![1]));
    expect(waits[1]!).toBeGreaterThan(waits[0]!);
    expect(waits[2]!).toBeGreaterThan(waits[1]!);

    // NATS arrives: the page connects by itself and says so. The audio history is there at
    // once (the session makes it in a stack; here the test, before the page's next attempt).
    pageNats = await startLocalNatsServer({ configText: authority.serverConfig({ websocketPort: wsPort }) });
    const creds = join(mkdtempSync(join(tmpdir(), 'voicebus-web-first-')), 'vad.creds');
    writeFileSync(creds, (await authority.serviceCredential('vad')).creds, { mode: 0o600 });
    const log = memoryLogger().log;
    const listener = await Bus.connect({ servers: pageNats.url, name: 'first-connection-test', creds, log });
    conns.push(listener.nc);
    const history = (await AudioHistory.open(listener.nc, log))!;
    await page.waitForFunction(() => document.querySelector('#connection')?.getAttribute('data-kind') === 'connected', undefined, { timeout: 20_000 });
    expect(await page.locator('#connection').innerText()).toMatch(/connected/);
    // What the microphone captured while NATS was unreachable was held, and is stored now,
    // from its first chunk on, each once and in order.
    await page.waitForFunction(() => (window as unknown as { voicebus: { outbox: { holding: boolean } } }).voicebus.outbox.holding === false, undefined, { timeout: 20_000 });
    const held = await pageRecord(page);
    const storedSeqs = (await history.between('webE', 0, Number.MAX_SAFE_INTEGER)).map((c) => c.seq);
    // The history keeps the live chunks after them too: together, every number from 0 on.
    expect(storedSeqs).toEqual(Array.from({ length: storedSeqs.length }, (_, i) => i));
    expect(held.outbox).toMatchObject({ holding: false, droppedInOutage: 0, sentLateUnstored: 0 });
    // Three waits of 0.5, 1 and 2 s at least before NATS came: 175 chunks held.
    expect(held.outbox.storedAfterOutage, lines.join('\n')).toBeGreaterThan(100);

    // Garbage on the device's own subjects, then one good event.
    const session = await connect({ servers: pageNats.url, authenticator: credsAuthenticator(new TextEncoder().encode((await authority.serviceCredential('session')).creds)) });
    conns.push(session);
    session.publish('voice.v1.webE.session', new Uint8Array([0xff, 0xfe, 0x00]));
    session.publish('voice.v1.webE.session', encodeEvent(makeEvent('session.opened', { deviceId: 'webF', model: 'm', resumed: false, turnDetection: 'local', interruption: 'ignore' })));
    const h = headers();
    h.set('Voice-Sample-Rate', '12345');
    session.publish('voice.v1.webE.audio.out', new Uint8Array(480), { headers: h });
    session.publish('voice.v1.webE.control', JSON.stringify({ v: 1, type: 'control.flush', deviceId: 'webE' }));
    session.publish('voice.v1.webE.session', encodeEvent(makeEvent('session.opened', { deviceId: 'webE', model: 'm', resumed: false, turnDetection: 'local', interruption: 'pause' })));
    await session.flush();
    await page.locator('#strategy', { hasText: 'pause' }).waitFor({ timeout: 10_000 });
    const r = await pageRecord(page);
    expect(r.malformed).toBe(4);
    expect(lines.filter((l) => /malformed message on/.test(l))).toHaveLength(4);
    expect(lines.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    // Shown nowhere else: the page has no problem to report and keeps capturing.
    expect(await page.locator('#problem').isHidden()).toBe(true);
    const before = r.capture.chunks.length;
    await page.waitForFunction((n) => (window as unknown as { voicebus: { capture: { chunks: unknown[] } } }).voicebus.capture.chunks.length > n + 10, before);
  }, 60_000);

  it('NATS killed for 1.5 s while the page speaks: every chunk reaches the server, in order (held in the page, then stored in the audio history)', async () => {
    pageNats ??= await startLocalNatsServer({ configText: authority.serverConfig({ websocketPort: wsPort }) });
    const nats = pageNats;
    // The test plays the vad's part: it keeps the audio history (made again on a reconnect,
    // the restarted server's memory streams gone) and listens to the device live.
    const creds = join(mkdtempSync(join(tmpdir(), 'voicebus-web-outage-')), 'vad.creds');
    writeFileSync(creds, (await authority.serviceCredential('vad')).creds, { mode: 0o600 });
    const log = memoryLogger().log;
    const listener = await Bus.connect({ servers: nats.url, name: 'outage-test', creds, log });
    const history = (await AudioHistory.open(listener.nc, log))!;
    const live: AudioChunk[] = [];
    let onChunk = () => {};
    listener.subscribeAudio('audio.in', (c) => (live.push(c), onChunk()), { deviceId: 'webO' });
    await listener.flush();
    const browser = await launchBrowser({ wav: join(FIXTURES, 'two-turns.wav') });
    browsers.push(browser);
    const page = await browser.newPage();
    const lines = consoleOf(page);
    try {
      await page.goto(`${url}?device=webO&autostart=1`);
      await new Promise<void>((resolve) => (onChunk = () => live.length === 50 && resolve()));
      await crashFor(nats, 1500);
      // Everything the page held is sent, and then a second of live audio.
      await page.waitForFunction(() => (window as unknown as { voicebus: { outbox: { holding: boolean } } }).voicebus.outbox.holding === false, undefined, { timeout: 20_000 });
      const drained = live.length;
      await new Promise<void>((resolve) => (onChunk = () => live.length >= drained + 50 && resolve()));
      const first = live[0]!;
      const last = live.at(-1)!;
      const stored = await history.between('webO', first.captureTsUs, last.captureTsUs + 1);
      const seqs = new Set([...live, ...stored].map((c) => c.seq));
      const missing = [];
      for (let seq = first.seq; seq <= last.seq; seq++) if (!seqs.has(seq)) missing.push(seq);
      expect(missing, lines.join('\n')).toEqual([]);
      // The history holds the outage's audio in order, each chunk once.
      const storedSeqs = stored.map((c) => c.seq);
      expect(storedSeqs).toEqual([...new Set(storedSeqs)].sort((a, b) => a - b));
      const r = await pageRecord(page);
      // 1.5 s is 75 chunks, and the 500 ms before the loss are sent again.
      expect(r.outbox.storedAfterOutage).toBeGreaterThan(75);
      expect(r.outbox).toMatchObject({ holding: false, droppedInOutage: 0, sentLateUnstored: 0 });
      expect(lines.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    } finally {
      await listener.drain().catch(() => {});
    }
  }, 60_000);
});
