import { createServer, type Server } from 'node:net';

/**
 * `count` distinct free TCP ports on 127.0.0.1. Every node of a JetStream cluster must be
 * given the route addresses of the others in its config before it starts, so a cluster
 * cannot use nats-server's own `-1` for its route ports (clients and monitoring still do).
 * All are held open together and then released, so the ports are distinct; another process
 * could take one in the moment before nats-server binds it, which start() then reports.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
