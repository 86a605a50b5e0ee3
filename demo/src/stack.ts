import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { startSupervisedCluster, type SupervisedCluster } from './nats-cluster.ts';
import type { Bus } from '@voicebus/runtime';
import { ManagedProcess, type ManagedProcessEvent } from './managed-process.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const SERVICES = ['vad', 'session', 'playback'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface StackOptions {
  logDir: string;
  /** Extra flags per service, e.g. the playback sink. */
  serviceArgs: Record<ServiceName, string[]>;
  /** Instances per service (scale-out). */
  instances: Partial<Record<ServiceName, number>>;
  env: NodeJS.ProcessEnv;
  simArgs: string[];
  onEvent: (event: ManagedProcessEvent) => void;
  /** nats-server config of the private server: operator mode (see bus-credentials.ts). */
  natsConfigText: string;
  /** More environment per service (its NATS credentials). */
  serviceEnv?: Partial<Record<ServiceName, NodeJS.ProcessEnv>> | undefined;
  /** Nodes of a local JetStream cluster instead of one nats-server (undefined: one server). */
  natsCluster?: number | undefined;
  /** What the cluster's supervision says (a node started, died, is back). */
  onNote?: (text: string) => void;
  /** One nats-server that dies is started again (its port and store) after this long. */
  natsRestartDelayMs?: number | undefined;
}

export interface RunningStack {
  /** Every node's URL, comma-separated, on a cluster. */
  natsUrl: string;
  /** Replicas the KV buckets get: the cluster's size up to 3, else 1. */
  kvReplicas: number;
  /** The WebSocket listener for browsers, when the config has one. */
  natsWsUrl: string | undefined;
  geminiUrl: string | undefined;
  processes: ManagedProcess[];
  services: Map<string, ManagedProcess>;
  stop(): Promise<void>;
}

/**
 * V8 flags for every process of the stack (infra/Dockerfile sets the same in NODE_OPTIONS).
 * On a machine with much memory V8 sizes the young generation large; audio services allocate
 * fast and keep little (a chunk, a frame), so most of that heap was garbage it kept: the VAD
 * path held 290 MB RSS with 6 MB live, 170 MB with semi-spaces of 8 MB, for about the same
 * CPU (BENCHMARKS.md, soak).
 */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=8'] as const;

export function nodeCommand(script: string, args: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: [...SERVICE_NODE_FLAGS, join(REPO_ROOT, script), ...args] };
}

/** True when the demo should talk to Google rather than the simulator. */
export function usesRealGemini(env: NodeJS.ProcessEnv): boolean {
  return !env.GEMINI_LIVE_URL && Boolean(env.GEMINI_API_KEY || env.GOOGLE_API_KEY);
}

