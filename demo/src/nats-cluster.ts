import { startLocalNatsCluster, type ClusterNode, type LocalNatsCluster } from '@voicebus/nats-launcher';

export interface SupervisedCluster {
  /** Every node's client URL, comma-separated. */
  url: string;
  cluster: LocalNatsCluster;
  stop(): Promise<void>;
}

/**
 * `--nats-cluster n`: a JetStream cluster on loopback whose nodes come back when they die, the
 * way compose's `restart: unless-stopped` would bring them back, with their ports and store.
 * Every change is said in a line a person (or a test) can read: which node, its pid, its URLs.
 */
export async function startSupervisedCluster(nodes: number, logDir: string, note: (text: string) => void, configText?: string): Promise<SupervisedCluster> {
  const cluster = await startLocalNatsCluster({ nodes, logDir, configText });
  let stopping = false;
  const describe = (n: ClusterNode) => `${n.url} (pid ${n.pid}, monitor ${n.monitorUrl}, log ${logDir}/${n.name}.log)`;
  const leaderName = async () => (await cluster.metaLeader())?.name ?? 'none yet';
  const supervise = (node: ClusterNode) => {
    node.on('exit', ({ code, signal }) => {
      if (stopping) return;
      note(`[demo] nats ${node.name} died (${signal ?? `code ${code}`}); restarting it`);
      cluster.restart(node).then(
        async () => note(`[demo] nats ${node.name} is back: ${describe(node)}; meta leader ${await leaderName()}`),
        (err: Error) => note(`[demo] nats ${node.name} could not be restarted: ${err.message}`),
      );
    });
  };
  for (const node of cluster.nodes) {
    supervise(node);
    note(`[demo] nats ${node.name}: ${describe(node)}`);
  }
  note(`[demo] nats cluster of ${nodes}: meta leader ${await leaderName()}`);
  return {
    url: cluster.url,
    cluster,
    stop: () => {
      stopping = true;
      return cluster.stop();
    },
  };
}
