import { setTimeout as sleep } from 'node:timers/promises';
import { NatsServerStartError } from './errors.ts';
import type { NatsServer } from './nats-server.ts';

/**
 * An outage as a crash makes it: the local server is killed without a word (SIGKILL, so no
 * client is told), stays away `downMs`, and starts again on its port (NatsServer.restart).
 * `onDown` runs once the process is gone, before the wait: what the caller saw until then.
 */
export async function crashFor(server: NatsServer, downMs: number, onDown?: () => void): Promise<void> {
  if (server.pid === undefined || !server.exited || !server.restart) throw new NatsServerStartError('only a local nats-server can be crashed and started again');
  process.kill(server.pid, 'SIGKILL');
  await server.exited;
  onDown?.();
  await sleep(downMs);
  await server.restart();
}
