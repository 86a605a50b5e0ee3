/**
 * Watches the deployment's bus with the `observer` credential (read-only: every voice.v1
 * subject, plus service discovery): the devices' turn, session and playback events, and
 * the services' own reports of the devices they own.
 */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';

export interface BusEvent {
  at: number;
  deviceId: string;
  stream: string;
  type: string;
  turnId?: string;
  voiceToVoiceMs?: number;
  speechEndUs?: number;
  raw: string;
}

export interface InstanceStatus {
  service: string;
  instance: string;
  host: string;
  owned: string[];
}

export class BusObserver {
  readonly events: BusEvent[] = [];
  readonly nc: NatsConnection;
  private constructor(nc: NatsConnection) {
    this.nc = nc;
  }

  /** `credsFile`: the observer's credential from `bus-auth init` (services/observer.creds). */
  static async connect(url: string, credsFile: string): Promise<BusObserver> {
    const authenticator = credsAuthenticator(new Uint8Array(readFileSync(credsFile)));
    const nc = await connect({ servers: url, authenticator, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    const obs = new BusObserver(nc);
    for (const stream of ['turn', 'session', 'playback']) {
      nc.subscribe(`voice.v1.*.${stream}`, {
        callback: (_e, m) => {
          const raw = m.string();
          let ev: { type?: string; turnId?: string; voiceToVoiceMs?: number; speechEndUs?: number } = {};
          try {
            ev = JSON.parse(raw);
          } catch {
            /* not JSON: kept raw */
          }
          obs.events.push({ at: Date.now(), deviceId: m.subject.split('.')[2]!, stream, type: ev.type ?? '?', turnId: ev.turnId, voiceToVoiceMs: ev.voiceToVoiceMs, speechEndUs: ev.speechEndUs, raw });
        },
      });
    }
    await nc.flush();
    return obs;
  }

  of(deviceId: string, type: string, since = 0): BusEvent[] {
    return this.events.filter((e) => e.deviceId === deviceId && e.type === type && e.at >= since);
  }

  /** Turns the VAD ended (turn.end) and the answers played back (turn.latency), since a time. */
  turns(deviceId: string, since = 0): { ended: string[]; answered: string[] } {
    return {
      ended: this.of(deviceId, 'turn.end', since).map((e) => e.turnId!),
      answered: this.of(deviceId, 'turn.latency', since).map((e) => e.turnId!),
    };
  }

  async waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > until) throw new Error(`${what}: not seen within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Every instance of a service, by `$SRV.PING`, then its own status endpoint. */
  async instances(service: string): Promise<InstanceStatus[]> {
    const pings = await this.nc.requestMany(`$SRV.PING.${service}`, '', { maxWait: 1500 });
    const out: InstanceStatus[] = [];
    for await (const m of pings) {
      const info = m.json<{ metadata?: { instance?: string; host?: string } }>();
      const instance = info.metadata?.instance;
      if (!instance) continue;
      const status = (await this.nc.request(`voicebus.${service}.${instance}.status`, '', { timeout: 2000 })).json<{ ownership?: { owned?: string[] } }>();
      out.push({ service, instance, host: info.metadata?.host ?? '', owned: [...(status.ownership?.owned ?? [])].sort() });
    }
    return out.sort((a, b) => a.host.localeCompare(b.host));
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}
