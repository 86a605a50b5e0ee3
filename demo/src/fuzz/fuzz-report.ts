import { STREAMS, type Stream } from '@voicebus/protocol';
import type { BusFuzzer } from './bus-fuzzer.ts';
import { HOSTILE_KINDS, type HostileKind } from './hostile-messages.ts';

/**
 * The streams of a device each service subscribes to (docs/architecture.md, Processes): a
 * message every subscriber must refuse is counted in each of these services' rejects.
 */
export const SUBSCRIBED_STREAMS = {
  vad: [STREAMS.audioIn, STREAMS.capture, STREAMS.session, STREAMS.playback, STREAMS.turn],
  session: [STREAMS.audioIn, STREAMS.vad, STREAMS.turn, STREAMS.capture, STREAMS.playback],
  playback: [STREAMS.audioOut, STREAMS.control, STREAMS.turn, STREAMS.session, STREAMS.capture, STREAMS.playback],
} as const satisfies Record<string, readonly Stream[]>;

export type FuzzedService = keyof typeof SUBSCRIBED_STREAMS;

/** What a service said about itself at the end (its `voicebus.<service>.status`). */
export interface ServiceStatus {
  rejected?: number;
  rejectedByKind?: Record<string, number>;
  devices?: { deviceId: string; restarts: number }[];
}

export interface ServiceFuzzResult {
  name: FuzzedService;
  /** Messages it must have refused: the must-reject ones on the streams it subscribes to. */
  mustReject: number;
  rejected: number;
  rejectedByKind: Record<string, number>;
  actorRestarts: number;
  processRestarts: number;
}

export interface FuzzReport {
  deviceId: string;
  seconds: number;
  seed: number;
  sent: { kind: HostileKind; stream: Stream; n: number }[];
  total: number;
  services: ServiceFuzzResult[];
  /** Empty when the stack held: every hostile message refused where it must be, nothing restarted. */
  failures: string[];
}

export function fuzzReport(fuzzer: BusFuzzer, statuses: Record<FuzzedService, ServiceStatus>, processRestarts: Record<string, number>): FuzzReport {
  const sent = [...fuzzer.sent].flatMap(([kind, byStream]) => [...byStream].map(([stream, n]) => ({ kind, stream, n })));
  const services = (Object.keys(SUBSCRIBED_STREAMS) as FuzzedService[]).map((name): ServiceFuzzResult => {
    const status = statuses[name];
    return {
      name,
      mustReject: SUBSCRIBED_STREAMS[name].reduce((n, stream) => n + fuzzer.mustRejectOn(stream), 0),
      rejected: status.rejected ?? 0,
      rejectedByKind: status.rejectedByKind ?? {},
      actorRestarts: (status.devices ?? []).reduce((n, d) => n + d.restarts, 0),
      processRestarts: processRestarts[name] ?? 0,
    };
  });
  const failures: string[] = [];
  for (const s of services) {
    if (s.rejected < s.mustReject) failures.push(`${s.name} refused ${s.rejected} messages, fewer than the ${s.mustReject} it had to: some reached its actors`);
    if (s.actorRestarts > 0) failures.push(`${s.name}: ${s.actorRestarts} actor restart(s): hostile input crashed an actor`);
    if (s.processRestarts > 0) failures.push(`${s.name}: the process died ${s.processRestarts} time(s)`);
  }
  return {
    deviceId: fuzzer.options.deviceId,
    seconds: (fuzzer.stoppedAt - fuzzer.startedAt) / 1000,
    seed: fuzzer.options.seed,
    sent,
    total: sent.reduce((n, s) => n + s.n, 0),
    services,
    failures,
  };
}

export function fuzzReportText(report: FuzzReport): string {
  const byKind = new Map<HostileKind, number>();
  for (const s of report.sent) byKind.set(s.kind, (byKind.get(s.kind) ?? 0) + s.n);
  const lines = [
    `fuzz: ${report.total} hostile messages on ${report.deviceId}'s subjects in ${report.seconds.toFixed(0)} s (seed ${report.seed})`,
    ...[...byKind].map(([kind, n]) => `  ${kind.padEnd(18)} ${String(n).padStart(6)}  ${HOSTILE_KINDS[kind].mustReject ? 'must be refused' : 'valid, hostile values'}: ${HOSTILE_KINDS[kind].what}`),
    ...report.services.map((s) => {
      const kinds = Object.entries(s.rejectedByKind).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
      return `  ${s.name.padEnd(9)} refused ${s.rejected} (at least ${s.mustReject} had to be), actor restarts ${s.actorRestarts}, process restarts ${s.processRestarts}${kinds ? `; by kind: ${kinds}` : ''}`;
    }),
    report.failures.length === 0 ? 'fuzz: the stack held' : `fuzz: FAILED\n${report.failures.map((f) => `  - ${f}`).join('\n')}`,
  ];
  return lines.join('\n');
}
