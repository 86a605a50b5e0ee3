import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BusAuthority, type ServiceRole } from '@voicebus/bus-auth';
import type { ServiceName } from './stack.ts';

/** What the demo runs with: NATS in operator mode, one credentials file per process. */
export interface BusCredentials {
  natsConfigText: string;
  /** NATS_CREDS per service (files in a private directory, removed by `cleanup`). */
  serviceEnv: Record<ServiceName | 'web' | 'capture', NodeJS.ProcessEnv>;
  /** The demo's own monitor: reads everything, writes nothing. */
  observerCredsFile: string;
  /** The web service's device signing key (WEB_DEVICE_SIGNING_KEY_FILE). */
  deviceSigningKeyFile: string;
  /**
   * A capture process of one device: that device's own credential (its subjects only), and
   * no service discovery, which a device may not answer.
   */
  deviceEnv(deviceId: string): Promise<NodeJS.ProcessEnv>;
  cleanup(): void;
}

export interface BusCredentialOptions {
  /** A WebSocket listener for browsers (`--web`). */
  websocket: boolean;
}

/**
 * Makes a fresh operator for this run (nothing is kept), the same scheme compose runs with
 * (`bus-auth init`): nothing without a credential reaches the bus, each service may publish
 * only what it owns, each device only its own subjects. Browser devices are never named
 * here: each page gets its own when it asks the web service.
 */
export async function prepareBusCredentials(options: BusCredentialOptions): Promise<BusCredentials> {
  const authority = await BusAuthority.create('voicebus-demo');
  const dir = mkdtempSync(join(tmpdir(), 'voicebus-creds-'));
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  };
  const credsEnv = async (role: ServiceRole) => ({ NATS_CREDS: write(`${role}.creds`, (await authority.serviceCredential(role)).creds) });
  const deviceIssuer = authority.deviceIssuer('capture-device', { ttlS: 0 });
  return {
    natsConfigText: authority.serverConfig(options.websocket ? { websocketPort: -1 } : {}),
    serviceEnv: {
      vad: await credsEnv('vad'),
      session: await credsEnv('session'),
      playback: await credsEnv('playback'),
      web: await credsEnv('web'),
      capture: await credsEnv('capture'),
    },
    observerCredsFile: write('observer.creds', (await authority.serviceCredential('observer')).creds),
    deviceSigningKeyFile: write('web-device.key.json', JSON.stringify(authority.deviceSigningKey('web-device'))),
    deviceEnv: async (deviceId) => ({ NATS_CREDS: write(`device-${deviceId}.creds`, (await deviceIssuer.issue(deviceId)).creds), SERVICE_DISCOVERY: 'off' }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
