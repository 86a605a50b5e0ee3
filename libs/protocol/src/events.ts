import { z } from 'zod';
import { DEVICE_ID_PATTERN, STREAMS, type Stream } from './subjects.ts';

/**
 * Event schemas. Every event is JSON with `v` (contract version), `type` (the discriminator),
 * `deviceId` and `ts` (epoch ms at emission). Timestamps on the audio's own timeline are epoch
 * microseconds and end in `Us`; wall-clock instants end in `At` (epoch ms); durations end in `Ms`.
 * Types are inferred from these schemas, never written twice.
 */
export const EVENT_VERSION = 1 as const;

/**
 * What user speech does to an answer in progress. The session owns the choice and all of its
 * semantics; other services only see the commands and facts that follow from it.
 */
export const INTERRUPTION_STRATEGIES = ['immediate', 'pause', 'deferred', 'ignore'] as const;
export type InterruptionStrategy = (typeof INTERRUPTION_STRATEGIES)[number];
/** Who decides that the user's turn is over: the VAD service, or Gemini's own detection. */
export const TURN_DETECTION_MODES = ['local', 'server'] as const;
export type TurnDetectionMode = (typeof TURN_DETECTION_MODES)[number];
/**
 * How the VAD decides that a user turn ended (local turn detection): `fixed`, a set silence;
 * `adaptive`, a silence that follows the pauses this device's user makes; `speculative`, the
 * fixed silence, and before it a `turn.pause` after a short one, on which the session lets
 * the model start while playback holds the answer until `turn.end` confirms.
 */
export const ENDPOINTING_MODES = ['fixed', 'adaptive', 'speculative'] as const;
export type EndpointingMode = (typeof ENDPOINTING_MODES)[number];

const deviceId = z.string().regex(DEVICE_ID_PATTERN);
const turnId = z.string().min(1).max(128);
const epochUs = z.number().int().nonnegative();
const epochMs = z.number().nonnegative();
const ms = z.number().finite();
const text = z.string().max(64_000);

const base = {
  v: z.literal(EVENT_VERSION),
  deviceId,
  ts: epochMs,
  /** Lease revision of the publishing instance; consumers drop events from a stale owner. */
  lease: z.number().int().nonnegative().optional(),
};

function event<T extends string, S extends z.ZodRawShape>(type: T, shape: S) {
  return z.object({ type: z.literal(type), ...base, ...shape });
}

// capture: which devices are attached, and when their audio ends
export const DeviceAnnounced = event('device.announced', {
  source: z.string().max(512),
  sampleRate: z.number().int().positive(),
  channels: z.number().int().min(1).max(2),
  chunkMs: z.number().positive(),
  startedAt: epochMs,
  /** Capture timestamp of the first chunk of this run: the conversation timeline's origin. */
  firstCaptureTsUs: epochUs,
  /**
   * Who plays the assistant's audio: the playback service (`service`, the default) or the
   * device itself (`device`: a browser), which then publishes the playback events.
   */
  playout: z.enum(['service', 'device']).optional(),
});
export const DeviceEnded = event('device.ended', {
  reason: z.enum(['end-of-stream', 'stopped', 'error']),
  lastSeq: z.number().int().min(-1),
  lastCaptureTsUs: epochUs,
  message: z.string().max(2000).optional(),
});

// vad: facts about the user's voice, stamped with the audio's own capture time
/** First voiced frame of a possible speech segment, before it is confirmed as speech. */
export const SpeechOnset = event('speech.onset', {
  atUs: epochUs,
  decidedAt: epochMs,
});
/** The possible segment that began with the last onset ended before it was confirmed. */
export const SpeechMisfire = event('speech.misfire', {
  atUs: epochUs,
  decidedAt: epochMs,
});
/** Confirmed speech (it lasted the detector's minimum speech duration). */
export const SpeechStarted = event('speech.start', {
  /** Capture time of the first voiced audio (pre-speech padding excluded). */
  speechStartUs: epochUs,
  decidedAt: epochMs,
  inferenceMs: ms,
});
/** Voiced speech has gone on for `sustainedMs` since its onset (once per segment). */
export const SpeechSustained = event('speech.sustained', {
  speechStartUs: epochUs,
  /** Capture time of the voiced frame that reached the duration. */
  atUs: epochUs,
  sustainedMs: ms,
  decidedAt: epochMs,
});
export const SpeechEnded = event('speech.end', {
  speechStartUs: epochUs,
  /** Capture time of the last voiced audio, not the time the decision was made. */
  speechEndUs: epochUs,
  decidedAt: epochMs,
  inferenceMs: ms,
});

