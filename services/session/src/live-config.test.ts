import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setDefaultBaseUrls } from '@google/genai';
import { parseFlags, UsageError } from '@voicebus/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGenaiSocket } from './gemini-live-session.ts';
import { LIVE_OPTION_DEFAULTS, liveConfig, LiveSettingsError, mergeLiveOptions, validateLiveSettings, type LiveOptions, type LiveSettings } from './live-config.ts';
import { loadPromptPack, renderPrompt, type RenderedPrompt, type ToolDeclaration } from './prompt-pack.ts';
import { liveOptionsOf, SESSION_FLAGS } from './session-flags.ts';
import { SESSION_SERVICE } from './session-service.ts';
import { responseScheduling } from './tool-handlers.ts';

const NATIVE_AUDIO = 'gemini-2.5-flash-native-audio-latest';

function prompt(tools: Partial<ToolDeclaration>[] = []): RenderedPrompt {
  return {
    packId: 'p', promptId: 'voice', systemInstruction: 'You are a test.', model: undefined, voice: 'Puck', live: {},
    tools: tools.map((t, i) => ({ name: `tool_${i}`, description: 'd', parameters: { type: 'object', properties: {} }, ...t })),
  };
}

function settings(options: Partial<LiveOptions> = {}, over: Partial<LiveSettings> = {}): LiveSettings {
  return {
    model: NATIVE_AUDIO, prompt: prompt(), voice: undefined, turnDetection: 'server', transcripts: true,
    serverVad: { startSensitivity: undefined, endSensitivity: undefined, prefixPaddingMs: undefined, silenceDurationMs: undefined },
    options: mergeLiveOptions(options), ...over,
  };
}

/** The problems `validateLiveSettings` refuses, or [] when it accepts. */
function problemsOf(model: string, s: LiveSettings): string[] {
  try {
    validateLiveSettings(model, s);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(LiveSettingsError);
    return (err as LiveSettingsError).problems;
  }
}

