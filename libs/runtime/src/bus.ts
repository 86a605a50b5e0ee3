import { readFileSync } from 'node:fs';
import { jetstream } from '@nats-io/jetstream';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { context, SpanKind, trace, type Context } from '@opentelemetry/api';
import {
  AudioChunkError,
  allDevicesSubject,
  decodeAudioChunk,
  decodeEvent,
  deviceSubject,
  encodeAudioChunk,
  encodeEvent,
  EventDecodeError,
  HEADERS,
  InvalidSubjectError,
  parseSubject,
  streamOfEvent,
  subjectTemplate,
  type AudioChunk,
  type EventOnStream,
  type EventStream,
  type Stream,
  type VoiceEvent,
} from '@voicebus/protocol';
import type { Logger } from 'pino';
import { ATTR, MESSAGING_SYSTEM } from './attributes.ts';
import { nowUs } from './clock.ts';
import { extractTraceContext, injectTraceContext } from './trace-headers.ts';
import type { OutageListener } from './outage-hold.ts';

export type AudioStream = 'audio.in' | 'audio.out';

export interface NatsConnectOptions {
  servers: string;
  /** Connection name shown by the server (`<service>-<instance>`). */
  name: string;
  user?: string | undefined;
  pass?: string | undefined;
  token?: string | undefined;
  /** Path of a `.creds` file (operator mode); read at connect and again at every reconnect. */
  creds?: string | undefined;
  /** Where replies come back (nats.js `inboxPrefix`; default `_INBOX`): a device's own (deviceInboxPrefix). */
  inboxPrefix?: string | undefined;
}

/**
 * Per-device lease fencing (scale-out): what a publisher stamps on what it sends, and what a
 * consumer drops because its sender lost the device.
 */
export interface LeaseFencing {
  /** The service whose leases `tokenOf` gives (the `Voice-Lease` header is `<service>:<token>`). */
  readonly service: string;
  tokenOf(deviceId: string): number | undefined;
  /** True when a message's lease token is older than the current owner's. */
  isStale(service: string, deviceId: string, token: number): boolean;
}

/** Everything a Bus is given when it is made; nothing is attached afterwards. */
export interface BusHooks {
  log: Logger;
  /** Called for every rejected message (the runtime counts them as a metric). */
  onReject?: ((kind: string) => void) | undefined;
  fencing?: LeaseFencing | undefined;
  /**
   * Fraction of audio chunks that get their own send/process spans (default 0: at 50 chunks
   * a second per device they would drown every trace).
   */
  chunkSpanRatio?: number | undefined;
}

export type BusOptions = NatsConnectOptions & BusHooks;

