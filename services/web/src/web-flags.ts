import { numberFlag, stringFlag, type FlagSpecs } from '@voicebus/runtime';

export interface WebFlags {
  /** HTTP port of the page (0: a free one, printed when listening). */
  port: number;
  host: string;
  /** The scoped signing key the service issues device credentials with (JSON, see @voicebus/bus-auth). */
  deviceSigningKeyFile: string | undefined;
  /** Where pages reach NATS: the server's WebSocket listener, as the browser sees it. */
  natsWsUrl: string | undefined;
  /** Lifetime of a device credential; pages fetch a new one before it runs out. */
  credentialTtlS: number;
}

export const WEB_FLAGS: FlagSpecs<WebFlags> = {
  port: numberFlag('HTTP port of the page (0: any free port)', { env: 'WEB_PORT', default: 8080, min: 0, max: 65_535, integer: true }),
  host: stringFlag('HTTP address to listen on', { env: 'WEB_HOST', default: '127.0.0.1' }),
  deviceSigningKeyFile: stringFlag('JSON file with the web-device signing key (role, account, seed)', { env: 'WEB_DEVICE_SIGNING_KEY_FILE', defaultText: 'required' }),
  natsWsUrl: stringFlag('NATS WebSocket URL the browser connects to (ws:// or wss://)', { env: 'NATS_WS_URL', defaultText: 'required' }),
  credentialTtlS: numberFlag('lifetime of a device credential in seconds', { env: 'WEB_CREDENTIAL_TTL_S', default: 3600, min: 60, max: 86_400, integer: true }),
};
