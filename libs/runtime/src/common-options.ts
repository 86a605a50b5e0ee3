import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Option, type Command } from 'commander';

export interface CommonOptions {
  natsUrl: string;
  natsUser?: string | undefined;
  natsPass?: string | undefined;
  instanceId: string;
  logLevel: string;
}

export function defaultInstanceId(): string {
  return `${hostname().replace(/[^A-Za-z0-9_-]/g, '').slice(0, 24) || 'host'}-${process.pid}-${randomBytes(2).toString('hex')}`;
}

/** Flags every service takes; each has an environment variable and a default. */
export function addCommonOptions(program: Command): Command {
  return program
    .addOption(new Option('--nats-url <url>', 'NATS server URL(s), comma-separated').env('NATS_URL').default('nats://127.0.0.1:4222'))
    .addOption(new Option('--nats-user <user>', 'NATS user').env('NATS_USER'))
    .addOption(new Option('--nats-pass <password>', 'NATS password').env('NATS_PASS'))
    .addOption(new Option('--instance-id <id>', 'this instance\'s id (unique per process)').env('INSTANCE_ID').default(defaultInstanceId()))
    .addOption(new Option('--log-level <level>', 'log level').env('LOG_LEVEL').default('info').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal']));
}

/** Parses a number flag with bounds, for commander's argParser. */
export function numberIn(min: number, max: number, integer = false) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new Error(`expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return value;
  };
}

export interface OwnershipFlags {
  ownership: 'kv' | 'none';
  maxDevices: number;
  leaseTtlMs: number;
}

/** Flags of services that can run as several instances sharing the devices. */
export function addOwnershipOptions(program: Command): Command {
  return program
    .addOption(new Option('--ownership <mode>', 'kv: instances share devices through leases in a JetStream KV bucket; none: this instance takes every device').env('OWNERSHIP').choices(['kv', 'none']).default('kv'))
    .addOption(new Option('--max-devices <n>', 'take no more devices than this').env('MAX_DEVICES').default(1_000_000).argParser(numberIn(1, 1_000_000, true)))
    .addOption(new Option('--lease-ttl-ms <ms>', 'a device moves to another instance after its owner was silent this long').env('LEASE_TTL_MS').default(1200).argParser(numberIn(300, 60_000, true)));
}