// turn: user turns, after end-of-turn silence
export const TurnStarted = event('turn.start', {
  turnId,
  speechStartUs: epochUs,
  decidedAt: epochMs,
  /** True when the assistant was audible when this turn started (a barge-in candidate). */
  duringAssistant: z.boolean().optional(),
});
export const TurnEnded = event('turn.end', {
  turnId,
  speechStartUs: epochUs,
  speechEndUs: epochUs,
  decidedAt: epochMs,
  /** Decision time minus the last voiced audio's capture time. */
  endOfTurnDelayMs: ms,
  reason: z.enum(['silence', 'end-of-stream']).optional(),
  /**
   * How `speechEndUs` was found: `energy`, the last audio above the device's noise floor;
   * `vad`, the VAD model's last voiced frame (it trails the voice by 60-330 ms).
   */
  speechEndSource: z.enum(['energy', 'vad']).optional(),
});
/**
 * Speculative endpointing: the user has been silent `silenceMs` since `speechEndUs`; the turn
 * may be over (the session may start the answer now, held until `turn.end`).
 */
export const TurnPaused = event('turn.pause', {
  turnId,
  speechEndUs: epochUs,
  silenceMs: ms,
  decidedAt: epochMs,
});
/** Speech again after a `turn.pause`: the turn goes on (a speculative answer is withdrawn). */
export const TurnResumed = event('turn.resume', {
  turnId,
  atUs: epochUs,
  decidedAt: epochMs,
});
/** Per-turn latency breakdown; the four parts add up to voiceToVoiceMs. */
export const TurnLatency = event('turn.latency', {
  turnId,
  speechStartUs: epochUs,
  speechEndUs: epochUs,
  endOfTurnDelayMs: ms,
  busMs: ms,
  modelFirstAudioMs: ms,
  playbackBufferMs: ms,
  voiceToVoiceMs: ms,
  interrupted: z.boolean(),
});

// session: the model side of the conversation
export const SessionOpened = event('session.opened', {
  model: z.string(),
  resumed: z.boolean(),
  turnDetection: z.enum(TURN_DETECTION_MODES),
  interruption: z.enum(INTERRUPTION_STRATEGIES),
  /**
   * The fast command the session asks the VAD to send by itself at a speech onset while the
   * assistant is audible (one bus hop sooner than the session could); the session still
   * decides everything else.
   */
  onsetReflex: z.enum(['interrupt', 'none']).optional(),
  /** A reconnect: how long the device was without a session (lost → open again). */
  gapMs: ms.optional(),
});
export const SessionClosed = event('session.closed', {
  code: z.number().int().optional(),
  reason: z.string().max(2000),
});
export const SessionError = event('session.error', {
  code: z.number().int().optional(),
  kind: z.enum(['config', 'transient', 'watchdog', 'internal']),
  message: z.string().max(2000),
  retrying: z.boolean(),
});
export const SessionReconnecting = event('session.reconnecting', {
  cause: z.enum(['go-away', 'closed', 'watchdog']),
  attempt: z.number().int().nonnegative(),
  withHandle: z.boolean(),
});
export const TranscriptEvent = event('transcript', {
  role: z.enum(['user', 'assistant']),
  text,
  final: z.boolean(),
  turnId: turnId.optional(),
});
export const AssistantTurnStarted = event('assistant.turn.start', { turnId });
export const AssistantFirstAudio = event('assistant.audio.first', {
  turnId,
  /** Wall time the user's turn was handed to the model (activityEnd or server end of turn). */
  requestedAt: epochMs,
  /** First model audio received minus requestedAt. */
  modelFirstAudioMs: ms,
});
export const AssistantGenerationComplete = event('assistant.generation.complete', { turnId });
export const AssistantTurnComplete = event('assistant.turn.complete', {
  turnId,
  interrupted: z.boolean(),
  autoCompleted: z.boolean().optional(),
  /** The model ended its turn without answering: it waits for the user to go on (thinking models). */
  waitingForInput: z.boolean().optional(),
  audioMs: ms,
});
export const AssistantInterrupted = event('assistant.interrupted', {
  turnId,
  /** Who decided: the model's own `interrupted`, or the local strategy. */
  by: z.enum(['model', 'local']),
});
/**
 * A user turn that gets no answer of its own: never sent to the model (a false interruption,
 * no session), or `continued`: the user spoke again before any answer, and the next turn's
 * answer answers both (the model hears them as one).
 */
/**
 * The session acted on a `turn.pause`: `started` (the model answers, playback holds it),
 * then `confirmed` (the turn ended: the answer plays) or `withdrawn` (the user went on: the
 * held answer is dropped unheard and the turn continues).
 */