describe('liveConfig', () => {
  it('sends nothing new when no Live setting is set (compression on, Gemini\'s thresholds)', () => {
    const c = liveConfig(settings(), undefined);
    for (const key of ['thinkingConfig', 'enableAffectiveDialog', 'proactivity']) expect(c).not.toHaveProperty(key);
    expect(c.speechConfig).toEqual({ voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Puck' } } });
    expect(c.realtimeInputConfig).toEqual({ automaticActivityDetection: { disabled: false } });
    expect(c.contextWindowCompression).toEqual({ slidingWindow: {} });
    expect(c.tools).toBeUndefined();
    expect(c.sessionResumption).toEqual({});
  });

  it('maps every Live setting to the field the SDK sends', () => {
    const c = liveConfig(settings({
      activityHandling: 'NO_INTERRUPTION' as LiveOptions['activityHandling'],
      turnCoverage: 'TURN_INCLUDES_ALL_INPUT' as LiveOptions['turnCoverage'],
      thinkingBudget: 512, includeThoughts: true, proactiveAudio: true, affectiveDialog: false, languageCode: 'de-DE',
      compressionTriggerTokens: 100_000, compressionTargetTokens: 40_000, googleSearch: true,
    }, { prompt: prompt([{ behavior: 'NON_BLOCKING', scheduling: 'SILENT' }]) }), 'handle-1');
    expect(c).toMatchObject({
      speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Puck' } }, languageCode: 'de-DE' },
      thinkingConfig: { thinkingBudget: 512, includeThoughts: true },
      enableAffectiveDialog: false,
      proactivity: { proactiveAudio: true },
      realtimeInputConfig: { automaticActivityDetection: { disabled: false }, activityHandling: 'NO_INTERRUPTION', turnCoverage: 'TURN_INCLUDES_ALL_INPUT' },
      contextWindowCompression: { triggerTokens: '100000', slidingWindow: { targetTokens: '40000' } },
      sessionResumption: { handle: 'handle-1' },
    });
    // The declaration carries behavior; scheduling belongs to the response, never to the declaration.
    expect(c.tools).toEqual([
      { functionDeclarations: [{ name: 'tool_0', description: 'd', parametersJsonSchema: { type: 'object', properties: {} }, behavior: 'NON_BLOCKING' }] },
      { googleSearch: {} },
    ]);
  });

  it('keeps local turn detection\'s manual activity signals with the other realtime settings', () => {
    const c = liveConfig(settings({ turnCoverage: 'TURN_INCLUDES_ONLY_ACTIVITY' as LiveOptions['turnCoverage'] }, { turnDetection: 'local' }), undefined);
    expect(c.realtimeInputConfig).toEqual({ automaticActivityDetection: { disabled: true }, turnCoverage: 'TURN_INCLUDES_ONLY_ACTIVITY' });
  });

  it('layers defaults, then the pack, then flags (a flag can turn a pack\'s switch off)', () => {
    const merged = mergeLiveOptions({ proactiveAudio: true, thinkingBudget: 100, languageCode: 'fr-FR' }, { proactiveAudio: false, thinkingBudget: undefined });
    expect(merged).toEqual({ ...LIVE_OPTION_DEFAULTS, proactiveAudio: false, thinkingBudget: 100, languageCode: 'fr-FR' });
  });
});

describe('validateLiveSettings', () => {
  const NO_INTERRUPTION = 'NO_INTERRUPTION' as LiveOptions['activityHandling'];
  it.each([
    ['thinking on gemini-3.8-live', 'gemini-3.8-live', settings({ thinkingBudget: 256 }), /omit thinkingConfig/],
    ['include thoughts on gemini-3.8-live', 'gemini-3.8-live', settings({ includeThoughts: true }), /omit thinkingConfig/],
    ['proactive audio off on gemini-3.8-live', 'gemini-3.8-live', settings({ proactiveAudio: false }), /always on/],
    ['affective dialog on gemini-3.8-live', 'models/gemini-3.8-live', settings({ affectiveDialog: true }), /affective dialog/],
    ['thinkingBudget on gemini-3.1-flash-live-preview', 'gemini-3.1-flash-live-preview', settings({ thinkingBudget: 256 }), /omit thinkingConfig/],
    ['proactive audio on gemini-3.1-flash-live-preview', 'gemini-3.1-flash-live-preview', settings({ proactiveAudio: true }), /proactive audio/],
    ['affective dialog on gemini-3.1-flash-live-preview', 'gemini-3.1-flash-live-preview', settings({ affectiveDialog: true }), /affective dialog/],
    ['a NON_BLOCKING tool on gemini-3.1-flash-live-preview', 'gemini-3.1-flash-live-preview', settings({}, { prompt: prompt([{ behavior: 'NON_BLOCKING' }]) }), /tool tool_0: .*synchronous/],
    ['a negative thinking budget', NATIVE_AUDIO, settings({ thinkingBudget: -2 }), /thinkingBudget -2/],
    ['thoughts with thinking off', NATIVE_AUDIO, settings({ thinkingBudget: 0, includeThoughts: true }), /thinking is off/],
    ['a target at the trigger', NATIVE_AUDIO, settings({ compressionTriggerTokens: 50_000, compressionTargetTokens: 50_000 }), /must be below/],
    ['a target above the trigger', NATIVE_AUDIO, settings({ compressionTriggerTokens: 50_000, compressionTargetTokens: 60_000 }), /must be below/],
    ['zero trigger tokens', NATIVE_AUDIO, settings({ compressionTriggerTokens: 0 }), /positive/],
    ['NO_INTERRUPTION with local turn detection', NATIVE_AUDIO, settings({ activityHandling: NO_INTERRUPTION }, { turnDetection: 'local' }), /--interruption ignore/],
    ['a bad language code', NATIVE_AUDIO, settings({ languageCode: 'German' }), /BCP-47/],
    ['scheduling on a BLOCKING tool', NATIVE_AUDIO, settings({}, { prompt: prompt([{ behavior: 'BLOCKING', scheduling: 'INTERRUPT' }]) }), /only to NON_BLOCKING/],
  ])('refuses %s', (_what, model, s, message) => {
    const problems = problemsOf(model, s);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('reports every problem at once, naming the model', () => {
    expect(() => validateLiveSettings('gemini-3.8-live', settings({ thinkingBudget: 1, affectiveDialog: true, proactiveAudio: false }))).toThrow(/^model gemini-3\.8-live: .*thinking.*; .*affective.*; .*proactive/);
  });

  it.each([
    ['everything on a native-audio model', NATIVE_AUDIO, settings({ thinkingBudget: -1, includeThoughts: true, proactiveAudio: true, affectiveDialog: true, activityHandling: NO_INTERRUPTION, googleSearch: true, languageCode: 'en-US', compressionTriggerTokens: 20_000, compressionTargetTokens: 10_000 }, { prompt: prompt([{ behavior: 'NON_BLOCKING', scheduling: 'WHEN_IDLE' }]) })],
    ['proactive audio on, NON_BLOCKING tools and search on gemini-3.8-live', 'gemini-3.8-live', settings({ proactiveAudio: true, googleSearch: true, activityHandling: NO_INTERRUPTION }, { prompt: prompt([{ scheduling: 'INTERRUPT' }, { behavior: 'BLOCKING' }]) })],
    ['the default settings on the legacy model', 'gemini-3.1-flash-live-preview', settings({ googleSearch: true }, { turnDetection: 'local' })],
  ])('accepts %s without warnings', (_what, model, s) => {
    expect(validateLiveSettings(model, s)).toEqual({ warnings: [] });
  });

  it('lets an unknown model through with a warning, still applying the model-independent rules', () => {
    const s = settings({ thinkingBudget: 64, affectiveDialog: true, proactiveAudio: false });
    expect(validateLiveSettings('gemini-9-live', s).warnings).toEqual([expect.stringContaining('gemini-9-live is not one this session knows')]);
    expect(problemsOf('gemini-9-live', settings({ compressionTriggerTokens: 10, compressionTargetTokens: 20 }))).toHaveLength(1);
  });

  it('warns about a scheduling the model ignores (its calls block unless the tool is NON_BLOCKING)', () => {
    expect(validateLiveSettings(NATIVE_AUDIO, settings({}, { prompt: prompt([{ scheduling: 'SILENT' }]) })).warnings).toEqual([expect.stringMatching(/tool tool_0: scheduling SILENT is ignored/)]);
  });
});

describe('Live settings from flags and the environment', () => {
  const flags = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseFlags('session', '', SESSION_FLAGS, argv, env).values;

  it('names each flag after its option, GEMINI_* in the environment; unset flags leave the pack\'s value', () => {
    expect(liveOptionsOf(flags([]))).toEqual(Object.fromEntries(Object.keys(LIVE_OPTION_DEFAULTS).map((k) => [k, undefined])));
    expect(liveOptionsOf(flags([
      '--activity-handling', 'NO_INTERRUPTION', '--turn-coverage', 'TURN_INCLUDES_ONLY_ACTIVITY', '--thinking-budget', '-1', '--include-thoughts', 'true',
      '--proactive-audio', 'false', '--affective-dialog', 'true', '--language-code', 'it-IT', '--compression-trigger-tokens', '90000', '--compression-target-tokens', '30000', '--google-search', 'true',
    ]))).toEqual({
      activityHandling: 'NO_INTERRUPTION', turnCoverage: 'TURN_INCLUDES_ONLY_ACTIVITY', thinkingBudget: -1, includeThoughts: true, proactiveAudio: false, affectiveDialog: true,
      languageCode: 'it-IT', compressionTriggerTokens: 90000, compressionTargetTokens: 30000, googleSearch: true,
    });
    expect(liveOptionsOf(flags([], { GEMINI_PROACTIVE_AUDIO: 'false', GEMINI_THINKING_BUDGET: '0', GEMINI_ACTIVITY_HANDLING: 'START_OF_ACTIVITY_INTERRUPTS', GEMINI_GOOGLE_SEARCH: 'true' }))).toMatchObject({ proactiveAudio: false, thinkingBudget: 0, activityHandling: 'START_OF_ACTIVITY_INTERRUPTS', googleSearch: true });
    expect(() => flags(['--thinking-budget', '-2'])).toThrow(/--thinking-budget/);
    expect(() => flags([], { GEMINI_AFFECTIVE_DIALOG: 'maybe' })).toThrow(/GEMINI_AFFECTIVE_DIALOG/);
  });

  it('makes a combination the model rejects a usage error of the service, before it connects', async () => {
    const sim = ['--gemini-url', 'http://127.0.0.1:9'];
    const configure = (argv: string[]) => {
      const parsed = parseFlags('session', '', SESSION_FLAGS, argv, {});
      return SESSION_SERVICE.configure(parsed.values as Parameters<typeof SESSION_SERVICE.configure>[0], {}, parsed.sourceOf);
    };
    await expect(configure([...sim, '--model', 'gemini-3.8-live', '--thinking-budget', '256'])).rejects.toThrow(UsageError);
    await expect(configure([...sim, '--model', 'gemini-3.8-live', '--proactive-audio', 'false'])).rejects.toThrow(/gemini-3\.8-live: .*proactive audio always on/);
    await expect(configure([...sim, '--activity-handling', 'NO_INTERRUPTION'])).rejects.toThrow(/local turn detection/);
    await expect(configure([...sim, '--activity-handling', 'NO_INTERRUPTION', '--turn-detection', 'server'])).resolves.toBeDefined();
  });
});

describe('responseScheduling', () => {
  const tools = prompt([{ behavior: 'NON_BLOCKING', scheduling: 'INTERRUPT' }, { behavior: 'BLOCKING', scheduling: 'SILENT' }, { scheduling: 'WHEN_IDLE' }, {}]).tools;
  it('gives the declared scheduling of a tool\'s response, never one for a BLOCKING tool', () => {
    expect(tools.map((t) => responseScheduling(tools, t.name))).toEqual(['INTERRUPT', undefined, 'WHEN_IDLE', undefined]);
    expect(responseScheduling(tools, 'unknown')).toBeUndefined();
    expect(responseScheduling(tools, undefined)).toBeUndefined();
  });
});

// --- On the wire -------------------------------------------------------------------------

/** The `ws` package the SDK itself uses (not a dependency of this package). */
interface WsSocket { once(event: 'message', fn: (data: Buffer) => void): void; send(data: Buffer): void; close(): void }
interface WsServer { clients: Set<{ terminate(): void }>; on(event: 'connection', fn: (socket: WsSocket, request: { url?: string }) => void): void; once(event: 'listening', fn: () => void): void; address(): { port: number }; close(fn: () => void): void }
const { WebSocketServer } = createRequire(createRequire(import.meta.url).resolve('@google/genai'))('ws') as { WebSocketServer: new (o: { host: string; port: number }) => WsServer };

/** What the SDK sends first on a socket: the URL it opened and its first frame, as JSON. */
interface Captured { url: string; frame: Record<string, unknown> }

/**
 * Where the Live API reference (BidiGenerateContentSetup and the messages under it) documents
 * a field the session may send; `*` is any array element. Below `parametersJsonSchema` is the
 * tool's own JSON Schema.
 */
const DOCUMENTED = [
  'setup.model',
  'setup.generationConfig.responseModalities',
  ...['temperature', 'topP', 'topK', 'maxOutputTokens', 'enableAffectiveDialog'].map((f) => `setup.generationConfig.${f}`),
  'setup.generationConfig.speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName',
  'setup.generationConfig.speechConfig.languageCode',
  'setup.generationConfig.thinkingConfig.thinkingBudget',
  'setup.generationConfig.thinkingConfig.includeThoughts',
  'setup.systemInstruction.role',
  'setup.systemInstruction.parts.*.text',
  ...['name', 'description', 'parametersJsonSchema', 'behavior'].map((f) => `setup.tools.*.functionDeclarations.*.${f}`),
  'setup.tools.*.googleSearch',
  ...['disabled', 'startOfSpeechSensitivity', 'endOfSpeechSensitivity', 'prefixPaddingMs', 'silenceDurationMs'].map((f) => `setup.realtimeInputConfig.automaticActivityDetection.${f}`),
  'setup.realtimeInputConfig.activityHandling',
  'setup.realtimeInputConfig.turnCoverage',
  'setup.sessionResumption.handle',
  'setup.contextWindowCompression.triggerTokens',
  'setup.contextWindowCompression.slidingWindow.targetTokens',
  'setup.inputAudioTranscription',
  'setup.outputAudioTranscription',
  'setup.proactivity.proactiveAudio',
];

/** Every path to a leaf (or an empty object, which is a setting too) in a frame. */
function paths(value: unknown, at = ''): string[] {
  if (at.endsWith('.parametersJsonSchema')) return [at];
  // A list of values (responseModalities) is one field; a list of messages (tools) is not.
  if (Array.isArray(value)) return value.every((v) => v && typeof v === 'object') ? value.flatMap((v) => paths(v, `${at}.*`)) : [at];
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length ? entries.flatMap(([k, v]) => paths(v, at ? `${at}.${k}` : k)) : [at];
  }
  return [at];
}

describe('the setup on the wire (real @google/genai, a local WebSocket server)', () => {
  let server: WsServer;
  let base: string;
  const captured: Captured[] = [];
  let defaults: RenderedPrompt;

  beforeAll(async () => {
    defaults = renderPrompt(await loadPromptPack(join(import.meta.dirname, '..', 'assistant.pack.json')), 'voice', {});
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${server.address().port}`;
    server.on('connection', (socket, request) => socket.once('message', (data) => {
      captured.push({ url: request.url ?? '', frame: JSON.parse(data.toString()) as Record<string, unknown> });
      // The real server answers in a binary frame; connect() resolves on it.
      socket.send(Buffer.from(JSON.stringify({ setupComplete: {} })));
    }));
  });
  afterAll(async () => {
    setDefaultBaseUrls({});
    // A socket the SDK left open after a failed setup would keep the server from closing.
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /**
   * Opens a session as the service does. `google`: with an API key and no base URL, the path
   * users take to Google; only the SDK's default Gemini URL points here, so nothing in the
   * session's code knows. Otherwise: with a base URL, the path to a simulator.
   */
  async function setupOf(s: LiveSettings, google: boolean, handle?: string): Promise<Captured> {
    setDefaultBaseUrls(google ? { geminiUrl: base } : {});
    const before = captured.length;
    const socket = await openGenaiSocket({ apiKey: 'test-key', baseUrl: google ? undefined : base }, s, handle, { onmessage: () => {}, onclose: () => {}, onerror: () => {} });
    socket.close();
    setDefaultBaseUrls({});
    expect(captured.length).toBe(before + 1);
    return captured.at(-1)!;
  }

  const shipped = (options: Partial<LiveOptions> = {}, over: Partial<LiveSettings> = {}) => settings(options, { model: defaults.model!, prompt: defaults, turnDetection: 'local', ...over });

  it('sends the shipped pack\'s setup to Google as before: only documented fields, no resumption options', async () => {
    const { url, frame } = await setupOf(shipped(), true);
    // The SDK joins its base URL (with its trailing slash) and the path: `//ws/...`, to Google too.
    expect(url.replace(/^\/+/, '/')).toBe('/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=test-key');
    expect(frame).toEqual({
      setup: {
        model: 'models/gemini-2.5-flash-native-audio-latest',
        generationConfig: { responseModalities: ['AUDIO'], temperature: 0.7, maxOutputTokens: 512, speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Puck' } } } },
        systemInstruction: { parts: [{ text: defaults.systemInstruction }], role: 'user' },
        tools: [{ functionDeclarations: [{ name: 'get_current_time', description: defaults.tools[0]!.description, parametersJsonSchema: { type: 'object', properties: {}, required: [] } }] }],
        realtimeInputConfig: { automaticActivityDetection: { disabled: true } },
        sessionResumption: {},
        contextWindowCompression: { slidingWindow: {} },
        inputAudioTranscription: {},
        outputAudioTranscription: {},
      },
    });
    const undocumented = paths(frame).filter((p) => !DOCUMENTED.includes(p) && !['setup.sessionResumption', 'setup.contextWindowCompression.slidingWindow'].includes(p));
    expect(undocumented).toEqual([]);
  });

  it('sends every Live setting where the API documents it, and nothing else', async () => {
    const all = shipped({
      activityHandling: 'NO_INTERRUPTION' as LiveOptions['activityHandling'], turnCoverage: 'TURN_INCLUDES_ALL_INPUT' as LiveOptions['turnCoverage'],
      thinkingBudget: 128, includeThoughts: false, proactiveAudio: true, affectiveDialog: true, languageCode: 'en-US',
      compressionTriggerTokens: 64_000, compressionTargetTokens: 32_000, googleSearch: true,
    }, { turnDetection: 'server', serverVad: { startSensitivity: 'low', endSensitivity: 'high', prefixPaddingMs: 100, silenceDurationMs: 700 }, prompt: { ...defaults, tools: defaults.tools.map((t) => ({ ...t, behavior: 'NON_BLOCKING' as const, scheduling: 'WHEN_IDLE' as const })) } });
    expect(validateLiveSettings(all.model, all).warnings).toEqual([]);
    const { frame } = await setupOf(all, true, 'h-1');
    const sent = paths(frame);
    expect(sent.filter((p) => !DOCUMENTED.includes(p))).toEqual([]);
    // Each setting made it (none was dropped by the SDK on the way).
    expect(DOCUMENTED.filter((p) => !sent.includes(p))).toEqual(['setup.generationConfig.topP', 'setup.generationConfig.topK']);
    expect(frame).toMatchObject({ setup: { sessionResumption: { handle: 'h-1' }, contextWindowCompression: { triggerTokens: '64000', slidingWindow: { targetTokens: '32000' } } } });
  });

  it('sends the simulator exactly what it sends Google: nothing simulator-only depends on the endpoint', async () => {
    for (const s of [shipped(), shipped({ googleSearch: true, thinkingBudget: 0 }, { turnDetection: 'server' })]) {
      const google = await setupOf(s, true, 'h-2');
      const simulator = await setupOf(s, false, 'h-2');
      expect(simulator.frame).toEqual(google.frame);
      expect(simulator.url).toBe(google.url);
    }
  });
});
