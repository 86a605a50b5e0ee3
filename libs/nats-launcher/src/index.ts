export { startNatsServer, NATS_SERVER_DEFAULTS, type NatsServer, type NatsServerOptions } from './nats-server.ts';
export { startLocalNatsServer, LOCAL_NATS_SERVER_DEFAULTS, type LocalNatsServerOptions } from './local-server.ts';
export { startLocalNatsCluster, LOCAL_NATS_CLUSTER_DEFAULTS, ClusterNode, type LocalNatsCluster, type LocalNatsClusterOptions } from './local-cluster.ts';
export { readConnz, readJsz, readStreamLeader, type Connz, type Jsz } from './monitoring.ts';
export { NatsClusterNotFormedError, NatsServerNotFoundError, NatsServerStartError } from './errors.ts';
export { crashFor } from './outage.ts';
