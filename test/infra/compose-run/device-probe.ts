/**
 * Runs inside a device's container (docker exec ... node -), with that container's own NATS
 * credential (NATS_CREDS, mounted by compose): tries to publish into and listen to another
 * device's subjects, and listens to its own playback as the positive control. Prints one JSON
 * line, with the user name the credential's JWT carries (the device id the server enforces).
 * Kept free of imports from the repository: only the NATS client the image already has.
 */
export function deviceProbeSource(own: string, other: string, marker: string): string {
  return `
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
const creds = readFileSync(process.env.NATS_CREDS);
const jwt = creds.toString().match(/-----BEGIN NATS USER JWT-----\\s+(\\S+)/)[1];
const user = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).name;
const errors = [];
const nc = await connect({ servers: process.env.NATS_URL, authenticator: credsAuthenticator(new Uint8Array(creds)) });
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
console.log(JSON.stringify({ user, got, errors: [...errors, ...subErrors] }));
await nc.close();
`;
}
