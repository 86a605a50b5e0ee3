import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { choiceFlag, numberFlag, stringFlag, type FlagSpecs } from './flags.ts';

/** Settings every service has. */
export interface CommonOptions {
  natsUrl: string;
  natsUser: string | undefined;
  natsPass: string | undefined;
  /** A `.creds` file (user JWT and seed): operator mode, see libs/bus-auth. */
  natsCreds: string | undefined;
  instanceId: string;
  logLevel: string;
  /** Containers: a file kept fresh while connected to NATS (see infra/healthcheck.ts). */
  healthFile: string | undefined;
  /** Fraction of audio chunks traced with spans of their own (0 to 1). */
  traceChunks: number;
  /**
   * Register with `$SRV` discovery and answer status requests. Devices run without it: their
   * credentials may not answer discovery (libs/bus-auth, capture-device).
   */
  discovery: 'on' | 'off';
  /** Replicas of the KV buckets this service creates (leases, resumption handles): 3 on a 3-node cluster. */
  kvReplicas: number;
  /** Log the process's memory (RSS, V8 heap, external) this often, in seconds (0: never): a leak's heap or native side. */
  memoryLogS: number;
}

export function defaultInstanceId(): string {
  return `${hostname().replace(/[^A-Za-z0-9_-]/g, '').slice(0, 24) || 'host'}-${process.pid}-${randomBytes(2).toString('hex')}`;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export const COMMON_FLAGS: FlagSpecs<CommonOptions> = {
  natsUrl: stringFlag('NATS server URL(s), comma-separated', { env: 'NATS_URL', default: 'nats://127.0.0.1:4222' }),
  natsUser: stringFlag('NATS user (servers with a users list; compose uses NATS_CREDS)', { env: 'NATS_USER', defaultText: 'none' }),
  natsPass: stringFlag('NATS password', { env: 'NATS_PASS', defaultText: 'none' }),
  natsCreds: stringFlag('NATS credentials file (user JWT + seed, operator mode)', { env: 'NATS_CREDS', defaultText: 'none: user and password, or no auth' }),
  instanceId: stringFlag('this instance\'s id (unique per process)', { env: 'INSTANCE_ID', default: defaultInstanceId() }),
  logLevel: choiceFlag('log level', LOG_LEVELS, { env: 'LOG_LEVEL', default: 'info' }),
  healthFile: stringFlag('keep this file fresh while connected (container health checks)', { env: 'HEALTH_FILE' }),
  traceChunks: numberFlag('fraction of audio chunks traced with their own spans', { env: 'VOICEBUS_TRACE_CHUNKS', default: 0, min: 0, max: 1 }),
  discovery: choiceFlag('$SRV discovery and status requests (off: a device credential may not answer them)', ['on', 'off'] as const, { env: 'SERVICE_DISCOVERY', default: 'on' }),
  kvReplicas: numberFlag('replicas of the KV buckets it creates (leases, resumption handles); at most the JetStream cluster\'s size', { env: 'KV_REPLICAS', default: 1, min: 1, max: 5, integer: true }),
  memoryLogS: numberFlag('log the process\'s memory (RSS, V8 heap, external) this often, in seconds; 0: never', { env: 'MEMORY_LOG_S', default: 0, min: 0, max: 3600 }),
};

/** Settings of services that can run as several instances sharing the devices. */
export interface ScaleOutOptions {
  ownership: 'kv' | 'none';
  maxDevices: number;
  leaseTtlMs: number;
  leaseOutageGraceMs: number;
  /** A device's actor stops (its lease goes, the session's model connection closes) after this long without a message (0 = never). */
  deviceIdleMs: number;
}

export const SCALE_OUT_FLAGS: FlagSpecs<ScaleOutOptions> = {
  ownership: choiceFlag('kv: instances share devices through leases in a JetStream KV bucket; none: this instance takes every device', ['kv', 'none'] as const, { env: 'OWNERSHIP', default: 'kv' }),
  maxDevices: numberFlag('take no more devices than this', { env: 'MAX_DEVICES', default: 1_000_000, min: 1, max: 1_000_000, integer: true }),
  leaseTtlMs: numberFlag('a device moves to another instance after its owner was silent this long', { env: 'LEASE_TTL_MS', default: 1200, min: 300, max: 60_000, integer: true }),
  deviceIdleMs: numberFlag('stop a device\'s actor after this long without any message from or about the device (a capture that vanished without device.ended, a device id used once): its lease is handed back and the session closes its model connection, resumable when the device speaks again; 0 = never', { env: 'DEVICE_IDLE_MS', default: 60_000, min: 0, max: 86_400_000, integer: true }),
  leaseOutageGraceMs: numberFlag('while the lease store cannot be reached (a JetStream leader election takes seconds), keep serving held devices this much longer than the TTL', { env: 'LEASE_OUTAGE_GRACE_MS', default: 15_000, min: 0, max: 120_000, integer: true }),
};

