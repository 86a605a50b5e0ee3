import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const SIM_OUTPUT_RATE = 24000;

const cache = new Map<string, Promise<Int16Array>>();
let espeakMissing = false;
let cacheEnabled = true;

/**
 * Off, every answer is synthesised anew, as a real model produces each answer's audio itself:
 * with many devices asking the same questions the cache would otherwise make the model stage
 * look nearly free (the pipeline benchmark turns it off).
 */
export function setSpeechCache(enabled: boolean): void {
  cacheEnabled = enabled;
  if (!enabled) cache.clear();
}

/**
 * Speech for the simulator's answers: espeak-ng reads the text and sox turns it into 24 kHz
 * mono s16, the format Gemini Live answers in. Without espeak-ng (or sox) it falls back to a
 * tone of about the same length, so the simulator still works, just less pleasantly.
 */
export function synthesize(text: string, voice = 'en-us'): Promise<Int16Array> {
  const key = `${voice}\u0000${text}`;
  let pcm = cacheEnabled ? cache.get(key) : undefined;
  if (!pcm) {
    pcm = speak(text, voice).catch(() => {
      espeakMissing = true;
      return tone(text);
    });
    if (cacheEnabled) cache.set(key, pcm);
    if (cache.size > 256) cache.delete(cache.keys().next().value!);
  }
  return pcm;
}

async function speak(text: string, voice: string): Promise<Int16Array> {
  if (espeakMissing) throw new Error('espeak-ng unavailable');
  const { stdout: wav } = await run('espeak-ng', ['-v', voice, '--stdout', text], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const child = execFile('sox', ['-t', 'wav', '-', '-t', 'raw', '-r', String(SIM_OUTPUT_RATE), '-c', '1', '-b', '16', '-e', 'signed-integer', '-L', '-'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    child.stdin!.end(wav);
  });
  const pcm = new Int16Array(raw.length >> 1);
  Buffer.from(pcm.buffer).set(raw.subarray(0, pcm.length * 2));
  return pcm;
}

/** About 70 ms per character of text, a soft 440 Hz tone with a gap at every sentence end. */
function tone(text: string): Int16Array {
  const seconds = Math.max(0.5, text.length * 0.07);
  const pcm = new Int16Array(Math.round(seconds * SIM_OUTPUT_RATE));
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(Math.sin((2 * Math.PI * 440 * i) / SIM_OUTPUT_RATE) * 6000);
  return pcm;
}
