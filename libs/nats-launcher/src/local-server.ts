import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, watch, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServerNotFoundError, NatsServerStartError } from './errors.ts';
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

interface PortsFile {
  nats?: string[];
  monitoring?: string[];
  websocket?: string[];
}

/**
 * Starts a private nats-server on a free port the way nats.js's own test launcher does:
 * `-p -1` lets the server pick the port and `--ports_file_dir` tells us which one it picked,
 * so there is no race between choosing a port and binding it.
 */
export async function startLocalNatsServer(options: Partial<LocalNatsServerOptions> = {}): Promise<NatsServer> {
  const opts = { ...LOCAL_NATS_SERVER_DEFAULTS, ...options };
  const dir = await mkdtemp(join(tmpdir(), 'voicebus-nats-'));
  const args = ['-a', '127.0.0.1', '-p', '-1', '-m', '-1', '--ports_file_dir', dir, '-l', opts.logFile ?? join(dir, 'server.log')];
  if (opts.jetstream) args.push('-js', '-sd', join(dir, 'jetstream'));
  if (opts.configFile) args.push('-c', opts.configFile);
  else if (opts.configText !== undefined) {
    const file = join(dir, 'nats.conf');
    await writeFile(file, opts.configText, { mode: 0o600 });
    args.push('-c', file);
  }
  args.push(...opts.args);

  // Watch before spawning so the ports file cannot appear unseen.
  const stopWatching = new AbortController();
  const changes = watch(dir, { signal: stopWatching.signal })[Symbol.asyncIterator]();
  const child = spawn(opts.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });

  const cleanup = async () => {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  };

  try {
    const ports = await waitForPorts(child, dir, changes, opts, () => stderr).finally(() => stopWatching.abort());
    const url = ports.nats?.[0];
    if (!url) throw new NatsServerStartError(`nats-server wrote no client port to its ports file in ${dir}`);
    const port = Number(new URL(url).port);
    let stopped: Promise<void> | undefined;
    return {
      url: `nats://127.0.0.1:${port}`,
      port,
      pid: child.pid,
      monitorUrl: ports.monitoring?.[0],
      websocketUrl: ports.websocket?.[0],
      dataDir: dir,
      stop: () => {
        stopped ??= stopChild(child).then(cleanup);
        return stopped;
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    await cleanup();
    throw err;
  }
}

async function waitForPorts(
  child: ChildProcess,
  dir: string,
  changes: AsyncIterator<unknown>,
  opts: LocalNatsServerOptions,
  stderr: () => string,
): Promise<PortsFile> {
  const spawnError = once(child, 'error').then(([err]) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NatsServerNotFoundError(opts.binary, { cause: err });
    throw new NatsServerStartError(`could not start nats-server: ${(err as Error).message}`, { cause: err });
  });
  const exited = once(child, 'exit').then(([code]) => {
    throw new NatsServerStartError(`nats-server exited with code ${code} before it was ready: ${stderr().trim()}`);
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new NatsServerStartError(`nats-server did not report its port within ${opts.startTimeoutMs} ms`)),
      opts.startTimeoutMs,
    );
  });
  const portsFile = join(dir, `nats-server_${child.pid}.ports`);
  const ready = (async () => {
    // Look first, then on every change in the directory. File watching can coalesce or miss
    // the event of a write that completes the file, so a short poll backs it up.
    for (;;) {
      const ports = await readPorts(portsFile);
      if (ports) return ports;
      let poll: NodeJS.Timeout | undefined;
      await Promise.race([changes.next(), new Promise((r) => (poll = setTimeout(r, 50)))]);
      clearTimeout(poll);
    }
  })();
  try {
    return await Promise.race([ready, spawnError, exited, timeout]);
  } finally {
    clearTimeout(timer);
    spawnError.catch(() => {});
    exited.catch(() => {});
    ready.catch(() => {});
  }
}

async function readPorts(file: string): Promise<PortsFile | undefined> {
  try {
    const text = await readFile(file, 'utf8');
    return JSON.parse(text) as PortsFile;
  } catch {
    return undefined; // not written yet, or written half-way
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
