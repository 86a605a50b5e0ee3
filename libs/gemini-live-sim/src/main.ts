import { Command, Option } from 'commander';
import { faultsOption, type SimFault } from './fault-script.ts';
import { DEFAULT_SIM_PRESET, SIM_PRESET_NAMES, SIM_PRESETS, type SimPreset } from './options.ts';
import { startGeminiLiveSim } from './server.ts';
import { setSpeechCache } from './speech-synth.ts';

const num = (raw: string) => {
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`expected a non-negative number, got ${JSON.stringify(raw)}`);
  return v;
};
// Behaviour flags have no default of their own: unset, the preset decides.
const d = SIM_PRESETS[DEFAULT_SIM_PRESET];
const program = new Command('gemini-live-sim')
  .description('A Gemini Live (BidiGenerateContent) simulator the real @google/genai client connects to')
  .addOption(new Option('--host <host>', 'address to listen on').env('SIM_HOST').default('127.0.0.1'))
  .addOption(new Option('--port <port>', 'port (0 = any free port)').env('SIM_PORT').default(0).argParser(num))
  .addOption(new Option('--api-key <key>', 'accept only this key').env('SIM_API_KEY').default(undefined, 'any key'))
  .addOption(new Option('--preset <preset>', 'behaviour preset (see README)').env('SIM_PRESET').choices(SIM_PRESET_NAMES).default(DEFAULT_SIM_PRESET))
  .addOption(new Option('--first-audio-delay-ms <ms>', `end of user turn to first answer audio (default ${d.firstAudioDelayMs})`).env('SIM_FIRST_AUDIO_DELAY_MS').argParser(num).default(undefined, 'the preset\'s'))
  .addOption(new Option('--speed <factor>', `answer pacing without bursts: 1 = real time, 0 = as fast as possible (default ${d.speed})`).env('SIM_SPEED').argParser(num).default(undefined, 'the preset\'s'))
  .addOption(new Option('--chunk-ms <ms>', `length of each answer audio message without bursts (default ${d.chunkMs})`).env('SIM_CHUNK_MS').argParser(num).default(undefined, 'the preset\'s'))
  .addOption(new Option('--voice <voice>', `espeak-ng voice (default ${d.voice})`).env('SIM_VOICE').default(undefined, 'the preset\'s'))
  .addOption(new Option('--max-connection-ms <ms>', 'legacy: send goAway after this long (0 = never)').env('SIM_MAX_CONNECTION_MS').argParser(num).default(undefined, 'the preset\'s'))
  .addOption(new Option('--connection-limit-ms <ms>', 'close a connection this long after it opened, goAway first (0 = never; preset decides)').env('SIM_CONNECTION_LIMIT_MS').argParser(num).default(undefined, 'the preset\'s'))
  .addOption(new Option('--go-away-time-left-ms <ms>', 'goAway this long before the connection limit').env('SIM_GO_AWAY_TIME_LEFT_MS').argParser(num).default(undefined, 'the preset\'s'))
  .addOption(new Option('--audio-session-limit-ms <ms>', 'end audio sessions without context window compression after this long (0 = never)').env('SIM_AUDIO_SESSION_LIMIT_MS').argParser(num).default(undefined, 'the preset\'s'))
  .addOption(new Option('--handle-ttl-ms <ms>', 'resumption handles expire after this long').env('SIM_HANDLE_TTL_MS').argParser(num).default(undefined, 'the preset\'s'))
  .addOption(new Option('--fault <script>', 'faults at scripted moments, ";"-separated, e.g. "drop@speech1+1000;goaway@speech2+500:timeLeftMs=200" (see README)').env('SIM_FAULTS').argParser(faultsOption).default([], 'none'))
  .addOption(new Option('--seed <n>', 'seed of the random choices').env('SIM_SEED').argParser(num).default(undefined, 'the preset\'s'))
  .addOption(new Option('--speech-cache <on|off>', 'reuse the synthesised audio of an answer text already spoken (off: every answer synthesised anew)').env('SIM_SPEECH_CACHE').choices(['on', 'off']).default('on'));

const { fault: faults, speechCache, ...opts } = program.parse().opts<{ host: string; port: number; apiKey?: string; preset: SimPreset; fault: SimFault[] } & Record<string, number | string | undefined>>();
setSpeechCache(speechCache !== 'off');
const sim = await startGeminiLiveSim({ ...opts, faults });
sim.on('session', (s) => {
  log({ event: 'session', id: s.id });
  s.on('closed', ({ code }) => log({ event: 'closed', id: s.id, code }));
  s.on('answer-started', ({ turn }) => log({ event: 'answer', id: s.id, turn }));
  s.on('answer-finished', (done) => log({ event: 'answer-finished', id: s.id, ...done }));
});
sim.on('fault', ({ fault, session }) => log({ event: 'fault', id: session, ...fault }));
function log(obj: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...obj }) + '\n');
}
log({ event: 'listening', url: sim.url, port: sim.port, preset: sim.preset });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void sim.close().then(() => process.exit(0)));
}
