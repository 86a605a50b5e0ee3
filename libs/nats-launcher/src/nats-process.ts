import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, watch } from 'node:fs/promises';
import { join } from 'node:path';
import { NatsServerNotFoundError, NatsServerStartError } from './errors.ts';

/** What nats-server writes to `--ports_file_dir`: the listeners it actually bound. */
export interface PortsFile {
  nats?: string[];
  monitoring?: string[];
  cluster?: string[];
  websocket?: string[];
}

export interface NatsProcessOptions {
  binary: string;
  /** Every argument; `--ports_file_dir <portsDir>` is added. */
  args: string[];
  /** Where the ports file appears (`nats-server_<pid>.ports`). */
  portsDir: string;
  startTimeoutMs: number;
}

/** A nats-server process that has bound its listeners. */
export interface NatsProcess {
  child: ChildProcess;
  pid: number;
  ports: PortsFile;
  /** Resolves when the process has exited (at once if it already has). */
  exited: Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
  stop(): Promise<void>;
  /** SIGKILL (no goodbye to clients or routes); resolves once it has exited. */
  kill(): Promise<void>;
}

/**
 * Spawns nats-server and waits for its ports file, the way nats.js's own test launcher
 * does: a server given `-1` as a port picks a free one and tells us which, so there is no
 * race between choosing a port and binding it.
 */
export async function launchNatsProcess(opts: NatsProcessOptions): Promise<NatsProcess> {
  // Watch before spawning so the ports file cannot appear unseen.
  const stopWatching = new AbortController();
  const changes = watch(opts.portsDir, { signal: stopWatching.signal })[Symbol.asyncIterator]();
  const child = spawn(opts.binary, [...opts.args, '--ports_file_dir', opts.portsDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const ports = await waitForPorts(child, opts, changes, () => stderr).finally(() => stopWatching.abort());
    return {
      child,
      pid: child.pid!,
      ports,
      exited,
      stop: () => stopChild(child, exited),
      kill: () => {
        if (isRunning(child)) child.kill('SIGKILL');
        return exited;
      },
    };
  } catch (err) {
    if (isRunning(child)) child.kill('SIGKILL');
    throw err;
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function waitForPorts(child: ChildProcess, opts: NatsProcessOptions, changes: AsyncIterator<unknown>, stderr: () => string): Promise<PortsFile> {
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
  const portsFile = join(opts.portsDir, `nats-server_${child.pid}.ports`);
  let giveUp = false;
  const ready = (async () => {
    // Look first, then on every change in the directory. File watching can coalesce or miss
    // the event of a write that completes the file, so a short poll backs it up.
    while (!giveUp) {
      const ports = await readPorts(portsFile);
      if (ports) return ports;
      let poll: NodeJS.Timeout | undefined;
      await Promise.race([changes.next(), new Promise((r) => (poll = setTimeout(r, 50)))]);
      clearTimeout(poll);
    }
    throw new NatsServerStartError('gave up waiting for the ports file');
  })();
  try {
    return await Promise.race([ready, spawnError, exited, timeout]);
  } finally {
    giveUp = true;
    clearTimeout(timer);
    spawnError.catch(() => {});
    exited.catch(() => {});
    ready.catch(() => {});
  }
}

async function readPorts(file: string): Promise<PortsFile | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as PortsFile;
  } catch {
    return undefined; // not written yet, or written half-way
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (!isRunning(child)) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
