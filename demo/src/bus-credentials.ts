import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initSecrets, issueDeviceFile, SECRETS_LAYOUT, type ServiceRole } from '@voicebus/bus-auth';
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
 * Makes a fresh operator for this run (nothing is kept), written the way compose's are
 * (`bus-auth init`, into a private temp directory): nothing without a credential reaches the
 * bus, each service may publish only what it owns, each device only its own subjects. Browser
 * devices are never named here: each page gets its own when it asks the web service.
 */
export async function prepareBusCredentials(options: BusCredentialOptions): Promise<BusCredentials> {
  const dir = mkdtempSync(join(tmpdir(), 'voicebus-creds-'));
  const { authority } = await initSecrets(dir, { name: 'voicebus-demo' });
  const credsEnv = (role: ServiceRole) => ({ NATS_CREDS: join(dir, SECRETS_LAYOUT.service(role)) });
  return {
    natsConfigText: authority.serverConfig(options.websocket ? { websocketPort: -1 } : {}),
    serviceEnv: {
      vad: credsEnv('vad'),
      session: credsEnv('session'),
      playback: credsEnv('playback'),
      web: credsEnv('web'),
      capture: credsEnv('capture'),
    },
    observerCredsFile: join(dir, SECRETS_LAYOUT.service('observer')),
    deviceSigningKeyFile: join(dir, SECRETS_LAYOUT.deviceSigningKey('web-device')),
    deviceEnv: async (deviceId) => ({ NATS_CREDS: await issueDeviceFile(dir, authority, deviceId, 'capture-device', 0), SERVICE_DISCOVERY: 'off' }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