export class NatsCredentialsError extends Error {
  override name = 'NatsCredentialsError' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A credentials file that cannot be read is a clear error, not an anonymous connection. */
function readCredsFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new NatsCredentialsError(`cannot read NATS credentials file ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** Connects to NATS the way every voicebus process does: a voice stack must outlive a NATS restart. */
export async function connectNats(options: NatsConnectOptions): Promise<NatsConnection> {
  return connect({
    servers: options.servers.split(',').map((s) => s.trim()),
    name: options.name,
    user: options.user,
    pass: options.pass,
    token: options.token,
    ...(options.creds ? { authenticator: credsAuthenticator(() => readCredsFile(options.creds!)) } : {}),
    ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
  });
}

/** `Voice-Lease`: `<service>:<token>`, the token a non-negative integer. */
const LEASE_HEADER = /^([A-Za-z0-9_-]{1,64}):(\d{1,16})$/;

/** Marks a chunk that was given its own send span (sampled chunk tracing). */
const CHUNK_SPAN_HEADER = 'Voice-Chunk-Span';

export interface Received {
  /** The chunk carries a sampled send span: consumers may open a process span for it. */
  chunkTraced: boolean;
  subject: string;
  deviceId: string;
  /** The producer's trace context, to parent the process span. */
  parent: Context;
  headers: MsgHdrs | undefined;
  /** Lease fence from the publisher, when it set one. */
  lease: number | undefined;
}

export interface SubscribeOptions {
  /** One device's subject instead of every device's. */
  deviceId?: string;
  /** NATS queue group (only where any instance may take any message). */
  queue?: string;
}

/** Rejected messages by reason, e.g. `audio:odd-length`, `event:turn.end`. */
export type RejectCounts = Map<string, number>;

/**
 * The service's view of NATS: typed publish/subscribe over the wire contract, W3C trace
 * context in headers, send spans on publish, and invalid input counted and logged once per
 * kind instead of reaching an actor.
 */
export class Bus {
  readonly nc: NatsConnection;
  readonly rejected: RejectCounts = new Map();
  private readonly log: Logger;
  private readonly loggedRejects = new Set<string>();
  private readonly chunkSpanRatio: number;
  private readonly fencing: LeaseFencing | undefined;
  private readonly onReject: ((kind: string) => void) | undefined;

  constructor(nc: NatsConnection, hooks: BusHooks) {
    this.nc = nc;
    this.log = hooks.log;
    this.fencing = hooks.fencing;
    this.onReject = hooks.onReject;
    this.chunkSpanRatio = Math.min(1, Math.max(0, hooks.chunkSpanRatio ?? 0));
    void this.watchStatus();
  }

  static async connect(options: BusOptions): Promise<Bus> {
    return new Bus(await connectNats(options), options);
  }

  private leaseHeader(deviceId: string): string | undefined {
    const token = this.fencing?.tokenOf(deviceId);
    return token === undefined ? undefined : `${this.fencing!.service}:${token}`;
  }

  /** False between a disconnect and the reconnect that follows it. */
  connected = true;

  /** The devices' outboxes (DeviceOutbox): told of every disconnect and reconnect. */
  private readonly outboxes = new Set<OutageListener>();

  /** Registers a listener of disconnects and reconnects; returns its removal. */
  onOutage(listener: OutageListener): () => void {
    this.outboxes.add(listener);
    if (!this.connected) listener.disconnected();
    return () => void this.outboxes.delete(listener);
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        this.connected = false;
        for (const o of this.outboxes) o.disconnected();
      }
      if (s.type === 'reconnect') {
        this.connected = true;
        for (const o of this.outboxes) o.reconnected();
      }
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error' || s.type === 'slowConsumer') {
        this.log.warn({ natsStatus: s.type, data: 'data' in s ? String((s as { data?: unknown }).data) : undefined }, `nats ${s.type}`);
      }
    }
  }

  /** Validates, serialises and publishes an event on its device's stream, inside a send span. */
  publishEvent(event: VoiceEvent): void {
    this.sendEvent(event, (subject, body, h) => this.nc.publish(subject, body, { headers: h }));
  }

  /**
   * publishEvent through JetStream: resolves once the stream `streamName` stored it, rejects
   * when no such stream takes the subject or the ack does not come (see storeAudio).
   */
  async storeEvent(event: VoiceEvent, streamName: string, timeoutMs = 2000): Promise<void> {
    let stored: Promise<unknown> = Promise.resolve();
    this.sendEvent(event, (subject, body, h) => {
      stored = jetstream(this.nc as never).publish(subject, body, { headers: h, expect: { streamName }, timeout: timeoutMs });
    });
    await stored;
  }

  private sendEvent(event: VoiceEvent, send: (subject: string, body: Uint8Array, h: MsgHdrs) => void): void {
    const stream = streamOfEvent(event.type);
    const lease = this.fencing?.tokenOf(event.deviceId);
    const withLease = lease !== undefined && event.lease === undefined ? { ...event, lease } : event;
    const body = encodeEvent(withLease);
    const subject = deviceSubject(event.deviceId, stream);
    const h = natsHeaders();
    const leaseHeader = this.leaseHeader(event.deviceId);
    if (leaseHeader) h.set(HEADERS.lease, leaseHeader);
    const tracer = trace.getTracer('voicebus.runtime');
    const span = tracer.startSpan(`send ${subjectTemplate(stream)}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        [ATTR.messagingSystem]: MESSAGING_SYSTEM,
        [ATTR.messagingOperationType]: 'send',
        [ATTR.messagingOperationName]: 'send',
        [ATTR.messagingDestinationName]: subject,
        [ATTR.messagingDestinationTemplate]: subjectTemplate(stream),
        [ATTR.messagingMessageBodySize]: body.byteLength,
        [ATTR.deviceId]: event.deviceId,
        [ATTR.eventType]: event.type,
        ...('turnId' in event && event.turnId ? { [ATTR.turnId]: event.turnId } : {}),
      },
    });
    injectTraceContext(h, trace.setSpan(context.active(), span));
    try {
      send(subject, body, h);
    } finally {
      span.end();
    }
  }

  /** publishEvent for actors: an event that fails validation is logged, never thrown into the actor. */
  tryPublishEvent(event: VoiceEvent, log: Logger): boolean {
    try {
      this.publishEvent(event);
      return true;
    } catch (err) {
      log.error({ err, type: event.type }, 'could not publish event');
      return false;
    }
  }

  /**
   * Publishes an audio chunk. No span per chunk (far too many); the active context, e.g. the
   * turn's, still travels in the headers so consumers can link audio to its turn.
   */
  publishAudio(deviceId: string, stream: AudioStream, chunk: AudioChunk): void {
    const { subject, body, h } = this.audioMessage(deviceId, stream, chunk);
    if (this.chunkSpanRatio > 0 && Math.random() < this.chunkSpanRatio) {
      const span = trace.getTracer('voicebus.runtime').startSpan(`send ${subjectTemplate(stream)}`, {
        kind: SpanKind.PRODUCER,
        attributes: {
          [ATTR.messagingSystem]: MESSAGING_SYSTEM,
          [ATTR.messagingOperationType]: 'send',
          [ATTR.messagingDestinationName]: subject,
          [ATTR.messagingDestinationTemplate]: subjectTemplate(stream),
          [ATTR.messagingMessageBodySize]: body.byteLength,
          [ATTR.deviceId]: deviceId,
        },
      });
      h.set(CHUNK_SPAN_HEADER, '1');
      injectTraceContext(h, trace.setSpan(context.active(), span));
      this.nc.publish(subject, body, { headers: h });
      span.end();
      return;
    }
    injectTraceContext(h);
    this.nc.publish(subject, body, { headers: h });
  }

  /**
   * Publishes an audio chunk through JetStream: resolves once the stream `streamName` has
   * stored it (the server's ack), rejects when no such stream takes the subject (it is not
   * there yet, e.g. after a server restart) or the ack does not come within `timeoutMs`.
   * Subscribers get it as they get any chunk. For audio that must not be lost on its way, at
   * the cost of a round trip per chunk.
   */
  async storeAudio(deviceId: string, stream: AudioStream, chunk: AudioChunk, streamName: string, timeoutMs = 2000): Promise<void> {
    const { subject, body, h } = this.audioMessage(deviceId, stream, chunk);
    injectTraceContext(h);
    await jetstream(this.nc as never).publish(subject, body, { headers: h, expect: { streamName }, timeout: timeoutMs });
  }

  private audioMessage(deviceId: string, stream: AudioStream, chunk: AudioChunk): { subject: string; body: Uint8Array; h: MsgHdrs } {
    const { body, headers } = encodeAudioChunk({ ...chunk, sentAtUs: chunk.sentAtUs ?? nowUs() });
    const h = natsHeaders();
    for (const [k, v] of Object.entries(headers)) h.set(k, v);
    const leaseHeader = this.leaseHeader(deviceId);
    if (leaseHeader) h.set(HEADERS.lease, leaseHeader);
    return { subject: deviceSubject(deviceId, stream), body, h };
  }

  /** Subscribes to one event stream of every device (or one), delivering only valid events. */
  subscribeEvents<S extends EventStream>(
    stream: S,
    handler: (event: EventOnStream<S>, meta: Received) => void,
    options: SubscribeOptions = {},
  ): Subscription {
    return this.subscribe(stream, options, this.eventsTo(stream, handler));
  }

  /**
   * An event read back from a JetStream history (a reader that was cut off catching up),
   * through the checks a live one passes: its subject, its fence, its shape, its device. A
   * message of another stream is refused as one of the wrong shape would be.
   */
  receiveStoredEvent<S extends EventStream>(stream: S, msg: Pick<Msg, 'subject' | 'data' | 'headers'>, handler: (event: EventOnStream<S>, meta: Received) => void): void {
    let on: Stream | undefined;
    try {
      on = parseSubject(msg.subject).stream;
    } catch {
      on = undefined; // receive refuses the subject
    }
    if (on !== undefined && on !== stream) {
      this.reject(`event:${stream}:other-stream`, new Error(`${msg.subject} is not a ${stream} subject`), msg.subject);
      return;
    }
    this.receive(msg, this.eventsTo(stream, handler));
  }

  private eventsTo<S extends EventStream>(stream: S, handler: (event: EventOnStream<S>, meta: Received) => void): (msg: Pick<Msg, 'subject' | 'data'>, meta: Received) => void {
    return (msg, meta) => {
      let event: EventOnStream<S>;
      try {
        event = decodeEvent(stream, msg.data);
      } catch (err) {
        const kind = err instanceof EventDecodeError ? `event:${stream}:${err.eventType ?? 'unparsable'}` : `event:${stream}:error`;
        this.reject(kind, err, msg.subject);
        return;
      }
      if (event.deviceId !== meta.deviceId) {
        this.reject(`event:${stream}:device-mismatch`, new Error(`event for ${event.deviceId} on ${msg.subject}`), msg.subject);
        return;
      }
      handler(event, meta);
    };
  }

  /** Subscribes to an audio stream of every device (or one), delivering only valid chunks. */
  subscribeAudio(stream: AudioStream, handler: (chunk: AudioChunk, meta: Received) => void, options: SubscribeOptions = {}): Subscription {
    return this.subscribe(stream, options, (msg, meta) => {
      let chunk: AudioChunk;
      try {
        chunk = decodeAudioChunk(msg.data, msg.headers);
      } catch (err) {
        const kind = err instanceof AudioChunkError ? `audio:${err.code}` : 'audio:error';
        this.reject(kind, err, msg.subject);
        return;
      }
      handler(chunk, meta);
    });
  }

  private subscribe(stream: Stream, options: SubscribeOptions, deliver: (msg: Msg, meta: Received) => void): Subscription {
    const subject = options.deviceId ? deviceSubject(options.deviceId, stream) : allDevicesSubject(stream);
    return this.nc.subscribe(subject, {
      queue: options.queue,
      callback: (err, msg) => {
        if (err) {
          this.log.warn({ err, subject }, 'subscription error');
          return;
        }
        this.receive(msg, deliver);
      },
    });
  }

  /** The checks every message passes before a handler sees it: its subject, then its fence. */
  private receive<M extends Pick<Msg, 'subject' | 'data' | 'headers'>>(msg: M, deliver: (msg: M, meta: Received) => void): void {
    let deviceId: string;
    try {
      deviceId = parseSubject(msg.subject).deviceId;
    } catch (e) {
      this.reject('subject', e as InvalidSubjectError, msg.subject);
      return;
    }
    const leaseRaw = msg.headers?.get(HEADERS.lease) ?? '';
    let lease: number | undefined;
    if (leaseRaw !== '') {
      // A fence that cannot be read cannot be checked: refused, not taken as no fence.
      const fence = LEASE_HEADER.exec(leaseRaw);
      if (!fence || !Number.isSafeInteger(Number(fence[2]))) {
        this.reject('bad-lease', new Error(`${HEADERS.lease}=${JSON.stringify(leaseRaw.slice(0, 80))} is not <service>:<token>`), msg.subject);
        return;
      }
      lease = Number(fence[2]);
      // Fencing: a publisher that lost its lease (paused, cut off) is not listened to.
      if (this.fencing?.isStale(fence[1]!, deviceId, lease)) {
        this.reject('fenced', new Error(`stale lease ${leaseRaw}`), msg.subject);
        return;
      }
    }
    const meta: Received = {
      chunkTraced: msg.headers?.get(CHUNK_SPAN_HEADER) === '1',
      subject: msg.subject,
      deviceId,
      parent: extractTraceContext(msg.headers),
      headers: msg.headers,
      lease,
    };
    try {
      deliver(msg, meta);
    } catch (e) {
      // A handler must never take the subscription down with it.
      this.log.error({ err: e, subject: msg.subject }, 'message handler threw');
    }
  }

  private reject(kind: string, err: unknown, subject: string): void {
    this.rejected.set(kind, (this.rejected.get(kind) ?? 0) + 1);
    this.onReject?.(kind);
    if (!this.loggedRejects.has(kind)) {
      this.loggedRejects.add(kind);
      this.log.warn({ kind, subject, err: (err as Error)?.message }, 'rejected invalid message (logged once per kind, counted)');
    }
  }

  rejectedTotal(): number {
    let n = 0;
    for (const v of this.rejected.values()) n += v;
    return n;
  }

  /**
   * Resolves once `voicebus.<service>[.<instance>].status` answers: the service is up and
   * subscribed. A request is the probe (no event says a subscriber appeared), retried.
   */
  async waitForService(service: string, instanceId?: string, timeoutMs = 30_000): Promise<unknown> {
    const subject = instanceId ? `voicebus.${service}.${instanceId}.status` : `voicebus.${service}.status`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return JSON.parse((await this.nc.request(subject, undefined, { timeout: 1000 })).string());
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`service ${service} did not answer on ${subject} within ${timeoutMs} ms`, { cause: err });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async flush(): Promise<void> {
    await this.nc.flush();
  }

  /** Lets in-flight messages through (subscriptions drained, publishes flushed), then closes. */
  async drain(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.drain().catch(() => {});
  }
}

/** The consumer span name and attributes for a message received on `stream`. */
export function processSpan(stream: Stream, meta: Received, extra: Record<string, string | number | boolean> = {}) {
  return {
    parent: meta.parent,
    name: `process ${subjectTemplate(stream)}`,
    attributes: {
      [ATTR.messagingSystem]: MESSAGING_SYSTEM,
      [ATTR.messagingOperationType]: 'process',
      [ATTR.messagingOperationName]: 'process',
      [ATTR.messagingDestinationName]: meta.subject,
      [ATTR.messagingDestinationTemplate]: subjectTemplate(stream),
      [ATTR.deviceId]: meta.deviceId,
      ...extra,
    },
  };
}
