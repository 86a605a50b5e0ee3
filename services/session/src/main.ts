import { Command, Option } from 'commander';
import { join } from 'node:path';
import { INTERRUPTION_STRATEGIES, STREAMS, TURN_DETECTION_MODES, type InterruptionStrategy, type TurnDetectionMode } from '@voicebus/protocol';
import { ActorHost, addCommonOptions, addOwnershipOptions, setupOwnership, type DeviceRouter, type OwnershipFlags, numberIn, processSpan, startServiceRuntime, type CommonOptions } from '@voicebus/runtime';
import { GEMINI_LIVE_SESSION_DEFAULTS, GeminiLiveSession } from './gemini-live-session.ts';
import { loadPromptPack, packValues, PromptPackError, renderPrompt } from './prompt-pack.ts';
import { SessionActor, type SessionMessage } from './session-actor.ts';
import { SESSION_DEFAULTS } from './session-options.ts';
import { defaultToolRegistry } from './tool-handlers.ts';
import { ResumptionStore } from './resumption-store.ts';

interface SessionFlags extends CommonOptions, OwnershipFlags {
  pack: string;
  prompt: string;
  var: string[];
  model?: string;
  voice?: string;
  turnDetection: TurnDetectionMode;
  startSensitivity?: 'high' | 'low';
  endSensitivity?: 'high' | 'low';
  prefixPaddingMs?: number;
  silenceDurationMs?: number;
  interruption: InterruptionStrategy;
  autoCompleteMs: number;
  watchdogMs: number;
  greeting?: string;
  inactivityMs: number;
  geminiUrl?: string;
  transcripts: boolean;
  traceTranscripts?: boolean;
}

const DEFAULT_PACK = join(import.meta.dirname, '..', 'assistant.pack.json');
const DEFAULT_MODEL = 'gemini-2.5-flash-native-audio-latest';
const d = SESSION_DEFAULTS;
const program = addOwnershipOptions(addCommonOptions(new Command('session')))
  .description('One Gemini Live session per device')
  .addOption(new Option('--pack <file>', 'PromptPack JSON file').env('PROMPT_PACK').default(DEFAULT_PACK))
  .addOption(new Option('--prompt <name>', 'prompt of the pack to use').env('PROMPT_NAME').default('voice'))
  .addOption(new Option('--var <name=value>', 'template variable (repeatable; also PACK_VAR_<NAME>)').argParser((v: string, prev: string[] = []) => [...prev, v]).default([]))
  .addOption(new Option('--model <model>', 'override the pack\'s model').env('GEMINI_MODEL').default(undefined, "the pack's model"))
  .addOption(new Option('--voice <voice>', 'override the pack\'s voice').env('GEMINI_VOICE').default(undefined, "the pack's voice"))
  .addOption(new Option('--turn-detection <mode>', 'local: the VAD service decides turns; server: Gemini does').env('TURN_DETECTION').choices(TURN_DETECTION_MODES).default('local'))
  .addOption(new Option('--start-sensitivity <s>', 'server mode: start-of-speech sensitivity').env('SERVER_VAD_START_SENSITIVITY').choices(['high', 'low']).default(undefined, "Gemini's own"))
  .addOption(new Option('--end-sensitivity <s>', 'server mode: end-of-speech sensitivity').env('SERVER_VAD_END_SENSITIVITY').choices(['high', 'low']).default(undefined, "Gemini's own"))
  .addOption(new Option('--prefix-padding-ms <ms>', 'server mode: speech needed before a start is committed').env('SERVER_VAD_PREFIX_PADDING_MS').argParser(numberIn(0, 10_000, true)).default(undefined, "Gemini's own"))
  .addOption(new Option('--silence-duration-ms <ms>', 'server mode: silence that ends the user\'s turn').env('SERVER_VAD_SILENCE_MS').argParser(numberIn(0, 10_000, true)).default(undefined, "Gemini's own"))
  .addOption(new Option('--interruption <strategy>', 'what user speech does to an answer in progress').env('INTERRUPTION_STRATEGY').choices(INTERRUPTION_STRATEGIES).default(d.interruption))
  .addOption(new Option('--auto-complete-ms <ms>', 'complete a model turn that stops without turnComplete (0 = off)').env('AUTO_COMPLETE_MS').default(d.autoCompleteMs).argParser(numberIn(0, 600_000, true)))
  .addOption(new Option('--watchdog-ms <ms>', 'reconnect when Gemini stays silent this long after a turn').env('WATCHDOG_MS').default(GEMINI_LIVE_SESSION_DEFAULTS.watchdogMs).argParser(numberIn(0, 600_000, true)))
  .addOption(new Option('--greeting <text>', 'open each session by asking the model this (e.g. "Hello! Please introduce yourself briefly.")').env('GREETING').default(undefined, "none"))
  .addOption(new Option('--inactivity-ms <ms>', 'end a session after this long without user speech (0 = never)').env('INACTIVITY_MS').default(d.inactivityMs).argParser(numberIn(0, 86_400_000, true)))
  .addOption(new Option('--gemini-url <url>', 'Gemini Live simulator base URL (unset: Google, with GEMINI_API_KEY)').env('GEMINI_LIVE_URL'))
  .addOption(new Option('--no-transcripts', 'do not ask for input/output transcriptions'))
  .addOption(new Option('--trace-transcripts', 'add transcript text to trace spans (off: privacy)').env('TRACE_TRANSCRIPTS'));

