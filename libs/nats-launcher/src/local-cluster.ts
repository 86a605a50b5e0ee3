import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsClusterNotFormedError, NatsServerStartError } from './errors.ts';
import { freePorts } from './free-ports.ts';
import { readJsz, type Jsz } from './monitoring.ts';
import { launchNatsProcess, type NatsProcess } from './nats-process.ts';

export interface LocalNatsClusterOptions {
  /** Path or name of the binary. */
  binary: string;
  nodes: number;
  /** The `cluster.name` every node shares. */
  clusterName: string;
  /** Give up waiting for a node's ports file after this long. */
  startTimeoutMs: number;
  /** Give up waiting for the cluster to agree on a meta leader after this long. */
  formTimeoutMs: number;
  /** Where the nodes write their logs (`<node>.log`); undefined keeps them in the cluster's temp dir. */
  logDir: string | undefined;
  /** More config for every node (operator mode, accounts); ports, store and routes are the launcher's. */
  configText: string | undefined;
}

export const LOCAL_NATS_CLUSTER_DEFAULTS: LocalNatsClusterOptions = {
  binary: process.env.NATS_SERVER_BIN ?? 'nats-server',
  nodes: 3,
  clusterName: 'voicebus',
  startTimeoutMs: 15_000,
  formTimeoutMs: 30_000,
  logDir: undefined,
  configText: undefined,
};

export interface ClusterNodeEvents {
  /** The process ended; `expected` when stop() or kill() asked for it. */
  exit: [{ expected: boolean; code: number | null; signal: NodeJS.Signals | null }];
}

/**
 * One nats-server of the cluster. Its ports and its JetStream store stay the same across
 * restarts, so clients given its URL find it again and it rejoins with the data it had.
 */
export class ClusterNode extends EventEmitter<ClusterNodeEvents> {
  readonly name: string;
  readonly storeDir: string;
  readonly clusterPort: number;
  private readonly configFile: string;
  private readonly dir: string;
  private readonly opts: LocalNatsClusterOptions;
  private process: NatsProcess | undefined;
  private clientPort = -1;
  private monitorPort = -1;
  private expectingExit = false;

  constructor(name: string, dir: string, clusterPort: number, opts: LocalNatsClusterOptions) {
    super();
    this.name = name;
    this.dir = dir;
    this.storeDir = join(dir, 'jetstream');
    this.configFile = join(dir, 'nats.conf');
    this.clusterPort = clusterPort;
    this.opts = opts;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.clientPort}`;
  }

  get port(): number {
    return this.clientPort;
  }

  get monitorUrl(): string {
    return `http://127.0.0.1:${this.monitorPort}`;
  }

  get pid(): number | undefined {
    return this.running ? this.process?.pid : undefined;
  }

  get running(): boolean {
    const child = this.process?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /**
   * Starts the node (again). The first start lets the server pick its client and monitoring
   * ports; later ones bind the same ports again.
   */
  async start(routes: number[]): Promise<void> {
    if (this.running) return;
    await mkdir(this.dir, { recursive: true });
    await writeFile(this.configFile, this.config(routes), { mode: 0o600 });
    const args = ['-c', this.configFile, '-l', join(this.opts.logDir ?? this.dir, `${this.name}.log`)];
    const proc = await launchNatsProcess({ binary: this.opts.binary, args, portsDir: this.dir, startTimeoutMs: this.opts.startTimeoutMs });
    const client = proc.ports.nats?.[0];
    const monitor = proc.ports.monitoring?.[0];
    if (!client || !monitor) {
      await proc.kill();
      throw new NatsServerStartError(`node ${this.name} wrote no client or monitoring port to its ports file in ${this.dir}`);
    }
    this.clientPort = Number(new URL(client).port);
    this.monitorPort = Number(new URL(monitor).port);
    this.process = proc;
    this.expectingExit = false;
    proc.child.once('exit', (code, signal) => {
      const expected = this.expectingExit;
      this.expectingExit = false;
      this.emit('exit', { expected, code, signal });
    });
  }

  /** SIGKILL: the node vanishes without a word to its clients or its routes. */
  kill(): Promise<void> {
    return this.end((p) => p.kill());
  }

  /** SIGTERM (lame duck, then exit). */
  stop(): Promise<void> {
    return this.end((p) => p.stop());
  }

  private async end(how: (p: NatsProcess) => Promise<void>): Promise<void> {
    if (!this.process || !this.running) return;
    this.expectingExit = true;
    await how(this.process);
  }

  /** What the node reports on `/jsz`, or undefined when it does not answer. */
  jsz(): Promise<Jsz | undefined> {
    return this.running ? readJsz(this.monitorUrl) : Promise.resolve(undefined);
  }

  private config(routes: number[]): string {
    // Every node routes to every node, itself included (nats-server drops a route to itself),
    // so whichever nodes are up find each other, whatever the order of restarts.
    const routeUrls = routes.map((p) => JSON.stringify(`nats-route://127.0.0.1:${p}`)).join(', ');
    return [
      `server_name: ${JSON.stringify(this.name)}`,
      'host: "127.0.0.1"',
      `port: ${this.clientPort}`,
      `http_port: ${this.monitorPort}`,
      `jetstream { store_dir: ${JSON.stringify(this.storeDir)} }`,
      `cluster { name: ${JSON.stringify(this.opts.clusterName)}, host: "127.0.0.1", port: ${this.clusterPort}, routes: [${routeUrls}] }`,
      this.opts.configText ?? '',
      '',
    ].join('\n');
  }
}

