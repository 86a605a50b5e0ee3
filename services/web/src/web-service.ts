import { readFileSync } from 'node:fs';
import { DeviceCredentialIssuer, parseDeviceSigningKey } from '@voicebus/bus-auth';
import { runService, UsageError, type ProcessService, type ServiceDefinition } from '@voicebus/runtime';
import { buildPage } from './page-bundle.ts';
import { WEB_FLAGS, type WebFlags } from './web-flags.ts';
import { WebServer } from './web-server.ts';

function issuerOf(flags: WebFlags): DeviceCredentialIssuer {
  if (!flags.deviceSigningKeyFile) throw new UsageError('--device-signing-key-file is required (the web-device signing key; see libs/bus-auth)');
  let text: string;
  try {
    text = readFileSync(flags.deviceSigningKeyFile, 'utf8');
  } catch (err) {
    throw new UsageError(`--device-signing-key-file ${flags.deviceSigningKeyFile}: ${(err as Error).message}`);
  }
  try {
    const key = parseDeviceSigningKey(text);
    if (key.role !== 'web-device') throw new Error(`the key is for ${key.role}, not web-device`);
    return new DeviceCredentialIssuer(key, { ttlS: flags.credentialTtlS });
  } catch (err) {
    throw new UsageError(`--device-signing-key-file: ${(err as Error).message}`);
  }
}

function wsUrlOf(flags: WebFlags): string {
  if (!flags.natsWsUrl) throw new UsageError('--nats-ws-url is required (the NATS WebSocket listener as a browser reaches it)');
  if (!/^wss?:\/\//.test(flags.natsWsUrl)) throw new UsageError(`--nats-ws-url ${flags.natsWsUrl}: expected ws:// or wss://`);
  return flags.natsWsUrl;
}

/** Serves the browser device and issues each page its own device's credential. */
export const WEB_SERVICE: ServiceDefinition<WebFlags, ProcessService> = {
  name: 'web',
  version: '0.1.0',
  description: 'Serves the browser device page and issues per-device NATS credentials',
  flags: WEB_FLAGS,
  async configure(flags) {
    const issuer = issuerOf(flags);
    const natsWsUrl = wsUrlOf(flags);
    const assets = await buildPage();
    const devices = new Set<string>();
    let server: WebServer | undefined;
    return {
      stats: () => ({ credentialsIssued: server?.issued ?? 0, devices: [...devices] }),
      run: async (rt) => {
        server = new WebServer(assets, issuer, { port: flags.port, host: flags.host, natsWsUrl }, (id) => {
          if (!devices.has(id)) rt.log.info({ deviceId: id }, 'credential issued for a new device');
          devices.add(id);
        });
        const url = await server.listen();
        rt.shutdown.add('http', () => server?.close());
        await rt.ready();
        // One machine-readable line, for whoever started us (the demo prints `web: <url>`).
        process.stdout.write(`${JSON.stringify({ event: 'listening', url })}\n`);
        rt.log.info({ url, natsWsUrl }, 'web device page served');
        // Serves until SIGINT/SIGTERM, whose handler runs the shutdown hooks and exits.
        return new Promise<number>(() => {});
      },
    };
  },
};

export const runWebService = (argv?: readonly string[], env?: NodeJS.ProcessEnv) => runService(WEB_SERVICE, argv, env);