/**
 * Starts what the services need and the services themselves, each its own supervised
 * process, as compose would: NATS (a private nats-server in operator mode), the model (Google with a
 * key, else the simulator), then vad, session and playback.
 */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  mkdirSync(options.logDir, { recursive: true });
  const processes: ManagedProcess[] = [];
  let nats: NatsServer | SupervisedCluster | undefined;
  const stopAll = async () => {
    await Promise.all([...processes].reverse().map((p) => p.stop()));
    await nats?.stop();
  };
  try {
    // Always private servers of ours, on the run's operator: the credentials are for their
    // config and nobody else's (a borrowed NATS_URL or a container without it would refuse them).
    nats = options.natsCluster
      ? await startSupervisedCluster(options.natsCluster, options.logDir, options.onNote ?? (() => {}), options.natsConfigText)
      : superviseNats(await startNatsServer({ mode: 'local', logFile: join(options.logDir, 'nats-server.log'), configText: options.natsConfigText }), options.natsRestartDelayMs ?? 500, options.onNote ?? (() => {}));
    // Three copies survive one node's loss; more would only slow writes down.
    const kvReplicas = options.natsCluster ? Math.min(3, options.natsCluster) : 1;
    let geminiUrl = options.env.GEMINI_LIVE_URL;
    if (!geminiUrl && !usesRealGemini(options.env)) {
      const sim = new ManagedProcess({
        name: 'gemini-sim',
        ...nodeCommand('libs/gemini-live-sim/src/main.ts', ['--port', '0', ...options.simArgs]),
        env: options.env,
        logFile: join(options.logDir, 'gemini-sim.log'),
        // The simulator's port is chosen at start; a restart would move it, so it is not restarted.
        restart: false,
      });
      processes.push(sim);
      sim.on('event', options.onEvent);
      const listening = waitForLine(sim, listeningUrl);
      listening.catch(() => {}); // awaited just below; never an unhandled rejection
      sim.start();
      geminiUrl = await listening;
    }
    const services = new Map<string, ManagedProcess>();
    const env: NodeJS.ProcessEnv = { ...options.env, NATS_URL: nats.url, KV_REPLICAS: String(kvReplicas), ...(geminiUrl ? { GEMINI_LIVE_URL: geminiUrl } : {}) };
    // Each service names itself in traces; one global OTEL_SERVICE_NAME would merge them.
    delete env.OTEL_SERVICE_NAME;
    for (const name of SERVICES) {
      const count = options.instances[name] ?? 1;
      for (let i = 1; i <= count; i++) {
        const id = count > 1 ? `${name}-${i}` : name;
        const p = new ManagedProcess({
          name: id,
          ...nodeCommand(`services/${name}/src/main.ts`, options.serviceArgs[name]),
          env: { ...env, ...options.serviceEnv?.[name], INSTANCE_ID: id },
          logFile: join(options.logDir, `${id}.log`),
        });
        p.on('event', options.onEvent);
        processes.push(p);
        services.set(id, p);
        p.start();
      }
    }
    return { natsUrl: nats.url, kvReplicas, natsWsUrl: 'websocketUrl' in nats ? nats.websocketUrl : undefined, geminiUrl, processes, services, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * One nats-server that comes back when it dies, on its port and with its JetStream store, the
 * way compose's `restart: unless-stopped` brings back its container: the services reconnect
 * (they retry for ever) and the streams and buckets are there again. Said in lines a person (or
 * the fault matrix) reads: `[demo] started nats-server (pid N)`.
 */
function superviseNats(server: NatsServer, delayMs: number, note: (text: string) => void): NatsServer {
  let stopping = false;
  const watch = () => {
    note(`[demo] started nats-server (pid ${server.pid})`);
    void server.exited?.then(async () => {
      if (stopping) return;
      note(`[demo] nats-server died; starting it again in ${delayMs} ms`);
      await new Promise((r) => setTimeout(r, delayMs));
      if (stopping) return;
      await server.restart!().then(watch, (err: Error) => note(`[demo] nats-server could not be started again: ${err.message}`));
    });
  };
  watch();
  const stop = server.stop.bind(server);
  server.stop = () => {
    stopping = true;
    return stop();
  };
  return server;
}

/** The URL in a `{"event":"listening","url":...}` line, the way the simulator and the web service say they are ready. */
export function listeningUrl(line: string): string | undefined {
  try {
    const msg = JSON.parse(line) as { event?: string; url?: string };
    return msg.event === 'listening' ? msg.url : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves with the first output line `match` accepts; rejects if the process exits first. */
export function waitForLine<T>(p: ManagedProcess, match: (line: string) => T | undefined, timeoutMs = 20_000): Promise<T> {
  return new Promise<T>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      p.off('event', onEvent);
      reject(new Error(`${p.options.name} did not become ready within ${timeoutMs} ms (see its log)`));
    }, timeoutMs);
    const onEvent = (e: ManagedProcessEvent) => {
      if (e.type === 'line') {
        const value = match(e.line);
        if (value !== undefined) {
          clearTimeout(timer);
          p.off('event', onEvent);
          resolvePromise(value);
        }
      } else if (e.type === 'exited') {
        clearTimeout(timer);
        p.off('event', onEvent);
        reject(new Error(`${p.options.name} exited (code ${e.code}) before it was ready; see its log`));
      }
    };
    p.on('event', onEvent);
  });
}

/** Waits until every service answers its status request on the bus. */
export async function waitForServices(bus: Bus, names: readonly string[], timeoutMs = 30_000): Promise<void> {
  await Promise.all(names.map((name) => bus.waitForService(name, undefined, timeoutMs)));
}
