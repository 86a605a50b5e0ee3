/**
 * Subjects: `voice.v1.<deviceId>.<stream>`, one token per level, versioned so a v2 contract
 * can run beside v1 on the same bus.
 */
export const SUBJECT_PREFIX = 'voice.v1' as const;

/** Every stream a device has. Multi-token streams (`audio.in`) keep wildcards simple. */
export const STREAMS = {
  audioIn: 'audio.in',
  audioOut: 'audio.out',
  capture: 'capture',
  vad: 'vad',
  turn: 'turn',
  session: 'session',
  playback: 'playback',
  control: 'control',
} as const;

export type StreamKey = keyof typeof STREAMS;
export type Stream = (typeof STREAMS)[StreamKey];

const STREAM_VALUES = new Set<string>(Object.values(STREAMS));

/** Device ids are single NATS tokens: no dots, wildcards or spaces can leak into a subject. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export class InvalidDeviceIdError extends Error {
  override name = 'InvalidDeviceIdError' as const;
  readonly deviceId: unknown;
  constructor(deviceId: unknown) {
    super(`invalid device id ${JSON.stringify(deviceId)}: expected 1-64 characters of A-Z a-z 0-9 _ -`);
    this.deviceId = deviceId;
  }
}

export class InvalidSubjectError extends Error {
  override name = 'InvalidSubjectError' as const;
  readonly subject: string;
  constructor(subject: string, why: string) {
    super(`invalid voicebus subject ${JSON.stringify(subject)}: ${why}`);
    this.subject = subject;
  }
}

export function isValidDeviceId(deviceId: unknown): deviceId is string {
  return typeof deviceId === 'string' && DEVICE_ID_PATTERN.test(deviceId);
}

export function assertDeviceId(deviceId: unknown): asserts deviceId is string {
  if (!isValidDeviceId(deviceId)) throw new InvalidDeviceIdError(deviceId);
}

/** The subject of one device's stream. Throws InvalidDeviceIdError for a bad id. */
export function deviceSubject(deviceId: string, stream: Stream): string {
  assertDeviceId(deviceId);
  if (!STREAM_VALUES.has(stream)) throw new InvalidSubjectError(`${SUBJECT_PREFIX}.${deviceId}.${String(stream)}`, 'unknown stream');
  return `${SUBJECT_PREFIX}.${deviceId}.${stream}`;
}

/** Wildcard subscription for one stream of every device. */
export function allDevicesSubject(stream: Stream): string {
  if (!STREAM_VALUES.has(stream)) throw new InvalidSubjectError(`${SUBJECT_PREFIX}.*.${String(stream)}`, 'unknown stream');
  return `${SUBJECT_PREFIX}.*.${stream}`;
}

/** Every stream of one device (`voice.v1.<id>.>`), e.g. for a device's bus permissions. */
export function deviceWildcard(deviceId: string): string {
  assertDeviceId(deviceId);
  return `${SUBJECT_PREFIX}.${deviceId}.>`;
}

/**
 * Where a device's replies come back (nats.js `inboxPrefix`): under its own id, so a device
 * may hear its own replies (the audio history's acks after an outage) and nobody else's. The
 * device permissions grant `${DEVICE_INBOX_ROOT}.<its id>.>` alone.
 */
export const DEVICE_INBOX_ROOT = '_INBOX' as const;
export function deviceInboxPrefix(deviceId: string): string {
  assertDeviceId(deviceId);
  return `${DEVICE_INBOX_ROOT}.${deviceId}`;
}

/**
 * Low-cardinality name for spans and metrics: the device id is replaced by a placeholder,
 * as the OTel messaging conventions ask for destination templates.
 */
export function subjectTemplate(stream: Stream): string {
  return `${SUBJECT_PREFIX}.{deviceId}.${stream}`;
}

export interface ParsedSubject {
  deviceId: string;
  stream: Stream;
}

export function parseSubject(subject: string): ParsedSubject {
  const prefix = `${SUBJECT_PREFIX}.`;
  if (!subject.startsWith(prefix)) throw new InvalidSubjectError(subject, `must start with ${prefix}`);
  const rest = subject.slice(prefix.length);
  const dot = rest.indexOf('.');
  if (dot < 0) throw new InvalidSubjectError(subject, 'missing stream');
  const deviceId = rest.slice(0, dot);
  const stream = rest.slice(dot + 1);
  if (!isValidDeviceId(deviceId)) throw new InvalidSubjectError(subject, `bad device id ${JSON.stringify(deviceId)}`);
  if (!STREAM_VALUES.has(stream)) throw new InvalidSubjectError(subject, `unknown stream ${JSON.stringify(stream)}`);
  return { deviceId, stream: stream as Stream };
}

/**
 * The JetStream KV buckets the services share (part of the bus contract: permissions are
 * granted on them). Lease keys are `<service>.<deviceId>`: a service writes only its own.
 */
export const KV_BUCKETS = {
  /** Device ownership leases, one per (service, device); TTL = the lease time. */
  owners: 'voicebus_owners',
  /** Gemini session resumption handles, one per device (the session service's alone). */
  sessions: 'voicebus_sessions',
} as const;

/**
 * The JetStream stream over every device's `audio.in` (memory, a max age of seconds): the
 * recent microphone audio a restarted session replays a turn in progress from.
 */
export const AUDIO_HISTORY_STREAM = 'VOICEBUS_AUDIO' as const;

/**
 * The JetStream stream over every device's `turn` events (memory, a max age of seconds): a
 * restarted vad finds there the user turn it had started and goes on with it.
 */
export const TURN_HISTORY_STREAM = 'VOICEBUS_TURNS' as const;

/**
 * The JetStream stream over every device's answers as they were sent and played
 * (`voice.v1.*.audio.out`, `.session`, `.playback`; memory, a max age of a minute): the model
 * sends an answer faster than it is spoken, so a playback restarted in the middle of one finds
 * here the rest it still owes the user, and whether the answer was finished or flushed.
 */
export const ANSWER_HISTORY_STREAM = 'VOICEBUS_ANSWERS' as const;

/**
 * The JetStream stream over every device's `capture` events, the last one per device (memory,
 * a max age of a day): which devices are attached and how, longer than any answer is kept.
 * A restarted playback reads there that a device plays for itself (a browser).
 */
export const DEVICE_REGISTRY_STREAM = 'VOICEBUS_DEVICES' as const;