/** A JetStream cluster on loopback; `stop()` ends every node and removes every store. */
export interface LocalNatsCluster {
  nodes: ClusterNode[];
  /** Every node's client URL, comma-separated: what services take as NATS_URL. */
  url: string;
  urls: string[];
  dataDir: string;
  /** Restarts a node with its ports and store, and waits until the cluster is whole again. */
  restart(node: ClusterNode): Promise<void>;
  /** The node the running nodes agree is the JetStream meta leader, if they agree on one. */
  metaLeader(): Promise<ClusterNode | undefined>;
  /** Waits until every running node follows one meta leader that sees all of them current. */
  waitUntilFormed(timeoutMs?: number): Promise<ClusterNode>;
  stop(): Promise<void>;
}

/** Starts `nodes` nats-servers with JetStream, routed to each other, and waits until they form a cluster. */
export async function startLocalNatsCluster(options: Partial<LocalNatsClusterOptions> = {}): Promise<LocalNatsCluster> {
  const opts = { ...LOCAL_NATS_CLUSTER_DEFAULTS, ...options };
  const dir = await mkdtemp(join(tmpdir(), 'voicebus-nats-cluster-'));
  const routePorts = await freePorts(opts.nodes);
  const nodes = routePorts.map((port, i) => new ClusterNode(`n${i + 1}`, join(dir, `n${i + 1}`), port, opts));
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    })();
    return stopped;
  };

  const metaLeader = async (): Promise<ClusterNode | undefined> => (await agreedLeader(nodes))?.node;
  const waitUntilFormed = async (timeoutMs = opts.formTimeoutMs): Promise<ClusterNode> => {
    const deadline = Date.now() + timeoutMs;
    let last = 'no node answered /jsz';
    for (;;) {
      const state = await agreedLeader(nodes);
      if (state && state.allCurrent) return state.node;
      last = state ? `meta leader ${state.node.name}, but not every running node is current` : 'the running nodes do not agree on a meta leader';
      if (Date.now() > deadline) throw new NatsClusterNotFormedError(`the cluster did not form within ${timeoutMs} ms: ${last}`);
      // Raft elections take seconds; a short poll finds the outcome soon after.
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  try {
    await Promise.all(nodes.map((n) => n.start(routePorts)));
    await waitUntilFormed();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes,
    urls: nodes.map((n) => n.url),
    url: nodes.map((n) => n.url).join(','),
    dataDir: dir,
    restart: async (node) => {
      await node.start(routePorts);
      await waitUntilFormed();
    },
    metaLeader,
    waitUntilFormed,
    stop,
  };
}

/** The meta leader every running node names, and whether it sees each of them as current. */
async function agreedLeader(nodes: ClusterNode[]): Promise<{ node: ClusterNode; allCurrent: boolean } | undefined> {
  const running = nodes.filter((n) => n.running);
  const reports = await Promise.all(running.map((n) => n.jsz()));
  const leaders = new Set(reports.map((r) => r?.meta_cluster?.leader));
  if (leaders.size !== 1) return undefined;
  const name = [...leaders][0];
  const node = nodes.find((n) => n.name === name);
  if (!node || !node.running) return undefined;
  const leaderReport = reports[running.indexOf(node)];
  const replicas = leaderReport?.meta_cluster?.replicas ?? [];
  const allCurrent = running.filter((n) => n !== node).every((n) => replicas.some((r) => r.name === n.name && r.current && !r.offline));
  return { node, allCurrent };
}
