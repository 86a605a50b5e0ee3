import type { SimBehaviour } from './options.ts';
import type { Rng } from './rng.ts';
import { SIM_OUTPUT_RATE } from './speech-synth.ts';

type Json = Record<string, unknown>;

export interface TimelineEvent {
  /** Milliseconds after the first audio message. */
  at: number;
  kind: 'audio' | 'transcript' | 'generationComplete' | 'turnComplete';
  message: Json;
  /** Audio carried by an `audio` event. */
  audioMs: number;
}

export interface AnswerPlan {
  events: TimelineEvent[];
  audioMs: number;
}

const MIME = `audio/pcm;rate=${SIM_OUTPUT_RATE}`;
const samplesPerMs = SIM_OUTPUT_RATE / 1000;

function part(pcm: Int16Array, from: number, to: number): Json {
  const p = pcm.subarray(from, to);
  return { inlineData: { mimeType: MIME, data: Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('base64') } };
}

/**
 * When each message of one spoken answer is sent, as a list of timed events. The `simple`
 * plan is the original: even `chunkMs` messages paced at `speed`, the transcript word by word
 * right after the audio that carries it, generationComplete and turnComplete back to back.
 * The realistic plan follows the Live API: audio is generated faster than real time and sent
 * in bursts of several messages (some with several parts); output transcription comes in
 * batches with no ordering against the audio; turnComplete waits until a real-time player
 * would have finished ("When model assumes realtime playback there will be delay between
 * generation_complete and turn_complete").
 */
export function planAnswer(pcm: Int16Array, text: string, b: SimBehaviour, rng: Rng, withTranscript: boolean): AnswerPlan {
  const audioMs = pcm.length / samplesPerMs;
  const events: TimelineEvent[] = [];
  /** Send time of each audio sample position, to place transcript batches. */
  const sentAt: { sample: number; at: number }[] = [];
  if (!b.audioBursts) {
    const chunk = Math.max(1, Math.round(samplesPerMs * b.chunkMs));
    const words = text.split(' ');
    let wordsSent = 0;
    for (let off = 0, i = 0; off < pcm.length; off += chunk, i++) {
      const at = b.speed > 0 ? (i * b.chunkMs) / b.speed : 0;
      const end = Math.min(pcm.length, off + chunk);
      events.push({ at, kind: 'audio', audioMs: (end - off) / samplesPerMs, message: { serverContent: { modelTurn: { parts: [part(pcm, off, end)] } } } });
      if (withTranscript && !b.batchedOutputTranscript) {
        const due = Math.ceil((end / pcm.length) * words.length);
        if (due > wordsSent) {
          events.push({ at, kind: 'transcript', audioMs: 0, message: { serverContent: { outputTranscription: { text: (wordsSent > 0 ? ' ' : '') + words.slice(wordsSent, due).join(' ') } } } });
          wordsSent = due;
        }
      }
      sentAt.push({ sample: end, at });
    }
  } else {
    // Bursts: a few messages back to back, then a pause until the audio sent so far has been
    // "generated" at this burst's speed (2-6x real time by default).
    let off = 0;
    let at = 0;
    while (off < pcm.length) {
      const speed = rng.between(b.burstSpeedMin, b.burstSpeedMax);
      const messages = rng.int(1, 5);
      let burstMs = 0;
      for (let m = 0; m < messages && off < pcm.length; m++) {
        const parts: Json[] = [];
        const count = rng.int(1, Math.max(1, b.maxPartsPerMessage));
        let msgMs = 0;
        for (let p = 0; p < count && off < pcm.length; p++) {
          const ms = rng.between(b.partMsMin, b.partMsMax);
          const end = Math.min(pcm.length, off + Math.max(1, Math.round(ms * samplesPerMs)));
          parts.push(part(pcm, off, end));
          msgMs += (end - off) / samplesPerMs;
          off = end;
        }
        events.push({ at, kind: 'audio', audioMs: msgMs, message: { serverContent: { modelTurn: { parts } } } });
        sentAt.push({ sample: off, at });
        burstMs += msgMs;
      }
      at += b.speed > 0 ? burstMs / speed : 0;
    }
  }
  const lastAudioAt = events.filter((e) => e.kind === 'audio').at(-1)?.at ?? 0;
  let lastTranscriptAt = 0;
  if (withTranscript && b.batchedOutputTranscript) {
    const words = text.split(' ');
    let chars = 0;
    let prevAt = 0;
    for (let i = 0; i < words.length; ) {
      const n = rng.int(b.transcriptBatchMin, b.transcriptBatchMax);
      const batch = words.slice(i, i + n);
      chars += batch.join(' ').length + (i > 0 ? 1 : 0);
      const sample = Math.round((chars / text.length) * pcm.length);
      const audioAt = sentAt.find((s) => s.sample >= sample)?.at ?? lastAudioAt;
      const skew = b.speed > 0 ? rng.between(-b.transcriptLeadMs, b.transcriptLagMs) : 0;
      const t = Math.max(prevAt, audioAt + skew, 0);
      events.push({ at: t, kind: 'transcript', audioMs: 0, message: { serverContent: { outputTranscription: { text: (i > 0 ? ' ' : '') + batch.join(' ') } } } });
      prevAt = lastTranscriptAt = t;
      i += n;
    }
  }
  const genAt = lastAudioAt;
  const turnAt = Math.max(genAt, lastTranscriptAt, b.generationCompleteEarly ? audioMs : 0);
  events.push({ at: genAt, kind: 'generationComplete', audioMs: 0, message: { serverContent: { generationComplete: true } } });
  events.push({ at: turnAt, kind: 'turnComplete', audioMs: 0, message: { serverContent: { turnComplete: true } } });
  // Stable: events at the same time keep the order they were planned in.
  const order = new Map(events.map((e, i) => [e, i]));
  events.sort((x, y) => x.at - y.at || order.get(x)! - order.get(y)!);
  return { events, audioMs };
}
