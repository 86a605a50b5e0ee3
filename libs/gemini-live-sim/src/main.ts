import { Command, Option } from 'commander';
import { startGeminiLiveSim } from './server.ts';
import { SIM_BEHAVIOUR_DEFAULTS } from './sim-session.ts';

const num = (raw: string) => {
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`expected a non-negative number, got ${JSON.stringify(raw)}`);
  return v;
};
const d = SIM_BEHAVIOUR_DEFAULTS;
const program = new Command('gemini-live-sim')
  .description('A Gemini Live (BidiGenerateContent) simulator the real @google/genai client connects to')
  .addOption(new Option('--host <host>', 'address to listen on').env('SIM_HOST').default('127.0.0.1'))
  .addOption(new Option('--port <port>', 'port (0 = any free port)').env('SIM_PORT').default(0).argParser(num))
  .addOption(new Option('--api-key <key>', 'accept only this key').env('SIM_API_KEY').default(undefined, 'any key'))
  .addOption(new Option('--first-audio-delay-ms <ms>', 'end of user turn to first answer audio').env('SIM_FIRST_AUDIO_DELAY_MS').default(d.firstAudioDelayMs).argParser(num))
  .addOption(new Option('--speed <factor>', 'answer pacing: 1 = real time, 0 = as fast as possible').env('SIM_SPEED').default(d.speed).argParser(num))
  .addOption(new Option('--chunk-ms <ms>', 'length of each answer audio message').env('SIM_CHUNK_MS').default(d.chunkMs).argParser(num))
  .addOption(new Option('--voice <voice>', 'espeak-ng voice').env('SIM_VOICE').default(d.voice))
  .addOption(new Option('--max-connection-ms <ms>', 'send goAway after this long (0 = never)').env('SIM_MAX_CONNECTION_MS').default(0).argParser(num));

const opts = program.parse().opts<{ host: string; port: number; apiKey?: string; firstAudioDelayMs: number; speed: number; chunkMs: number; voice: string; maxConnectionMs: number }>();
const sim = await startGeminiLiveSim(opts);
sim.on('session', (s) => {
  log({ event: 'session', id: s.id });
  s.on('closed', ({ code }) => log({ event: 'closed', id: s.id, code }));
  s.on('answer-started', ({ turn }) => log({ event: 'answer', id: s.id, turn }));
});
function log(obj: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...obj }) + '\n');
}
log({ event: 'listening', url: sim.url, port: sim.port });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void sim.close().then(() => process.exit(0)));
}
