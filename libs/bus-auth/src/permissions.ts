import { ANSWER_HISTORY_STREAM, AUDIO_HISTORY_STREAM, DEVICE_INBOX_ROOT, DEVICE_REGISTRY_STREAM, KV_BUCKETS, TURN_HISTORY_STREAM, SUBJECT_PREFIX, STREAMS, type Stream } from '@voicebus/protocol';

/**
 * Who may publish and subscribe what, as NATS permissions. Device roles are templates: the
 * server fills `{{name()}}` with the user's name (the device id) from the JWT it checks, so a
 * key that signs device users cannot grant a device more than its own subjects, whatever the
 * issuer puts in the JWT (scoped signing keys, nats-server 2.9 and later).
 */
export interface BusPermissions {
  publish: string[];
  subscribe: string[];
  /** Replies to requests it received (service discovery, status) are allowed. */
  allowResponses: boolean;
}

const DEVICE = '{{name()}}';
const own = (stream: Stream) => `${SUBJECT_PREFIX}.${DEVICE}.${stream}`;
const all = (stream: Stream) => `${SUBJECT_PREFIX}.*.${stream}`;

/** The kinds of device: a capture process (sox, a WAV file) and a browser, which also plays. */
export const DEVICE_ROLES = {
  /**
   * Publishes its audio and announcements; hears its own playback (echo, the turn's trace).
   * It does not take part in service discovery: a device that could answer `$SRV.PING` could
   * pose as a vad or session instance to whoever counts them. Its replies (the audio
   * history's acks for what it held over an outage) come back on its own inbox
   * (deviceInboxPrefix): another device's replies are not its to read.
   */
  'capture-device': {
    publish: [own(STREAMS.audioIn), own(STREAMS.capture)],
    subscribe: [own(STREAMS.playback), own(STREAMS.control), `${DEVICE_INBOX_ROOT}.${DEVICE}.>`],
    allowResponses: false,
  },
  /**
   * A browser is microphone and speaker: it publishes its audio, announcements and playback
   * events, and hears its answers, the commands for its speaker, its session and its turns.
   * Its own inbox (deviceInboxPrefix) takes the audio history's acks for what it held over
   * an outage.
   */
  'web-device': {
    publish: [own(STREAMS.audioIn), own(STREAMS.capture), own(STREAMS.playback)],
    subscribe: [own(STREAMS.audioOut), own(STREAMS.control), own(STREAMS.session), own(STREAMS.turn), `${DEVICE_INBOX_ROOT}.${DEVICE}.>`],
    allowResponses: false,
  },
} as const satisfies Record<string, BusPermissions>;
export type DeviceRole = keyof typeof DEVICE_ROLES;

export function isDeviceRole(role: string): role is DeviceRole {
  return Object.hasOwn(DEVICE_ROLES, role);
}

const DISCOVERY = ['$SRV.>'];

/**
 * What a KV client needs on one bucket and nothing more: create or look up its stream, read
 * and watch it, and write only the keys under `writable` (a service's own leases). No purge,
 * no stream delete or update, no other bucket: a vad cannot delete the session's leases or
 * overwrite its resumption handles.
 */
function kv(bucket: string, writable: string | undefined): string[] {
  const rights = [...readStream(`KV_${bucket}`), `$JS.API.DIRECT.GET.KV_${bucket}.>`];
  return writable === undefined ? rights : [...rights, `$KV.${bucket}.${writable}`];
}

/**
 * Look up a stream and read it through consumers of one's own (push or pull): consumer
 * create, info, delete (and list) on that stream alone, as two wildcards. Compact on purpose:
 * a user's JWT rides in its CONNECT line, which nats-server caps at 4 kB (max_control_line).
 */
