import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import wavefile from 'wavefile';
import type { DeviceView } from './conversation-monitor.ts';

const run = promisify(execFile);

export async function writeTurns(dir: string, view: DeviceView): Promise<void> {
  const rows = [...view.rows].sort((a, b) => a.userStartS - b.userStartS);
  await writeFile(join(dir, 'turns.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
}

export async function writeHistory(dir: string, view: DeviceView): Promise<void> {
  await writeFile(join(dir, 'history.jsonl'), view.history.map((h) => JSON.stringify(h)).join('\n') + (view.history.length ? '\n' : ''));
}

/** The user's audio as the bus carried it, placed on the capture timeline (gaps are silence). */
export function userTimeline(view: DeviceView): Int16Array | undefined {
  if (view.userAudio.length === 0 || view.originUs === undefined) return undefined;
  const rate = view.userAudio[0]!.sampleRate;
  const last = view.userAudio.reduce((m, c) => Math.max(m, c.captureTsUs + (c.pcm.length / rate) * 1e6), 0);
  const out = new Int16Array(Math.ceil(((last - view.originUs) / 1e6) * rate));
  for (const c of view.userAudio) {
    const at = Math.round(((c.captureTsUs - view.originUs) / 1e6) * rate);
    if (at >= 0) out.set(c.pcm.subarray(0, Math.max(0, out.length - at)), at);
  }
  return out;
}

/**
 * conversation.wav: the user on the left, the assistant on the right, one timeline, so a
 * listener hears the barge-ins. Both tracks start at the device's first captured sample.
 */
export async function writeConversation(dir: string, view: DeviceView): Promise<boolean> {
  const assistant = join(dir, 'assistant.wav');
  const user = userTimeline(view);
  if (!user || !existsSync(assistant)) return false;
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, view.userAudio[0]!.sampleRate, '16', user);
  const userFile = join(dir, 'user.wav');
  await writeFile(userFile, wav.toBuffer());
  const user24 = join(dir, '.user24k.wav');
  await run('sox', [userFile, '-r', '24000', user24]);
  await run('sox', ['-M', user24, assistant, join(dir, 'conversation.wav')]);
  await rm(user24, { force: true });
  return true;
}

/** A device's files in <outDir>/<device>: turns.jsonl, history.jsonl and, when its microphone was recorded, conversation.wav. */
export async function writeDeviceFiles(outDir: string, view: DeviceView, options: { conversation: boolean }): Promise<void> {
  const dir = join(outDir, view.deviceId);
  mkdirSync(dir, { recursive: true });
  await writeTurns(dir, view);
  await writeHistory(dir, view);
  if (options.conversation) await writeConversation(dir, view).catch((err: Error) => console.log(`[demo] ${view.deviceId}: conversation.wav not written: ${err.message}`));
}
