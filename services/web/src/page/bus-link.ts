/// <reference lib="dom" />
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders, jwtAuthenticator, wsconnect, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { deviceInboxPrefix } from '@voicebus/protocol';
import type { OutageListener } from '@voicebus/runtime/outage-hold';
import type { DeviceGrant } from '../web-server.ts';

/** What the page shows about its connection. */
export type LinkStatus =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'connected'; server: string; reconnected: boolean }
  | { kind: 'reconnecting' }
  | { kind: 'unreachable'; attempt: number; retryInMs: number; reason: string }
  | { kind: 'closed' };

export interface BusLinkOptions {
  minBackoffMs: number;
  maxBackoffMs: number;
}

export const BUS_LINK_DEFAULTS: BusLinkOptions = { minBackoffMs: 500, maxBackoffMs: 10_000 };

export class GrantError extends Error {
  override name = 'GrantError' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The page asks the web service for its device's credential (and where NATS is). */
export async function fetchGrant(deviceId: string): Promise<DeviceGrant> {
  let res: Response;
  try {
    res = await fetch(`api/credential?device=${encodeURIComponent(deviceId)}`, { cache: 'no-store' });
  } catch (cause) {
    throw new GrantError('the web service cannot be reached', { cause });
  }
  const body = (await res.json().catch(() => ({}))) as Partial<DeviceGrant> & { error?: string };
  if (!res.ok) throw new GrantError(body.error ?? `the web service refused a credential (HTTP ${res.status})`);
  return body as DeviceGrant;
}

interface Wanted {
  subject: string;
  onMessage: (msg: Msg) => void;
  sub?: Subscription;
}

/**
 * The page's NATS connection over WebSocket. nats.js reconnects a lost connection by itself
 * (and re-subscribes); when there is none to reconnect (NATS was unreachable from the start, or
 * the client gave up), this link starts over with exponential backoff and jitter. The
 * credential is fetched again before it expires and on every new start, so a long-open page
 * stays authorised. Every change is reported to `onStatus`.
 */
export class BusLink {
  readonly options: BusLinkOptions;
  private readonly getGrant: () => Promise<DeviceGrant>;
  private readonly onStatus: (status: LinkStatus) => void;
  private readonly onConnected: () => void;
  private readonly onServerError: (err: Error) => void;
  private readonly wanted: Wanted[] = [];
  private grant: DeviceGrant | undefined;
  private nc: NatsConnection | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private online = false;
  private outageListener: OutageListener | undefined;
  attempts = 0;

  constructor(hooks: { grant: () => Promise<DeviceGrant>; status: (s: LinkStatus) => void; connected: () => void; serverError: (err: Error) => void }, options: Partial<BusLinkOptions> = {}) {
    this.options = { ...BUS_LINK_DEFAULTS, ...options };
    this.getGrant = hooks.grant;
    this.onStatus = hooks.status;
    this.onConnected = hooks.connected;
    this.onServerError = hooks.serverError;
  }

  get connected(): boolean {
    return this.online;
  }

  start(): void {
    void this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.refreshTimer);
    await this.nc?.close().catch(() => {});
  }

  subscribe(subject: string, onMessage: (msg: Msg) => void): void {
    const w: Wanted = { subject, onMessage };
    this.wanted.push(w);
    if (this.nc && !this.nc.isClosed()) this.attach(this.nc, w);
  }

  /**
   * One listener (the device's OutageHold): told of every loss of the connection and every
   * return. Before the first connection the bus is away too: what the microphone captures
   * while the page connects (or NATS is unreachable) is held and sent once it is there.
   */
  onOutage(listener: OutageListener): void {
    this.outageListener = listener;
    if (!this.online) listener.disconnected();
  }

  /**
   * Sent now or not at all: nats.js forgets what is published while it is disconnected (it
   * empties its buffer at every dial), so what must survive an outage goes through the
   * device's OutageHold.
   */
  publish(subject: string, data: Uint8Array, headers?: Record<string, string>): boolean {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return false;
    nc.publish(subject, data, headers ? { headers: toNatsHeaders(headers) } : undefined);
    return true;
  }

