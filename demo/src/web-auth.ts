import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BusAuthority, type ServiceRole } from '@voicebus/bus-auth';
import type { ServiceName } from './stack.ts';

/** What `demo --web` runs with: NATS in operator mode, one credentials file per process. */
export interface WebAuth {
  natsConfigText: string;
  /** NATS_CREDS per service (files in a private directory, removed by `cleanup`). */
  serviceEnv: Record<ServiceName | 'web', NodeJS.ProcessEnv>;
  /** The demo's own monitor: reads everything, writes nothing. */
  observerCredsFile: string;
  /** The web service's device signing key (WEB_DEVICE_SIGNING_KEY_FILE). */
  deviceSigningKeyFile: string;
  cleanup(): void;
}

/**
 * Makes a fresh operator for this run (nothing is kept): the server config with the WebSocket
 * listener for browsers, the services' credentials, and the key the web service issues device
 * credentials with. Devices are never named here: each page gets its own when it asks.
 */
export async function prepareWebAuth(): Promise<WebAuth> {
  const authority = await BusAuthority.create('voicebus-demo');
  const dir = mkdtempSync(join(tmpdir(), 'voicebus-creds-'));
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  };
  const credsEnv = async (role: ServiceRole) => ({ NATS_CREDS: write(`${role}.creds`, (await authority.serviceCredential(role)).creds) });
  return {
    natsConfigText: authority.serverConfig({ websocketPort: -1 }),
    serviceEnv: {
      vad: await credsEnv('vad'),
      session: await credsEnv('session'),
      playback: await credsEnv('playback'),
      web: await credsEnv('web'),
    },
    observerCredsFile: write('observer.creds', (await authority.serviceCredential('observer')).creds),
    deviceSigningKeyFile: write('web-device.key.json', JSON.stringify(authority.deviceSigningKey('web-device'))),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