export const AssistantSpeculation = event('assistant.speculation', {
  turnId,
  outcome: z.enum(['started', 'confirmed', 'withdrawn']),
});
export const UserTurnDropped = event('user.turn.dropped', {
  turnId,
  /**
   * `missed-start`: the turn ended at a session that never saw it start (it restarted, or took
   * the device over, in the middle of the turn) and so does not have its audio.
   */
  reason: z.enum(['false-interruption', 'no-session', 'continued', 'missed-start']),
});
export const UsageEvent = event('usage', {
  turnId: turnId.optional(),
  promptTokens: z.number().int().nonnegative().optional(),
  responseTokens: z.number().int().nonnegative().optional(),
  totalTokens: z.number().int().nonnegative().optional(),
});

// playback: what the user actually heard
export const PlaybackStarted = event('playback.started', {
  turnId,
  /** Wall-clock time the first audible sample of the turn reached the sink. */
  playedAt: epochMs,
  /** First audio received by playback to first sample played. */
  bufferMs: ms,
  /**
   * Said by a device that plays for itself (a browser), not by the playback service: a
   * playback that restarts learns from it not to play this device's answers itself.
   */
  playout: z.literal('device').optional(),
});
export const PlaybackFinished = event('playback.finished', {
  turnId,
  playedMs: ms,
  /**
   * This playback never saw the answer start (it was restarted while the answer played): it
   * played the rest, and no `turn.latency` follows for the turn.
   */
  unmeasured: z.boolean().optional(),
});
/**
 * Whether the device's user hears the assistant: the one source of that fact, published by
 * playback on every change. `audible` from the first sample handed to the sink until the
 * answer finished or was flushed; `paused` while an answer is on hold (not audible, not over).
 */
export const AssistantAudible = event('assistant.audible', {
  turnId: turnId.optional(),
  audible: z.boolean(),
  paused: z.boolean(),
  /** Wall-clock time of the change at the sink. */
  at: epochMs,
});
export const PlaybackFlushed = event('playback.flushed', {
  turnId: turnId.optional(),
  droppedMs: ms,
  /** As for playback.finished: the rest of an answer this playback never saw start was heard in part, and no `turn.latency` follows. */
  unmeasured: z.boolean().optional(),
});
export const PlaybackUnderrun = event('playback.underrun', { turnId: turnId.optional(), silenceMs: ms });
export const PlaybackPaused = event('playback.paused', { turnId: turnId.optional() });
export const PlaybackResumed = event('playback.resumed', { turnId: turnId.optional() });

// control: outranks audio, so it has a subject of its own
export const InterruptCommand = event('control.interrupt', {
  /** The assistant turn being interrupted. */
  turnId: turnId.optional(),
  /** The user turn that interrupts. */
  byTurnId: turnId.optional(),
  reason: z.string().max(200).optional(),
});
export const FlushCommand = event('control.flush', {
  turnId: turnId.optional(),
  reason: z.string().max(200),
  /** `now` (default), or at the next pause the user hears in the answer (or its end). */
  at: z.enum(['now', 'pause']).optional(),
});
export const PauseCommand = event('control.pause', { turnId: turnId.optional() });
export const ResumeCommand = event('control.resume', { turnId: turnId.optional() });

export const CaptureEvent = z.discriminatedUnion('type', [DeviceAnnounced, DeviceEnded]);
export const VadEvent = z.discriminatedUnion('type', [SpeechOnset, SpeechMisfire, SpeechStarted, SpeechSustained, SpeechEnded]);
export const TurnEvent = z.discriminatedUnion('type', [TurnStarted, TurnPaused, TurnResumed, TurnEnded, TurnLatency]);
export const SessionEvent = z.discriminatedUnion('type', [
  SessionOpened,
  SessionClosed,
  SessionError,
  SessionReconnecting,
  TranscriptEvent,
  AssistantTurnStarted,
  AssistantFirstAudio,
  AssistantGenerationComplete,
  AssistantTurnComplete,
  AssistantInterrupted,
  AssistantSpeculation,
  UserTurnDropped,
  UsageEvent,
]);
export const PlaybackEvent = z.discriminatedUnion('type', [
  PlaybackStarted,
  PlaybackFinished,
  AssistantAudible,
  PlaybackFlushed,
  PlaybackUnderrun,
  PlaybackPaused,
  PlaybackResumed,
]);
export const ControlEvent = z.discriminatedUnion('type', [InterruptCommand, FlushCommand, PauseCommand, ResumeCommand]);