const flags = program.parse().opts<SessionFlags>();
const apiKey = process.env.GEMINI_API_KEY ?? process.env.GOOGLE_API_KEY;
if (!flags.geminiUrl && !apiKey) program.error('no model: set GEMINI_API_KEY (or GOOGLE_API_KEY) to use Gemini, or --gemini-url / GEMINI_LIVE_URL for the simulator');

let prompt;
try {
  prompt = renderPrompt(await loadPromptPack(flags.pack), flags.prompt, packValues(flags.var, process.env));
} catch (err) {
  if (err instanceof PromptPackError) program.error(`prompt pack ${flags.pack}: ${err.message}`);
  throw err;
}
const model = flags.model ?? prompt.model ?? DEFAULT_MODEL;
const handles = new Map<string, string>();
const tools = defaultToolRegistry();

let router: DeviceRouter<SessionMessage> | undefined;
const rt = await startServiceRuntime({
  ...flags,
  name: 'session',
  version: '0.1.0',
  description: 'Gemini Live sessions, one per device',
  stats: () => ({ ownership: router?.ownership?.stats(), model, interruption: flags.interruption, turnDetection: flags.turnDetection, devices: host.stats(), rejected: rt.bus.rejectedTotal() }),
});
const handleStore = flags.ownership === 'kv' ? await ResumptionStore.open(rt.bus, rt.log) : undefined;
const live = {
  model,
  prompt,
  voice: flags.voice,
  turnDetection: flags.turnDetection,
  serverVad: { startSensitivity: flags.startSensitivity, endSensitivity: flags.endSensitivity, prefixPaddingMs: flags.prefixPaddingMs, silenceDurationMs: flags.silenceDurationMs },
  transcripts: flags.transcripts,
};
const host: ActorHost<SessionMessage> = new ActorHost<SessionMessage>(
  (ctx) => new SessionActor(ctx, {
    bus: rt.bus,
    tools,
    metrics: rt.telemetry.metrics,
    createLiveSession: (port) => new GeminiLiveSession(port, {
      endpoint: { apiKey: apiKey ?? 'simulator', baseUrl: flags.geminiUrl },
      live,
      interruption: flags.interruption,
      watchdogMs: flags.watchdogMs,
      handles,
      handleStore,
      metrics: rt.telemetry.metrics,
    }),
  }, {
    interruption: flags.interruption,
    turnDetection: flags.turnDetection,
    model,
    greeting: flags.greeting,
    autoCompleteMs: flags.autoCompleteMs,
    inactivityMs: flags.inactivityMs,
    traceTranscripts: Boolean(flags.traceTranscripts),
  }),
  rt.log,
  { idleMs: 0, onDrop: (n) => rt.telemetry.metrics.chunksDropped.add(n) },
);

router = await setupOwnership(rt, host, flags);
const deliver = router.deliver;
rt.bus.subscribeAudio('audio.in', (chunk, meta) => deliver(meta.deviceId, { message: { kind: 'audio', chunk }, droppable: true }));
// Speech facts, what the user hears, turn starts and control overtake queued audio: barge-in
// must not wait behind it. A turn's end does not: the model must get all of the turn's audio
// before activityEnd, and that audio may still be queued.
const PRIORITY_STREAMS: ReadonlySet<string> = new Set([STREAMS.vad, STREAMS.turn, STREAMS.control, STREAMS.playback]);
const overtakesAudio = (stream: string, event: { type: string }) => PRIORITY_STREAMS.has(stream) && event.type !== 'turn.end';
const TRACED_STREAMS: ReadonlySet<string> = new Set([STREAMS.turn, STREAMS.control]);
for (const stream of [STREAMS.vad, STREAMS.turn, STREAMS.control, STREAMS.capture, STREAMS.playback] as const) {
  rt.bus.subscribeEvents(stream, (event, meta) =>
    deliver(meta.deviceId, { message: { kind: 'event', event }, droppable: false, priority: overtakesAudio(stream, event), trace: TRACED_STREAMS.has(stream) ? processSpan(stream, meta) : undefined }),
  );
}
rt.log.info({ model, pack: flags.pack, prompt: flags.prompt, gemini: flags.geminiUrl ?? 'google' }, 'session service configured');
rt.shutdown.add('actors', () => host.close());
await rt.ready();
