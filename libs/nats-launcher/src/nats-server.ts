import { existsSync } from 'node:fs';
import { NatsServerNotFoundError } from './errors.ts';
import { startLocalNatsServer, type LocalNatsServerOptions } from './local-server.ts';

/** A NATS server a test or the demo can use; `stop()` is idempotent. */
export interface NatsServer {
  url: string;
  port: number;
  pid?: number | undefined;
  monitorUrl?: string | undefined;
  /** The WebSocket listener (`ws://host:port`), when the config has one. */
  websocketUrl?: string | undefined;
  dataDir?: string | undefined;
  /** A local server: resolves when its process exits (a crash, a kill, stop). */
  exited?: Promise<void> | undefined;
  /**
   * A local server whose process is gone: starts it again on the same client port with the
   * same config and JetStream store, so clients reconnect to it and streams and buckets are
   * back (the monitoring and WebSocket ports, chosen by the server, may change).
   */
  restart?(): Promise<void>;
  stop(): Promise<void>;
}

export interface NatsServerOptions extends LocalNatsServerOptions {
  /**
   * `auto`: NATS_URL when set, else the local binary, else testcontainers when a Docker engine
   * answers. `local` and `container` force one; `url` uses `url`.
   */
  mode: 'auto' | 'local' | 'container';
  /** Honour NATS_URL (off for tests that need their own config, e.g. auth). */
  useEnvUrl: boolean;
  /** The image of the container mode (VOICEBUS_NATS_IMAGE; e.g. a locally built one). */
  containerImage: string;
}

export const NATS_SERVER_DEFAULTS: Omit<NatsServerOptions, keyof LocalNatsServerOptions> = {
  mode: (process.env.VOICEBUS_NATS_MODE as NatsServerOptions['mode'] | undefined) ?? 'auto',
  useEnvUrl: true,
  containerImage: process.env.VOICEBUS_NATS_IMAGE ?? 'nats:2.12-alpine',
};

function hasDocker(): boolean {
  return existsSync('/var/run/docker.sock') || Boolean(process.env.DOCKER_HOST);
}

/**
 * Starts (or borrows) a NATS server with JetStream. A server given by NATS_URL is never
 * stopped by us; every other one is ours and `stop()` removes it and its data.
 */
export async function startNatsServer(options: Partial<NatsServerOptions> = {}): Promise<NatsServer> {
  const opts = { ...NATS_SERVER_DEFAULTS, ...options };
  const envUrl = process.env.NATS_URL;
  if (opts.useEnvUrl && envUrl && opts.mode === 'auto' && !opts.configFile && opts.configText === undefined) {
    const port = Number(new URL(envUrl.includes('://') ? envUrl : `nats://${envUrl}`).port || 4222);
    return { url: envUrl, port, stop: async () => {} };
  }
  if (opts.mode === 'container') return startContainer(opts.containerImage);
  try {
    return await startLocalNatsServer(options);
  } catch (err) {
    if (err instanceof NatsServerNotFoundError && opts.mode === 'auto' && hasDocker()) return startContainer(opts.containerImage);
    throw err;
  }
}

/**
 * nats-server in a container (testcontainers). Where no registry can be reached, set
 * VOICEBUS_NATS_IMAGE to a local image (scripts/compose-test.sh builds voicebus/nats:2.9-bookworm)
 * and TESTCONTAINERS_RYUK_DISABLED=true (Ryuk's image cannot be pulled either).
 */
async function startContainer(image: string): Promise<NatsServer> {
  // Loaded lazily: testcontainers is heavy and only useful where a Docker engine runs.
  const { NatsContainer } = await import('@testcontainers/nats');
  const nats = new NatsContainer(image).withJetStream();
  // NatsContainer always adds `--user test --pass test`. The servers this launcher hands out
  // have no auth, like the local one (callers connect with the URL alone), so those two
  // arguments are taken out again; the container test fails if this stops working.
  const internals = nats as unknown as { args?: Set<string>; values?: Map<string, string> };
  for (const arg of ['--user', '--pass']) {
    internals.args?.delete(arg);
    internals.values?.delete(arg);
  }
  const container = await nats.start();
  const port = container.getMappedPort(4222);
  const host = container.getHost();
  return {
    url: `nats://${host}:${port}`,
    port,
    stop: async () => {
      await container.stop();
    },
  };
}
