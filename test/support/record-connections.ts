/**
 * Preloaded into a child process (`node --import <this> ...`): records every outgoing TCP
 * connection the process tries, whoever makes it (http, fetch/undici, a NATS client), from
 * Node's own `net.client.socket` diagnostics channel, and writes them to
 * $RECORD_CONNECTIONS_FILE at exit as JSON [{ address, port }]. A test can then say "this
 * process tried to reach nobody" without owning a port someone else may hold.
 */
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';

const file = process.env.RECORD_CONNECTIONS_FILE;
const attempts: { address: string; port: number }[] = [];
subscribe('net.client.socket', (message) => {
  const { socket } = message as { socket: Socket };
  // One entry per address tried (happy eyeballs may try several for one host).
  socket.on('connectionAttempt', (address: string, port: number) => void attempts.push({ address, port }));
});
process.on('exit', () => {
  if (file) writeFileSync(file, JSON.stringify(attempts));
});
