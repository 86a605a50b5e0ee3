import { DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JsMsg, type StoredMsg, type StreamInfo } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import { createRacing } from './jetstream-create.ts';

export interface StreamHistoryOptions {
  /** The JetStream stream's name (the protocol names each: AUDIO_HISTORY_STREAM, TURN_HISTORY_STREAM). */
  stream: string;
  subjects: string[];
  /** How long the server keeps each message: longer than a user turn plus a restart. */
  maxAgeMs: number;
  /** Copies on a JetStream cluster (the KV buckets' count), so a node's loss keeps the history. */
  replicas: number;
  /** A read gives up after this long (and keeps what it has). */
  fetchTimeoutMs: number;
  /** The stream's size limit, oldest messages dropped first (undefined: the age alone). */
  maxBytes?: number | undefined;
  /** Messages kept per subject, the newest (undefined: all): 1 keeps each subject's last word. */
  maxMsgsPerSubject?: number | undefined;
}

export const STREAM_HISTORY_DEFAULTS: Pick<StreamHistoryOptions, 'maxAgeMs' | 'replicas' | 'fetchTimeoutMs'> = { maxAgeMs: 30_000, replicas: 1, fetchTimeoutMs: 2000 };

/**
 * The recent messages of some subjects, kept by the NATS server itself: a JetStream stream in
 * memory with a max age of tens of seconds (the messages as published, headers and all). What
 * core NATS forgets at once, a part that restarted, or took a device over, reads back from
 * here (docs/architecture.md, what is kept where). The service that owns the subjects' facts
 * creates the stream; only that one reads it.
 */
export class StreamHistory {
  readonly options: StreamHistoryOptions;
  private readonly nc: NatsConnection;

  private constructor(nc: NatsConnection, options: StreamHistoryOptions) {
    this.nc = nc;
    this.options = options;
  }

  /** Creates the stream (or finds it); undefined without JetStream, with `lost` logged: what is lost on a restart then. */
  static async open(nc: NatsConnection, log: Logger, options: Pick<StreamHistoryOptions, 'stream' | 'subjects'> & Partial<StreamHistoryOptions>, lost: string): Promise<StreamHistory | undefined> {
    const opts = { ...STREAM_HISTORY_DEFAULTS, ...options };
    try {
      await ensureStream(nc, opts);
    } catch (err) {
      log.warn({ err: (err as Error).message, stream: opts.stream }, `no ${opts.stream} history (JetStream?): ${lost}`);
      return undefined;
    }
    const history = new StreamHistory(nc, opts);
    void history.keepAcrossServerRestarts(log);
    return history;
  }

  /**
   * Another service's stream, to read only: found as it is, never made (its owner decides how
   * it is kept). Undefined when it is not there (that service runs without it, or no JetStream).
   */
  static async find(nc: NatsConnection, stream: string, options: Partial<Pick<StreamHistoryOptions, 'fetchTimeoutMs'>> = {}): Promise<StreamHistory | undefined> {
    const info = await streamInfo(nc, stream);
    return info && new StreamHistory(nc, { ...STREAM_HISTORY_DEFAULTS, ...options, stream, subjects: info.config.subjects ?? [], maxAgeMs: info.config.max_age / 1e6, replicas: info.config.num_replicas });
  }

  /** Whether the stream is there (and its cluster answers within `timeoutMs`): an outbox asks before storing into it. */
  static async exists(nc: NatsConnection, stream: string, timeoutMs: number): Promise<boolean> {
    return (await streamInfo(nc, stream, timeoutMs)) !== undefined;
  }

  /**
   * A memory stream does not outlive its server: a nats-server that restarted has none, and
   * nothing would be kept from then on. It is made again on every reconnect (found, on a
   * cluster that kept it), retried while a restarted JetStream is not ready yet.
   */
  private async keepAcrossServerRestarts(log: Logger): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type !== 'reconnect') continue;
      for (let attempt = 1; ; attempt++) {
        try {
          await ensureStream(this.nc, this.options);
          break;
        } catch (err) {
          if (attempt === 10 || this.nc.isClosed()) {
            log.warn({ err: (err as Error).message, stream: this.options.stream }, `${this.options.stream} not made again after a reconnect: nothing is kept in it`);
            break;
          }
          await new Promise((r) => setTimeout(r, 250 * attempt));
        }
      }
    }
  }

  /** The newest message on `subject` (one request); undefined when the stream has none. */
  async last(subject: string): Promise<StoredMsg | undefined> {
    // No API check first (a request of its own): the get fails by itself without JetStream.
    const jsm = await jetstreamManager(this.nc as never, { timeout: this.options.fetchTimeoutMs, checkAPI: false });
    return (await jsm.streams.getMessage(this.options.stream, { last_by_subj: subject })) ?? undefined;
  }

  /**
   * Hands `visit` the messages on `subject` (every subject of the stream when undefined) that
   * reached the server since `fromMs` (epoch ms), oldest first, until it returns true, the
   * history is caught up, or the timeout passes.
   */
  async read(subject: string | undefined, fromMs: number, visit: (m: JsMsg) => boolean | void): Promise<void> {
    // Each request within the timeout, making the consumer too (on a cluster electing the
    // stream's leader that request is what waits, and the reader, an actor filling a gap,
    // waits with it; the client's own default is 5 s), and the reading within what is left.
    const deadline = Date.now() + this.options.fetchTimeoutMs;
    const js = jetstream(this.nc as never, { timeout: this.options.fetchTimeoutMs });
    const consumer = await js.consumers.get(this.options.stream, {
      ...(subject !== undefined ? { filter_subjects: subject } : {}),
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(fromMs).toISOString(),
    });
    // Nothing since then: say so now, not after the timeout.
    if ((await consumer.info()).num_pending === 0) return;
    const messages = await consumer.consume({ max_messages: 500 });
    const timer = setTimeout(() => void messages.stop(), Math.max(0, deadline - Date.now()));
    try {
      for await (const m of messages) {
        if (visit(m) === true || m.info.pending === 0) break;
      }
    } finally {
      clearTimeout(timer);
      await messages.close().catch(() => {});
    }
  }
}

/** The stream's info; undefined when it is not there, there is no JetStream, or no answer came in time. */
async function streamInfo(nc: NatsConnection, stream: string, timeoutMs?: number): Promise<StreamInfo | undefined> {
  try {
    return await (await jetstreamManager(nc as never, { checkAPI: false, ...(timeoutMs !== undefined ? { timeout: timeoutMs } : {}) })).streams.info(stream);
  } catch {
    return undefined;
  }
}

async function ensureStream(nc: NatsConnection, opts: StreamHistoryOptions): Promise<void> {
  const jsm = await jetstreamManager(nc as never);
  try {
    await jsm.streams.info(opts.stream);
  } catch {
    // Another instance may be making it at the same moment (a scaled service starting).
    await createRacing(() => jsm.streams.add({
      name: opts.stream,
      subjects: opts.subjects,
      storage: StorageType.Memory,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(opts.maxAgeMs),
      num_replicas: opts.replicas,
      ...(opts.maxBytes !== undefined ? { max_bytes: opts.maxBytes } : {}),
      ...(opts.maxMsgsPerSubject !== undefined ? { max_msgs_per_subject: opts.maxMsgsPerSubject } : {}),
    }));
  }
}
