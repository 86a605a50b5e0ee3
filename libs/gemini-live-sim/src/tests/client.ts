import { GoogleGenAI, Modality, type LiveServerMessage, type Session } from '@google/genai';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import type { GeminiLiveSim } from '../server.ts';

/** A real @google/genai Live client on the simulator, recording what arrives and when. */
export interface Client {
  session: Session;
  messages: LiveServerMessage[];
  /** performance.now() at which each message arrived. */
  times: number[];
  closed: Promise<{ code: number; reason: string }>;
  until(pred: (m: LiveServerMessage[]) => boolean, timeoutMs?: number): Promise<void>;
}

/** What both clients share: messages and their arrival times, and waiting for a condition on them. */
function recorder(untilTimeoutMs: number) {
  const messages: LiveServerMessage[] = [];
  const times: number[] = [];
  let waiters: { pred: (m: LiveServerMessage[]) => boolean; resolve: () => void }[] = [];
  const record = (m: LiveServerMessage) => {
    messages.push(m);
    times.push(performance.now());
    waiters = waiters.filter((w) => (w.pred(messages) ? (w.resolve(), false) : true));
  };
  const until = (pred: (m: LiveServerMessage[]) => boolean, timeoutMs = untilTimeoutMs) =>
    pred(messages)
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`condition not met; got ${messages.length} messages: ${summary(messages)}`)), timeoutMs);
          waiters.push({ pred, resolve: () => (clearTimeout(t), resolve()) });
        });
  return { messages, times, record, until };
}

export async function connect(sim: GeminiLiveSim, config: Record<string, unknown> = {}, model = 'gemini-3.8-live', untilTimeoutMs = 15_000): Promise<Client> {
  const ai = new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: sim.url, apiVersion: 'v1beta' } });
  const { messages, times, record, until } = recorder(untilTimeoutMs);
  let resolveClosed!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
  const session = await ai.live.connect({
    model,
    config: { responseModalities: [Modality.AUDIO], ...config },
    callbacks: {
      onmessage: record,
      onclose: (e) => resolveClosed({ code: e.code, reason: e.reason }),
      onerror: () => {},
    },
  });
  return { session, messages, times, closed, until };
}

/** Connecting must fail: the close code and reason the SDK reports. */
export async function connectFails(sim: GeminiLiveSim, config: Record<string, unknown>, model = 'gemini-3.8-live'): Promise<string> {
  try {
    const c = await connect(sim, config, model);
    c.session.close();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('connect succeeded');
}

export const MANUAL = { realtimeInputConfig: { automaticActivityDetection: { disabled: true } } };

/** 16 kHz speech-like audio (a tone), or silence with amp 0. */
export const pcm16 = (ms: number, amp = 8000) => {
  const n = Math.round((16000 * ms) / 1000);
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.round(Math.sin(i / 4) * amp);
  return Buffer.from(s.buffer).toString('base64');
};
export const audio = (ms: number, amp?: number) => ({ audio: { data: pcm16(ms, amp), mimeType: 'audio/pcm;rate=16000' } });

/** One user turn in manual mode: activityStart, `ms` of audio in 100 ms messages, activityEnd. */
export function speak(c: Client, ms: number): void {
  c.session.sendRealtimeInput({ activityStart: {} });
  for (let t = 0; t < ms; t += 100) c.session.sendRealtimeInput(audio(Math.min(100, ms - t)));
  c.session.sendRealtimeInput({ activityEnd: {} });
}

export const kinds = (ms: LiveServerMessage[]) =>
  ms.flatMap((m) => {
    const sc = m.serverContent;
    if (!sc) return Object.keys(m).filter((k) => (m as unknown as Record<string, unknown>)[k] !== undefined);
    return [sc.modelTurn ? 'audio' : '', sc.outputTranscription ? 'out-text' : '', sc.inputTranscription ? 'in-text' : '', sc.generationComplete ? 'generationComplete' : '', sc.interrupted ? 'interrupted' : '', sc.turnComplete ? 'turnComplete' : ''].filter(Boolean);
  });
export const turnCompletes = (ms: LiveServerMessage[]) => ms.filter((m) => m.serverContent?.turnComplete).length;
export const outputText = (ms: LiveServerMessage[]) => ms.map((m) => m.serverContent?.outputTranscription?.text ?? '').join('');
export const inputText = (ms: LiveServerMessage[]) => ms.map((m) => m.serverContent?.inputTranscription?.text ?? '').join('');
export const updates = (ms: LiveServerMessage[]) => ms.flatMap((m) => (m.sessionResumptionUpdate ? [m.sessionResumptionUpdate] : []));
const summary = (ms: LiveServerMessage[]) => kinds(ms).slice(-12).join(',');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A raw WebSocket client, for setups the SDK will not send: in Gemini API mode @google/genai
 * refuses `sessionResumption.transparent` ("only supported in ... Agent Platform mode").
 */
export async function rawConnect(sim: GeminiLiveSim, setup: Record<string, unknown>): Promise<Client & { send(msg: unknown): void }> {
  const ws = new WebSocket(`${sim.url.replace(/^http/, 'ws')}/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=test-key`);
  const { messages, times, record, until } = recorder(15_000);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('message', (data) => record(JSON.parse(data.toString()) as LiveServerMessage));
  await once(ws, 'open');
  const send = (msg: unknown) => ws.send(JSON.stringify(msg));
  send({ setup: { model: 'models/gemini-3.8-live', generationConfig: { responseModalities: ['AUDIO'] }, ...setup } });
  await until((m) => m.some((x) => x.setupComplete));
  const session = { close: () => ws.close(), sendRealtimeInput: (input: unknown) => send({ realtimeInput: input }) } as unknown as Session;
  return { session, messages, times, closed, until, send };
}
