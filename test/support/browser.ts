import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium (scripts/bootstrap.sh installs it); playwright never downloads one. */
export const CHROMIUM = process.env.VOICEBUS_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless Chromium whose microphone is `wav` (Chromium's fake capture device, which loops the
 * file unless `once`) and whose permission prompt says yes, unless `denyMicrophone`.
 */
export async function launchBrowser(options: { wav?: string; denyMicrophone?: boolean; once?: boolean } = {}): Promise<Browser> {
  const args = ['--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required'];
  if (!options.denyMicrophone) args.push('--use-fake-ui-for-media-stream');
  // `once`: the file plays one time, then the microphone is silent (Chromium's %noloop).
  if (options.wav) args.push(`--use-file-for-fake-audio-capture=${options.wav}${options.once ? '%noloop' : ''}`);
  return chromium.launch({ executablePath: CHROMIUM, args });
}

/** What the page keeps about itself (window.voicebus, see services/web/src/page/main.ts). */
export interface PageRecord {
  state: string;
  malformed: number;
  denied: string[];
  /** What the page held over a lost connection (PageOutbox.stats). */
  outbox: { holding: boolean; storedAfterOutage: number; sentLateUnstored: number; droppedInOutage: number };
  capture: { chunks: { seq: number; captureTsUs: number; arrivedAt: number; dbfs: number; firstLoudSample: number }[] };
  playout: {
    playedSamples: number;
    audibleSamples: number;
    turns: Record<string, { receivedAt: number; receivedSamples: number; startedAt?: number; stoppedAt?: number; playedSamples?: number; audibleSamples?: number; droppedSamples?: number; flushed?: boolean; flushRequestedAt?: number; finished?: boolean }>;
  } | undefined;
}

export function pageRecord(page: Page): Promise<PageRecord> {
  return page.evaluate(() => {
    const v = (window as unknown as { voicebus: PageRecord }).voicebus;
    return JSON.parse(JSON.stringify({ state: v.state, malformed: v.malformed, denied: v.denied, capture: v.capture, playout: v.playout, outbox: v.outbox })) as PageRecord;
  });
}

/** Console lines of the page, kept for assertions and failure messages. */
export function consoleOf(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (m) => void lines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => void lines.push(`pageerror: ${e.message}`));
  return lines;
}
