import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServerStartError } from './errors.ts';
import { launchNatsProcess } from './nats-process.ts';
import type { NatsServer } from './nats-server.ts';

export interface LocalNatsServerOptions {
  /** Path or name of the binary. */
  binary: string;
  jetstream: boolean;
  /** Extra config file (auth, permissions); ports still come from `-p -1`. */
  configFile: string | undefined;
  /**
   * Config text instead of a file (e.g. generated operator mode); written into the server's
   * private directory, which `stop()` removes. Ignored when `configFile` is set.
   */
  configText: string | undefined;
  /** Extra command-line arguments. */
  args: string[];
  /** Give up waiting for the ports file after this long. */
  startTimeoutMs: number;
  /** Where the server writes logs; undefined keeps them in its temp dir. */
  logFile: string | undefined;
}

export const LOCAL_NATS_SERVER_DEFAULTS: LocalNatsServerOptions = {
  binary: process.env.NATS_SERVER_BIN ?? 'nats-server',
  jetstream: true,
  configFile: undefined,
  configText: undefined,
  args: [],
  startTimeoutMs: 15_000,
  logFile: undefined,
};

/** Starts a private nats-server on a free port (`-p -1`, see launchNatsProcess). */
export async function startLocalNatsServer(options: Partial<LocalNatsServerOptions> = {}): Promise<NatsServer> {
  const opts = { ...LOCAL_NATS_SERVER_DEFAULTS, ...options };
  const dir = await mkdtemp(join(tmpdir(), 'voicebus-nats-'));
  const args = ['-a', '127.0.0.1', '-p', '-1', '-m', '-1', '-l', opts.logFile ?? join(dir, 'server.log')];
  if (opts.jetstream) args.push('-js', '-sd', join(dir, 'jetstream'));
  if (opts.configFile) args.push('-c', opts.configFile);
  else if (opts.configText !== undefined) {
    const file = join(dir, 'nats.conf');
    await writeFile(file, opts.configText, { mode: 0o600 });
    args.push('-c', file);
  }
  args.push(...opts.args);

  const cleanup = async () => {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  };

  try {
    let server = await launchNatsProcess({ binary: opts.binary, args, portsDir: dir, startTimeoutMs: opts.startTimeoutMs });
    const url = server.ports.nats?.[0];
    if (!url) {
      await server.kill();
      throw new NatsServerStartError(`nats-server wrote no client port to its ports file in ${dir}`);
    }
    const port = Number(new URL(url).port);
    let stopped: Promise<void> | undefined;
    const handle: NatsServer = {
      url: `nats://127.0.0.1:${port}`,
      port,
      pid: server.pid,
      monitorUrl: server.ports.monitoring?.[0],
      websocketUrl: server.ports.websocket?.[0],
      dataDir: dir,
      exited: server.exited,
      restart: async () => {
        if (stopped) throw new NatsServerStartError('nats-server was stopped: not restarted');
        await server.exited;
        // The port it had, not a new one: clients hold that URL.
        const again = args.map((a, i) => (args[i - 1] === '-p' ? String(port) : a));
        server = await launchNatsProcess({ binary: opts.binary, args: again, portsDir: dir, startTimeoutMs: opts.startTimeoutMs });
        Object.assign(handle, { pid: server.pid, monitorUrl: server.ports.monitoring?.[0], websocketUrl: server.ports.websocket?.[0], exited: server.exited });
      },
      stop: () => {
        stopped ??= server.stop().then(cleanup);
        return stopped;
      },
    };
    return handle;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
