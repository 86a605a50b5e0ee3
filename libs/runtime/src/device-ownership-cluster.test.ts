import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startLocalNatsCluster, type ClusterNode, type LocalNatsCluster } from '@voicebus/nats-launcher';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceOwnership } from './device-ownership.ts';
import { memoryLogger } from './testing.ts';

let cluster: LocalNatsCluster;
const connections: NatsConnection[] = [];
beforeAll(async () => {
  cluster = await startLocalNatsCluster({ nodes: 3 });
}, 30_000);
afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
  await cluster?.stop();
});

/** Connects to `first` (then the others), like a service given every URL that happened to pick that node. */
async function connectTo(first: ClusterNode, name: string): Promise<NatsConnection> {
  const others = cluster.nodes.filter((n) => n !== first).map((n) => n.url);
  const nc = await connect({ servers: [first.url, ...others], noRandomize: true, name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  connections.push(nc);
  return nc;
}

async function streamLeader(nc: NatsConnection, stream: string): Promise<ClusterNode> {
  const info = await (await jetstreamManager(nc)).streams.info(stream);
  return cluster.nodes.find((n) => n.name === info.cluster?.leader)!;
}

/** Resolves once a renewal has succeeded after the store came back (the owner logs it); rejects once the lease is lost. */
function renewalsWorkAgain(lines: () => Record<string, unknown>[], seen: number, lost: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (lost.length > 0) {
        clearInterval(timer);
        reject(new Error(`the lease was lost: ${JSON.stringify(lines().find((l) => l.msg === 'lost device ownership: stopping this device here'))}`));
      }
      const back = lines().filter((l) => l.msg === 'lease renewals work again');
      if (back.length > seen) {
        clearInterval(timer);
        resolve(back.at(-1)!.outageMs as number);
      }
    }, 50);
    setTimeout(() => {
      clearInterval(timer);
      reject(new Error('lease renewals did not work again within 30 s'));
    }, 30_000);
  });
}

describe('DeviceOwnership on a 3-node cluster (3 replicas)', () => {
  it('a held lease survives killing its owner\'s node (the leases\' stream leader) and then the meta leader: never lost, never taken', async () => {
    const probe = await connectTo(cluster.nodes[0]!, 'probe');
    const { log, lines } = memoryLogger();
    const bucket = 'cluster_leases';
    // Create the bucket first, so its stream leader is known before the owner connects to it.
    const first = await DeviceOwnership.start(probe, { service: 'probe', instanceId: 'probe', bucket, replicas: 3 }, memoryLogger().log);
    const leaderNode = await streamLeader(probe, `KV_${bucket}`);
    expect((await (await jetstreamManager(probe)).streams.info(`KV_${bucket}`)).config.num_replicas).toBe(3);
    const owner = await DeviceOwnership.start(await connectTo(leaderNode, 'owner'), { service: 'svc', instanceId: 'owner', bucket, replicas: 3 }, log);
    const rival = await DeviceOwnership.start(await connectTo(cluster.nodes.find((n) => n !== leaderNode)!, 'rival'), { service: 'svc', instanceId: 'rival', bucket, replicas: 3 }, memoryLogger().log);
    expect(await owner.acquire('dev')).toBe(true);
    const lost: string[] = [];
    owner.onLost = (id) => lost.push(id);
    // Sample what the owner and its rival believe, every 50 ms, for the whole run.
    let notMine = 0;
    let rivalWon = 0;
    const sampler = setInterval(() => {
      if (!owner.isMine('dev')) notMine++;
      void rival.acquire('dev').then((won) => won && rivalWon++);
    }, 50);
    try {
      const killedAt = Date.now();
      await leaderNode.kill();
      const outage1 = await renewalsWorkAgain(lines, 0, lost);
      const back1 = Date.now() - killedAt;
      await cluster.restart(leaderNode);

      const meta = (await cluster.metaLeader())!;
      const killedMetaAt = Date.now();
      await meta.kill();
      await cluster.waitUntilFormed();
      // Renewals that never failed log nothing: a fresh successful renewal is the proof then.
      // Killing the meta leader costs renewals only when it also led the leases' stream.
      const recoveries = lines().filter((l) => l.msg === 'lease renewals work again').length;
      const outage2 = owner.storeOutageSince !== undefined || recoveries > 1 ? await renewalsWorkAgain(lines, 1, lost) : 0;
      const back2 = Date.now() - killedMetaAt;
      await cluster.restart(meta);
      expect(lost).toEqual([]);
      expect(notMine).toBe(0);
      expect(rivalWon).toBe(0);
      expect(owner.ownedDevices).toEqual(['dev']);
      console.log(`leases on a cluster: node kill (owner's node, stream leader ${leaderNode.name}): renewals failed for ${outage1} ms, back ${back1} ms after the kill; ` +
        `meta leader kill (${meta.name}): renewals failed for ${outage2} ms, cluster formed again ${back2} ms after the kill; ` +
        `re-taken after expiry: ${lines().filter((l) => String(l.msg).startsWith('lease expired while')).length}`);
    } finally {
      clearInterval(sampler);
      if (process.env.DEBUG_LEASES) for (const l of lines()) console.log(l.time, l.msg, JSON.stringify({ ...l, time: undefined, msg: undefined, service: undefined, instanceId: undefined, pid: undefined, hostname: undefined, level: undefined }));
      await Promise.all([owner, rival, first].map((o) => o.releaseAll()));
    }
  }, 90_000);
});
