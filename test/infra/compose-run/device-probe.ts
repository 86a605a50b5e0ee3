/**
 * Runs inside a device's container (docker exec ... node -), with that container's own NATS
 * user from its environment: tries to publish into and listen to another device's subjects,
 * and listens to its own playback as the positive control. Prints one JSON line.
 * Kept free of imports from the repository: only the NATS client the image already has.
 */
export function deviceProbeSource(own: string, other: string, marker: string): string {
  return `
import { connect } from '@nats-io/transport-node';
const errors = [];
const nc = await connect({ servers: process.env.NATS_URL, user: process.env.NATS_USER, pass: process.env.NATS_PASS });
(async () => { for await (const s of nc.status()) if (s.type === 'error') errors.push(String(s.error)); })();
const got = { other: 0, own: 0 };
const subErrors = [];
for (const subject of ['voice.v1.${other}.playback', 'voice.v1.${other}.audio.in']) {
  nc.subscribe(subject, { callback: (e) => (e ? subErrors.push(String(e)) : got.other++) });
}
nc.subscribe('voice.v1.${own}.playback', { callback: (e) => { if (!e) got.own++; } });
await nc.flush();
for (const subject of ['voice.v1.${other}.audio.in', 'voice.v1.${other}.control', 'voice.v1.${other}.turn']) nc.publish(subject, ${JSON.stringify(marker)});
await nc.flush();
// Long enough for the device's own conversation to produce playback events.
await new Promise((r) => setTimeout(r, 12000));
await nc.flush();
console.log(JSON.stringify({ user: process.env.NATS_USER, got, errors: [...errors, ...subErrors] }));
await nc.close();
`;
}
