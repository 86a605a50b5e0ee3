import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleOf, launchBrowser, pageRecord } from '../support/browser.ts';
import { FIXTURES, fixtureTruth, REPO } from '../support/run-demo.ts';

/**
 * A person at a browser is a device: `./voicebus demo --web` with headless Chromium whose fake
 * microphone plays the fixtures. Every figure here is the page's own record (what it captured,
 * when, and what WebAudio played, when), not the stack's.
 */
let demo: ChildProcess;
let url: string;
let out: string;
const demoLines: string[] = [];
const browsers: Browser[] = [];
const SHOTS = join(tmpdir(), 'voicebus-web-screenshots');

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'voicebus-web-demo-'));
  mkdirSync(SHOTS, { recursive: true });
  demo = spawn(process.execPath, [join(REPO, 'demo/src/main.ts'), '--web', '--web-port', '0', '--no-greeting', '--timeout-s', '300', '--out', out, '--quiet-history'], {
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = await new Promise<string>((resolve, reject) => {
    let partial = '';
    const onData = (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        demoLines.push(line);
        const m = /^web: (\S+)$/.exec(line);
        if (m) resolve(m[1]!);
      }
    };
    demo.stdout!.on('data', onData);
    demo.stderr!.on('data', onData);
    demo.once('exit', (code) => reject(new Error(`demo exited (${code}) before its page was served:\n${demoLines.join('\n')}`)));
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  if (demo && demo.exitCode === null) {
    const exited = new Promise((r) => demo.once('exit', r));
    demo.kill('SIGINT');
    await exited;
  }
});

async function open(browser: Browser, device: string): Promise<{ page: Page; console: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const lines = consoleOf(page);
  await page.goto(`${url}?device=${device}&autostart=1`);
  return { page, console: lines };
}

const rows = (page: Page) => page.locator('#latency tbody tr');

function readTurnRows(device: string): { turnId: string; answered: boolean; interrupted: boolean }[] {
  const file = join(out, device, 'turns.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('the browser device, end to end', () => {
  it('two tabs are two devices: every turn answered once, heard through WebAudio, without cross-talk; a page cannot use another device\'s subjects', async () => {
    const truth = fixtureTruth('conversation');
    const browser = await launchBrowser({ wav: join(FIXTURES, 'conversation.wav') });
    browsers.push(browser);
    const a = await open(browser, 'webA');
    const b = await open(browser, 'webB');
    // Mid-conversation: the second answer is being played on the first tab.
    await a.page.waitForFunction(() => document.querySelectorAll('#latency tbody tr').length >= 1 && (window as unknown as { voicebus: { state: string } }).voicebus.state === 'assistant speaking', undefined, { timeout: 30_000 });
    await a.page.screenshot({ path: join(SHOTS, 'webA-mid-conversation.png') });
    await b.page.screenshot({ path: join(SHOTS, 'webB-mid-conversation.png') });

    // A page trying another device's subjects is told no by the server.
    await a.page.evaluate(() => {
      const d = (window as unknown as { voicebus: { device: { tryPublish(s: string, t: string): boolean; trySubscribe(s: string): void } } }).voicebus.device;
      d.tryPublish('voice.v1.webB.audio.in', 'spoofed audio');
      d.trySubscribe('voice.v1.webB.audio.out');
    });
    await a.page.waitForFunction(() => (window as unknown as { voicebus: { denied: string[] } }).voicebus.denied.length >= 2, undefined, { timeout: 5_000 });

    // The fixture's four turns; the file loops after its end, so stop at the first pass.
    for (const tab of [a, b]) await tab.page.waitForFunction((n) => document.querySelectorAll('#latency tbody tr').length >= n, truth.turns, { timeout: 60_000 });
    const records = { webA: await pageRecord(a.page), webB: await pageRecord(b.page) };
    const texts = { webA: await a.page.locator('#transcript').innerText(), webB: await b.page.locator('#transcript').innerText() };
    const turnIds = { webA: await rows(a.page).evaluateAll((trs) => trs.map((t) => t.getAttribute('data-turn'))), webB: await rows(b.page).evaluateAll((trs) => trs.map((t) => t.getAttribute('data-turn'))) };
    const userLines = { webA: await a.page.locator('#transcript li.user').count(), webB: await b.page.locator('#transcript li.user').count() };
    const assistantLines = { webA: await a.page.locator('#transcript li.assistant').count(), webB: await b.page.locator('#transcript li.assistant').count() };
    const captured = records.webA.capture.chunks.length;
    await a.page.close();
    await b.page.close();
    // Still the first pass of the file (its second pass starts with 4 s of silence).
    expect(captured * 0.02).toBeLessThan(truth.segments.at(-1)!.endMs / 1000 + 4 + 6);

    expect(records.webA.denied.join('\n')).toMatch(/Publish to "voice\.v1\.webB\.audio\.in"/);
    expect(records.webA.denied.join('\n')).toMatch(/Subscription to "voice\.v1\.webB\.audio\.out"/);
    for (const id of ['webA', 'webB'] as const) {
      const r = records[id];
      // One latency row per turn, each its own device's; both sides' transcripts for each turn.
      expect(turnIds[id]).toHaveLength(truth.turns);
      for (const t of turnIds[id]) expect(t).toMatch(new RegExp(`^${id}-`));
      expect(userLines[id]).toBe(truth.turns);
      expect(assistantLines[id]).toBe(truth.turns);
      expect(texts[id]).toMatch(/This is answer number 4/);
      // WebAudio played every sample of every answer it received.
      const turns = Object.entries(r.playout!.turns);
      expect(turns).toHaveLength(truth.turns);
      for (const [turnId, t] of turns) {
        expect(turnId.startsWith(`${id}-`)).toBe(true);
        expect(t.flushed, turnId).toBeFalsy();
        expect(t.receivedSamples).toBeGreaterThan(24_000);
        expect(t.playedSamples, turnId).toBe(t.receivedSamples);
        expect(t.stoppedAt! - t.startedAt!).toBeCloseTo((t.playedSamples! / 24_000) * 1000, -2);
      }
      expect(r.malformed).toBe(0);
    }
    expect(records.webB.denied).toEqual([]);

    // The demo keeps turns.jsonl and history.jsonl of browser devices too.
    await expect.poll(() => readTurnRows('webA').filter((t) => t.answered).length, { timeout: 5_000 }).toBe(truth.turns);
    await expect.poll(() => readTurnRows('webB').filter((t) => t.answered).length, { timeout: 5_000 }).toBe(truth.turns);
    expect(readFileSync(join(out, 'webA', 'history.jsonl'), 'utf8')).toMatch(/answer number 4/);
    console.log(`screenshots: ${SHOTS}`);
  }, 120_000);

  it('barge-in: the answer stops in the browser within 150 ms of the user\'s speech', async () => {
    const truth = fixtureTruth('barge-in');
    const bargeAtMs = truth.segments.find((s) => s.turn === 2)!.startMs;
    const browser = await launchBrowser({ wav: join(FIXTURES, 'barge-in.wav') });
    browsers.push(browser);
    const tab = await open(browser, 'webC');
    await tab.page.waitForFunction(() => document.querySelectorAll('#latency tbody tr').length >= 2, undefined, { timeout: 40_000 });
    const r = await pageRecord(tab.page);
    await tab.page.screenshot({ path: join(SHOTS, 'webC-after-barge-in.png') });
    await tab.page.close();
    const [first] = Object.values(r.playout!.turns).sort((x, y) => x.startedAt! - y.startedAt!);
    expect(first!.flushed).toBe(true);
    // The user's speech as the page captured it: the first loud sample after the answer began.
    const chunk = r.capture.chunks.find((c) => c.firstLoudSample >= 0 && c.captureTsUs / 1000 > first!.startedAt!)!;
    const speechAtMs = chunk.captureTsUs / 1000 + (chunk.firstLoudSample / 16_000) * 1000;
    // It is the fixture's interruption (the page's timeline starts with the file).
    const originMs = r.capture.chunks[0]!.captureTsUs / 1000;
    // (The page's timeline drifts against the file by up to ~100 ms under load, see below; the
    // next speech in the file is seconds away, so 150 ms still tells the interruption apart.)
    expect(Math.abs(speechAtMs - originMs - bargeAtMs)).toBeLessThan(150);
    const stopMs = first!.stoppedAt! - speechAtMs;
    console.log(`barge-in: the browser stopped the answer ${stopMs.toFixed(1)} ms after the user's speech`);
    // The page's capture timeline is anchored when its first chunk reaches the page (the
    // capture service's rule for live sources), its playout times come from the audio output
    // clock: on a loaded machine the anchor lands up to ~50 ms late, so the speech can seem to
    // start after the stop (seen: -38 ms once in CI). Anchoring capture to the audio clock is
    // open work (#17); until then the sanity bound allows for that error.
    expect(stopMs).toBeGreaterThan(-60);
    expect(stopMs).toBeLessThan(150);
    expect(tab.console.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  }, 60_000);
});