  /**
   * Published into the JetStream stream that keeps the subject, resolved once it is stored
   * (the ack comes back on the device's own inbox); rejected when no such stream takes it yet.
   */
  async store(subject: string, data: Uint8Array, headers: Record<string, string>, streamName: string, timeoutMs = 2000): Promise<void> {
    const nc = this.nc;
    if (!nc || nc.isClosed() || !this.online) throw new Error('not connected');
    await jetstream(nc).publish(subject, data, { headers: toNatsHeaders(headers), expect: { streamName }, timeout: timeoutMs });
  }

  async flush(): Promise<void> {
    await this.nc?.flush();
  }

  private attach(nc: NatsConnection, w: Wanted): void {
    w.sub = nc.subscribe(w.subject, { callback: (err, msg) => (err ? this.onServerError(err) : w.onMessage(msg)) });
  }

  private async run(): Promise<void> {
    let backoff = this.options.minBackoffMs;
    while (!this.stopped) {
      this.attempts++;
      this.onStatus({ kind: 'connecting', attempt: this.attempts });
      let nc: NatsConnection;
      try {
        this.grant = await this.getGrant();
        nc = await wsconnect({
          servers: this.grant.natsWsUrl,
          name: `web-${this.grant.deviceId}`,
          // Read at every (re)connect: the refreshed credential is used once the old one expires.
          authenticator: (nonce?: string) => jwtAuthenticator(this.grant!.jwt, new TextEncoder().encode(this.grant!.seed))(nonce),
          maxReconnectAttempts: 60,
          reconnectTimeWait: 500,
          ignoreClusterUpdates: true,
          // Replies under the device's own id: the only inbox its credential may read.
          inboxPrefix: deviceInboxPrefix(this.grant.deviceId),
        });
      } catch (err) {
        const jitter = Math.random() * backoff * 0.2;
        const retryInMs = Math.round(backoff + jitter);
        this.onStatus({ kind: 'unreachable', attempt: this.attempts, retryInMs, reason: (err as Error).message || String(err) });
        await new Promise((r) => setTimeout(r, retryInMs));
        backoff = Math.min(this.options.maxBackoffMs, backoff * 2);
        continue;
      }
      backoff = this.options.minBackoffMs;
      this.nc = nc;
      this.scheduleRefresh();
      for (const w of this.wanted) this.attach(nc, w);
      this.online = true;
      this.onStatus({ kind: 'connected', server: this.grant.natsWsUrl, reconnected: this.attempts > 1 });
      // Also the first connection: the hold was told the bus is away when it registered, and it
      // ignores a return it was not told of (nothing held).
      this.outageListener?.reconnected();
      this.onConnected();
      void this.watch(nc);
      const closed = await nc.closed();
      this.online = false;
      if (!this.stopped) this.outageListener?.disconnected();
      if (this.stopped) break;
      this.onStatus({ kind: 'unreachable', attempt: this.attempts, retryInMs: 0, reason: closed ? closed.message : 'connection closed' });
    }
    this.onStatus({ kind: 'closed' });
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnecting') {
        this.online = false;
        this.outageListener?.disconnected();
        this.onStatus({ kind: 'reconnecting' });
      } else if (s.type === 'reconnect') {
        this.online = true;
        this.onStatus({ kind: 'connected', server: this.grant?.natsWsUrl ?? '', reconnected: true });
        this.outageListener?.reconnected();
        this.onConnected();
      } else if (s.type === 'error') this.onServerError(s.error);
    }
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    const grant = this.grant;
    if (!grant) return;
    const inMs = Math.max(5_000, (grant.expiresAt - Date.now()) / 2);
    this.refreshTimer = setTimeout(() => {
      this.getGrant().then((g) => {
        this.grant = g;
        this.scheduleRefresh();
      }, () => {
        this.refreshTimer = setTimeout(() => this.scheduleRefresh(), 5_000);
      });
    }, inMs);
  }
}

function toNatsHeaders(headers: Record<string, string>) {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(headers)) h.set(k, v);
  return h;
}
