export { startNatsServer, NATS_SERVER_DEFAULTS, type NatsServer, type NatsServerOptions } from './nats-server.ts';
export { startLocalNatsServer, LOCAL_NATS_SERVER_DEFAULTS, type LocalNatsServerOptions } from './local-server.ts';
export { NatsServerNotFoundError, NatsServerStartError } from './errors.ts';
