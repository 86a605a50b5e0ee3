import { SUBJECT_PREFIX, STREAMS, type Stream } from '@voicebus/protocol';

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
  /** Publishes its audio and announcements; hears its own playback (echo, the turn's trace). */
  'capture-device': {
    publish: [own(STREAMS.audioIn), own(STREAMS.capture)],
    // A capture process is a voicebus service too: it registers for discovery and status.
    subscribe: [own(STREAMS.playback), own(STREAMS.control), '$SRV.>', 'voicebus.capture.>', '_INBOX.>'],
    allowResponses: true,
  },
  /**
   * A browser is microphone and speaker: it publishes its audio, announcements and playback
   * events, and hears its answers, the commands for its speaker, its session and its turns.
   */
  'web-device': {
    publish: [own(STREAMS.audioIn), own(STREAMS.capture), own(STREAMS.playback)],
    subscribe: [own(STREAMS.audioOut), own(STREAMS.control), own(STREAMS.session), own(STREAMS.turn)],
    allowResponses: false,
  },
} as const satisfies Record<string, BusPermissions>;
export type DeviceRole = keyof typeof DEVICE_ROLES;

export function isDeviceRole(role: string): role is DeviceRole {
  return Object.hasOwn(DEVICE_ROLES, role);
}

const DISCOVERY = ['$SRV.>'];
const KV = ['$JS.API.>', '$KV.>'];

/** The services, as infra/nats/nats.conf grants them (docs/architecture.md, Processes). */
export const SERVICE_PERMISSIONS = {
  vad: {
    publish: [all(STREAMS.vad), all(STREAMS.turn), all(STREAMS.control), ...DISCOVERY, ...KV],
    subscribe: [all(STREAMS.audioIn), all(STREAMS.capture), all(STREAMS.session), all(STREAMS.playback), all(STREAMS.turn), ...DISCOVERY, 'voicebus.vad.>', '_INBOX.>'],
    allowResponses: true,
  },
  session: {
    publish: [all(STREAMS.audioOut), all(STREAMS.session), all(STREAMS.control), ...DISCOVERY, ...KV],
    subscribe: [all(STREAMS.audioIn), all(STREAMS.turn), all(STREAMS.control), all(STREAMS.capture), all(STREAMS.playback), ...DISCOVERY, 'voicebus.session.>', '_INBOX.>'],
    allowResponses: true,
  },
  // Playback hears `playback` too: a device that plays for itself (a browser) reports there
  // when its audio started, and playback adds the turn's latency up from it.
  playback: {
    publish: [all(STREAMS.playback), all(STREAMS.turn), ...DISCOVERY, ...KV],
    subscribe: [all(STREAMS.audioOut), all(STREAMS.control), all(STREAMS.turn), all(STREAMS.session), all(STREAMS.capture), all(STREAMS.playback), ...DISCOVERY, 'voicebus.playback.>', '_INBOX.>'],
    allowResponses: true,
  },
  /** The web service serves pages and issues device credentials; on the bus it only registers. */
  web: {
    publish: [...DISCOVERY],
    subscribe: [...DISCOVERY, 'voicebus.web.>', '_INBOX.>'],
    allowResponses: true,
  },
  /** Observers (the demo's monitor, dashboards): read everything, write nothing. */
  observer: {
    publish: [...DISCOVERY, 'voicebus.*.status', 'voicebus.*.*.status', ...KV],
    subscribe: [`${SUBJECT_PREFIX}.>`, '_INBOX.>'],
    allowResponses: true,
  },
} as const satisfies Record<string, BusPermissions>;
export type ServiceRole = keyof typeof SERVICE_PERMISSIONS;

export function isServiceRole(role: string): role is ServiceRole {
  return Object.hasOwn(SERVICE_PERMISSIONS, role);
}
