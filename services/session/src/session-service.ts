import { ANSWER_HISTORY_STREAM, STREAMS } from '@voicebus/protocol';
import { AudioHistory, DeviceOutbox, runService, UsageError, type ActorService, type ServiceDefinition } from '@voicebus/runtime';
import { GeminiLiveSession } from './gemini-live-session.ts';
import { createInterruptionStrategy } from './interruption/index.ts';
import { LiveSettingsError, mergeLiveOptions, validateLiveSettings, type LiveSettings } from './live-config.ts';
import { loadPromptPack, packValues, PromptPackError, renderPrompt, type RenderedPrompt } from './prompt-pack.ts';
import { ResumptionStore } from './resumption-store.ts';
import { SessionActor, type SessionMessage } from './session-actor.ts';
import { UnansweredTurns } from './unanswered-turns.ts';
import { liveOptionsOf, SESSION_FLAGS, type SessionFlags } from './session-flags.ts';
import { defaultToolRegistry, responseScheduling } from './tool-handlers.ts';

const DEFAULT_MODEL = 'gemini-2.5-flash-native-audio-latest';

async function promptOf(flags: SessionFlags, env: NodeJS.ProcessEnv): Promise<RenderedPrompt> {
  try {
    return renderPrompt(await loadPromptPack(flags.pack), flags.prompt, packValues(flags.var, env));
  } catch (err) {
    if (err instanceof PromptPackError) throw new UsageError(`prompt pack ${flags.pack}: ${err.message}`);
    throw err;
  }
}

/** One Gemini Live session per device; the owner of barge-in. */
export const SESSION_SERVICE: ServiceDefinition<SessionFlags, ActorService<SessionMessage>> = {
  name: 'session',
  version: '0.1.0',
  description: 'One Gemini Live session per device',
  flags: SESSION_FLAGS,
  scaleOut: true,
  async configure(flags, env) {
    if (!flags.geminiUrl && !flags.apiKey) throw new UsageError('no model: set GEMINI_API_KEY (or GOOGLE_API_KEY) to use Gemini, or --gemini-url / GEMINI_LIVE_URL for the simulator');
    const prompt = await promptOf(flags, env);
    const model = flags.model ?? prompt.model ?? DEFAULT_MODEL;
    const handles = new Map<string, string>();
    const connects = new Map<string, number>();
    const tools = defaultToolRegistry();
    let handleStore: ResumptionStore | undefined;
    let history: AudioHistory | undefined;
    let unanswered: UnansweredTurns | undefined;
    const live: LiveSettings = {
      model,
      prompt,
      voice: flags.voice,
      turnDetection: flags.turnDetection,
      serverVad: { startSensitivity: flags.startSensitivity, endSensitivity: flags.endSensitivity, prefixPaddingMs: flags.prefixPaddingMs, silenceDurationMs: flags.silenceDurationMs },
      transcripts: flags.transcripts,
      // The pack's Live settings, then the flags.
      options: mergeLiveOptions(prompt.live, liveOptionsOf(flags)),
    };
    // A combination the model rejects stops here (exit 2), not at Google with a 1007.
    let liveWarnings: string[];
    try {
      liveWarnings = validateLiveSettings(model, live).warnings;
    } catch (err) {
      if (err instanceof LiveSettingsError) throw new UsageError(`Live settings (pack ${flags.pack}, prompt ${flags.prompt}, and flags): ${err.message}`);
      throw err;
    }
    return {
      // Resumption handles live in NATS KV so the instance that takes a device over resumes it.
      attach: async (rt) => {
        for (const warning of liveWarnings) rt.log.warn({ model }, warning);
        if (rt.ownership) handleStore = await ResumptionStore.open(rt.bus, rt.log, rt.kvReplicas);
        if (flags.audioHistoryS > 0) history = await AudioHistory.open(rt.bus.nc, rt.log, { maxAgeMs: flags.audioHistoryS * 1000, replicas: rt.kvReplicas });
        // The turns are the vad's (local turn detection), and the turn's audio must be there to send it.
        if (history && flags.turnDetection === 'local') unanswered = await UnansweredTurns.find(rt.bus.nc, rt.log);
      },
      // A session that died left a turn unanswered (it ended while none ran, or before its
      // answer came): its turn.end goes first, and is answered as a turn whose start was missed.
      recover: async () => [...((await unanswered?.find()) ?? [])].map(([deviceId, event]) => ({ deviceId, message: { kind: 'event' as const, event } })),
      actor: (ctx, rt) => new SessionActor(ctx, {
        bus: rt.bus,
        tools,
        toolScheduling: (name) => responseScheduling(prompt.tools, name),
        metrics: rt.telemetry.metrics,
        history,
        // An answer said while NATS is away goes out after it, stored where playback reads it.
        outbox: (deviceId) => new DeviceOutbox(rt.bus, deviceId, ctx.log, { history: ANSWER_HISTORY_STREAM, storedStreams: [STREAMS.audioOut, STREAMS.session], confirmHistory: true }),
        createLiveSession: (port) => new GeminiLiveSession(port, {
          endpoint: { apiKey: flags.apiKey ?? 'simulator', baseUrl: flags.geminiUrl },
          live,
          interruption: flags.interruption,
          onsetReflex: createInterruptionStrategy(flags.interruption).onsetReflex ?? 'none',
          watchdogMs: flags.watchdogMs,
          handles,
          handleStore,
          metrics: rt.telemetry.metrics,
          connects,
        }),
      }, {
        interruption: flags.interruption,
        turnDetection: flags.turnDetection,
        model,
        greeting: flags.greeting,
        autoCompleteMs: flags.autoCompleteMs,
        inactivityMs: flags.inactivityMs,
        traceTranscripts: flags.traceTranscripts,
      }),
      // Speech facts, what the user hears, turn starts and control overtake queued audio:
      // barge-in must not wait behind it. A turn's end does not: the model must get all of the
      // turn's audio before activityEnd, and that audio may still be queued.
      routes: (on) => [
        on.audio('audio.in', (chunk) => ({ kind: 'audio', chunk })),
        on.events(STREAMS.vad, (event) => ({ kind: 'event', event }), { priority: true }),
        // A pause or a resume does not either: each is in order with the turn's audio and end.
        on.events(STREAMS.turn, (event) => ({ kind: 'event', event }), { priority: (event) => event.type === 'turn.start' || event.type === 'turn.latency', traced: true }),
        on.events(STREAMS.control, (event) => ({ kind: 'event', event }), { priority: true, traced: true }),
        on.events(STREAMS.capture, (event) => ({ kind: 'event', event })),
        on.events(STREAMS.playback, (event) => ({ kind: 'event', event }), { priority: true }),
      ],
      stats: () => ({ model, interruption: flags.interruption, turnDetection: flags.turnDetection, connects: Object.fromEntries(connects) }),
      summary: { model, pack: flags.pack, prompt: flags.prompt, gemini: flags.geminiUrl ?? 'google' },
    };
  },
};

export const runSessionService = (argv?: readonly string[], env?: NodeJS.ProcessEnv) => runService(SESSION_SERVICE, argv, env);
