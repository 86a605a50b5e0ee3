import { existsSync } from 'node:fs';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalNatsCluster, type ClusterNode, type LocalNatsCluster } from './index.ts';

let cluster: LocalNatsCluster | undefined;
let nc: NatsConnection | undefined;
afterEach(async () => {
  await nc?.close();
  await cluster?.stop();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Writes until a write succeeds (a new stream leader may take seconds to be elected); returns how long that took. */
async function writeUntilAccepted(kv: KV, key: string, value: string, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  let last: unknown;
  while (Date.now() - started < timeoutMs) {
    try {
      await kv.put(key, value);
      return Date.now() - started;
    } catch (err) {
      last = err;
    }
  }
  throw new Error(`no write accepted within ${timeoutMs} ms`, { cause: last });
}

/**
 * The node leading `stream`, asked until the cluster answers: right after a node was killed the
 * client may still be moving to another node, or the stream electing (CI under load saw a 5 s
 * timeout of the first ask, with the write already accepted).
 */
async function streamLeader(c: LocalNatsCluster, conn: NatsConnection, stream: string, timeoutMs = 20_000): Promise<ClusterNode> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const info = await (await jetstreamManager(conn, { timeout: 2000 })).streams.info(stream);
      const leader = c.nodes.find((n) => n.name === info.cluster?.leader);
      if (leader) return leader;
      if (Date.now() > deadline) throw new Error(`${stream} has no leader among the nodes: ${info.cluster?.leader}`);
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until every replica of `stream` is current (a restarted node has caught up). */
async function replicasCurrent(conn: NatsConnection, stream: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    try {
      const info = await (await jetstreamManager(conn, { timeout: 2000 })).streams.info(stream);
      const replicas = info.cluster?.replicas ?? [];
      seen = JSON.stringify(replicas.map((r) => ({ name: r.name, current: r.current, offline: r.offline })));
      if (replicas.length === 2 && replicas.every((r) => r.current && !r.offline)) return;
    } catch (err) {
      seen = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${stream}: replicas not current within ${timeoutMs} ms: ${seen}`);
}

describe('local nats-server cluster', () => {
  it('forms a 3-node JetStream cluster; a 3-replica KV bucket survives killing its stream leader and then the meta leader', async () => {
    cluster = await startLocalNatsCluster({ nodes: 3 });
    const { nodes } = cluster;
    expect(new Set(nodes.map((n) => n.port)).size).toBe(3);
    expect(cluster.url.split(',')).toEqual(nodes.map((n) => n.url));
    const firstLeader = await cluster.metaLeader();
    expect(firstLeader).toBeDefined();

    nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    const kv = await new Kvm(jetstream(nc, { timeout: 1000 })).create('cluster_test', { replicas: 3, history: 1 });
    const info = await (await jetstreamManager(nc)).streams.info('KV_cluster_test');
    expect(info.config.num_replicas).toBe(3);
    expect(info.cluster?.replicas).toHaveLength(2);
    await kv.put('before', 'one');

    // The stream's leader is the node whose loss hurts a KV most: a new one must be elected.
    const victim = await streamLeader(cluster, nc, 'KV_cluster_test');
    const victimPid = victim.pid!;
    await victim.kill();
    expect(alive(victimPid)).toBe(false);
    const afterNodeKillMs = await writeUntilAccepted(kv, 'after-node-kill', 'two');
    expect((await kv.get('before'))?.string()).toBe('one');
    expect((await streamLeader(cluster, nc, 'KV_cluster_test')).name).not.toBe(victim.name);

    // Back with its store; then the meta leader goes (two of three again, still a quorum).
    await cluster.restart(victim);
    expect(victim.running).toBe(true);
    // Only once the restarted node has caught the stream up are two of three a quorum for it:
    // killing the meta leader before that (CI under load) leaves the bucket without one.
    await replicasCurrent(nc, 'KV_cluster_test');
    const metaLeader = (await cluster.metaLeader())!;
    await metaLeader.kill();
    const newMetaLeader = await cluster.waitUntilFormed();
    expect(newMetaLeader.name).not.toBe(metaLeader.name);
    const afterLeaderKillMs = await writeUntilAccepted(kv, 'after-leader-kill', 'three');
    expect((await kv.get('before'))?.string()).toBe('one');
    expect((await kv.get('after-node-kill'))?.string()).toBe('two');
    expect((await kv.get('after-leader-kill'))?.string()).toBe('three');
    console.log(`cluster test: writes accepted again ${afterNodeKillMs} ms after the stream leader was killed, ${afterLeaderKillMs} ms after the meta leader was`);
  }, 90_000);

  it('stop() leaves no nats-server process and no temp dir behind, killed and restarted nodes included', async () => {
    cluster = await startLocalNatsCluster({ nodes: 3 });
    const node = cluster.nodes[1]!;
    const firstPid = node.pid!;
    await node.kill();
    await cluster.restart(node);
    expect(node.pid).not.toBe(firstPid);
    const pids = cluster.nodes.map((n) => n.pid!);
    const dir = cluster.dataDir;
    expect(existsSync(dir)).toBe(true);
    await cluster.stop();
    await cluster.stop(); // idempotent
    for (const pid of [firstPid, ...pids]) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(dir)).toBe(false);
    cluster = undefined;
  }, 60_000);
});