function findStream(stream: string): string[] {
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.CONSUMER.*.${stream}`,
    `$JS.API.CONSUMER.*.${stream}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.>`,
    `$JS.FC.${stream}.>`,
  ];
}

/** Create or look up a stream and read it (its owner, or a service that may make it first). */
function readStream(stream: string): string[] {
  return [...findStream(stream), `$JS.API.STREAM.CREATE.${stream}`, `$JS.API.STREAM.MSG.GET.${stream}`];
}
const JS_INFO = '$JS.API.INFO';
const leases = (service: string) => [JS_INFO, ...kv(KV_BUCKETS.owners, `${service}.>`)];

/** The services, as infra/nats/nats.conf grants them (docs/architecture.md, Processes). */
export const SERVICE_PERMISSIONS = {
  vad: {
    publish: [all(STREAMS.vad), all(STREAMS.turn), all(STREAMS.control), ...DISCOVERY, ...leases('vad'), ...readStream(TURN_HISTORY_STREAM), ...readStream(AUDIO_HISTORY_STREAM)],
    subscribe: [all(STREAMS.audioIn), all(STREAMS.capture), all(STREAMS.session), all(STREAMS.playback), all(STREAMS.turn), ...DISCOVERY, 'voicebus.vad.>', '_INBOX.>'],
    allowResponses: true,
  },
  session: {
    // The turn and answer histories too: a restarted session answers a turn the dead one left unanswered.
    publish: [all(STREAMS.audioOut), all(STREAMS.session), all(STREAMS.control), ...DISCOVERY, ...leases('session'), ...kv(KV_BUCKETS.sessions, '>'), ...readStream(AUDIO_HISTORY_STREAM), ...findStream(TURN_HISTORY_STREAM), ...findStream(ANSWER_HISTORY_STREAM)],
    // vad: speech facts (onset, sustained) decide barge-in before a turn exists.
    subscribe: [all(STREAMS.audioIn), all(STREAMS.vad), all(STREAMS.turn), all(STREAMS.control), all(STREAMS.capture), all(STREAMS.playback), ...DISCOVERY, 'voicebus.session.>', '_INBOX.>'],
    allowResponses: true,
  },
  // Playback hears `playback` too: a device that plays for itself (a browser) reports there
  // when its audio started, and playback adds the turn's latency up from it.
  playback: {
    publish: [all(STREAMS.playback), all(STREAMS.turn), ...DISCOVERY, ...leases('playback'), ...readStream(ANSWER_HISTORY_STREAM), ...readStream(DEVICE_REGISTRY_STREAM)],
    subscribe: [all(STREAMS.audioOut), all(STREAMS.control), all(STREAMS.turn), all(STREAMS.session), all(STREAMS.capture), all(STREAMS.playback), ...DISCOVERY, 'voicebus.playback.>', '_INBOX.>'],
    allowResponses: true,
  },
  /**
   * A capture process of the stack's own host that serves several devices at once (the
   * demo's `--shared-capture`, a sound card with many inputs): every device's audio in. A
   * capture process for one device takes that device's own `capture-device` credential.
   */
  capture: {
    publish: [all(STREAMS.audioIn), all(STREAMS.capture), ...DISCOVERY],
    subscribe: [all(STREAMS.playback), all(STREAMS.control), ...DISCOVERY, 'voicebus.capture.>', '_INBOX.>'],
    allowResponses: true,
  },
  /** The web service serves pages and issues device credentials; on the bus it only registers. */
  web: {
    publish: [...DISCOVERY],
    subscribe: [...DISCOVERY, 'voicebus.web.>', '_INBOX.>'],
    allowResponses: true,
  },
  /**
   * Observers (the demo's monitor, dashboards): read everything (the leases too), write
   * nothing. The event histories too: an observer cut off reads back what it missed.
   */
  observer: {
    publish: [...DISCOVERY, 'voicebus.*.status', 'voicebus.*.*.status', JS_INFO, ...kv(KV_BUCKETS.owners, undefined), ...findStream(TURN_HISTORY_STREAM), ...findStream(ANSWER_HISTORY_STREAM), ...findStream(DEVICE_REGISTRY_STREAM)],
    subscribe: [`${SUBJECT_PREFIX}.>`, '_INBOX.>'],
    allowResponses: true,
  },
} as const satisfies Record<string, BusPermissions>;
export type ServiceRole = keyof typeof SERVICE_PERMISSIONS;

export function isServiceRole(role: string): role is ServiceRole {
  return Object.hasOwn(SERVICE_PERMISSIONS, role);
}