export const VoiceEvent = z.discriminatedUnion('type', [
  ...CaptureEvent.options,
  ...VadEvent.options,
  ...TurnEvent.options,
  ...SessionEvent.options,
  ...PlaybackEvent.options,
  ...ControlEvent.options,
]);

export type CaptureEvent = z.infer<typeof CaptureEvent>;
export type VadEvent = z.infer<typeof VadEvent>;
export type TurnEvent = z.infer<typeof TurnEvent>;
export type SessionEvent = z.infer<typeof SessionEvent>;
export type PlaybackEvent = z.infer<typeof PlaybackEvent>;
export type ControlEvent = z.infer<typeof ControlEvent>;
export type VoiceEvent = z.infer<typeof VoiceEvent>;
export type VoiceEventType = VoiceEvent['type'];
export type EventOf<T extends VoiceEventType> = Extract<VoiceEvent, { type: T }>;

/** Which stream each event family travels on. Audio streams carry no JSON events. */
export const EVENT_SCHEMAS_BY_STREAM = {
  [STREAMS.capture]: CaptureEvent,
  [STREAMS.vad]: VadEvent,
  [STREAMS.turn]: TurnEvent,
  [STREAMS.session]: SessionEvent,
  [STREAMS.playback]: PlaybackEvent,
  [STREAMS.control]: ControlEvent,
} as const;
export type EventStream = keyof typeof EVENT_SCHEMAS_BY_STREAM;
export type EventOnStream<S extends EventStream> = z.infer<(typeof EVENT_SCHEMAS_BY_STREAM)[S]>;

const STREAM_OF_TYPE = new Map<string, EventStream>();
for (const [stream, schema] of Object.entries(EVENT_SCHEMAS_BY_STREAM)) {
  for (const option of schema.options) STREAM_OF_TYPE.set(option.shape.type.value, stream as EventStream);
}

/** The stream an event type belongs on. */
export function streamOfEvent(type: VoiceEventType): EventStream {
  return STREAM_OF_TYPE.get(type)!;
}

export function isEventStream(stream: Stream): stream is EventStream {
  return stream in EVENT_SCHEMAS_BY_STREAM;
}

type EventFields<T extends VoiceEventType> = Omit<EventOf<T>, 'v' | 'type' | 'ts'> & { ts?: number };

/** The one factory for every event: fills `v`, `type` and `ts`. */
export function makeEvent<T extends VoiceEventType>(type: T, fields: EventFields<T>): EventOf<T> {
  return { v: EVENT_VERSION, type, ts: Date.now(), ...fields } as unknown as EventOf<T>;
}

export class EventDecodeError extends Error {
  override name = 'EventDecodeError' as const;
  /**
   * The event's `type` when it is one of the protocol's, `unknown-type` for any other text
   * (a bounded set: it keys logs, counters and metric labels), undefined when none could be read.
   */
  readonly eventType: string | undefined;
  constructor(message: string, eventType: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.eventType = eventType;
  }
}

const MAX_EVENT_BYTES = 256 * 1024;
const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Validates and serialises an event. Throws EventDecodeError (with the zod issues) when invalid. */
export function encodeEvent(event: VoiceEvent): Uint8Array {
  const parsed = VoiceEvent.safeParse(event);
  if (!parsed.success) {
    throw new EventDecodeError(`invalid ${event?.type ?? 'event'}: ${z.prettifyError(parsed.error)}`, event?.type, { cause: parsed.error });
  }
  return encoder.encode(JSON.stringify(parsed.data));
}

/** Parses and validates an event body received on `stream`. */
export function decodeEvent<S extends EventStream>(stream: S, body: Uint8Array): EventOnStream<S> {
  if (body.byteLength > MAX_EVENT_BYTES) throw new EventDecodeError(`event of ${body.byteLength} bytes exceeds ${MAX_EVENT_BYTES}`, undefined);
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(body));
  } catch (cause) {
    throw new EventDecodeError('event body is not UTF-8 JSON', undefined, { cause });
  }
  const type = typeof json === 'object' && json !== null && typeof (json as { type?: unknown }).type === 'string'
    ? ((json as { type: string }).type.slice(0, 64))
    : undefined;
  const parsed = EVENT_SCHEMAS_BY_STREAM[stream].safeParse(json);
  if (!parsed.success) {
    const kind = type === undefined ? undefined : STREAM_OF_TYPE.has(type) ? type : 'unknown-type';
    throw new EventDecodeError(`invalid ${type === undefined ? 'event' : JSON.stringify(type)} on ${stream}: ${z.prettifyError(parsed.error)}`, kind, { cause: parsed.error });
  }
  return parsed.data as EventOnStream<S>;
}
