import { createInbox, NoRespondersError, RequestError, TimeoutError, type Msg, type MsgHdrs, type NatsConnection, type Payload, type Status, type Subscription } from '@nats-io/nats-core';

/**
 * NATS's core publish/subscribe inside one process, for running several services in one
 * process without a server (the bench's in-process stack: the bus's end-to-end cost is the
 * difference). The router is the server: subjects and wildcards (`*`, `>`), queue groups,
 * request/reply and per-publisher order are NATS's; messages are the encoded bytes and headers
 * the Bus made, copied at publish and delivered after the publishing call returns (in a
 * microtask, never inside it), as a server delivers them after the publish. Each service gets
 * a connection of its own (`connect()`): draining one at its shutdown leaves the others'. There
 * is no JetStream: every `$JS.API` request has no responders, which the services take as a
 * NATS without JetStream (no leases, no histories).
 */
export class LocalRouter {
  private readonly subs = new Set<LocalSubscription>();
  /** Subscriptions by subject, recomputed when one is added or removed: most messages go to a subject seen before. */
  private readonly matchCache = new Map<string, LocalSubscription[]>();
  private readonly queue: LocalMsg[] = [];
  private scheduled = false;
  private readonly idleWaiters: (() => void)[] = [];
  private nextSid = 1;

  /** A client connection, as the Bus and the services take one: only the calls they make are there. */
  connect(): NatsConnection {
    return new LocalConnection(this) as unknown as NatsConnection;
  }

  /** @internal */
  publish(subject: string, payload: Payload | undefined, options: { headers?: MsgHdrs; reply?: string }): void {
    // A copy, as the client's write to its socket is: an audio chunk's body is a view of the
    // publisher's samples, which it may reuse once publish returns.
    const data = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload ? new Uint8Array(payload) : new Uint8Array(0);
    this.queue.push(new LocalMsg(this, subject, data, options.headers, options.reply));
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.dispatch());
    }
  }

  /** @internal */
  add(client: LocalConnection, subject: string, options: { queue?: string; callback: (err: Error | null, msg: Msg) => void; max?: number }): LocalSubscription {
    const sub = new LocalSubscription(this, client, this.nextSid++, subject, options.queue, options.callback, options.max);
    this.subs.add(sub);
    this.matchCache.clear();
    return sub;
  }

  /** @internal */
  remove(sub: LocalSubscription): void {
    if (this.subs.delete(sub)) this.matchCache.clear();
  }

  /** @internal */
  hasResponders(subject: string): boolean {
    return this.matching(subject).length > 0;
  }

  /** Resolves once every message published so far has been handed to its subscribers. */
  flush(): Promise<void> {
    if (!this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private matching(subject: string): LocalSubscription[] {
    let subs = this.matchCache.get(subject);
    if (!subs) {
      subs = [...this.subs].filter((s) => subjectMatches(s.subject, subject));
      this.matchCache.set(subject, subs);
    }
    return subs;
  }

  private dispatch(): void {
    // Handlers publish too: what they publish joins the end of this queue, in order.
    for (let i = 0; i < this.queue.length; i++) {
      const msg = this.queue[i]!;
      // Made only for a subject with queue subscribers (none of the stack's audio has them).
      let groups: Map<string, LocalSubscription[]> | undefined;
      for (const sub of this.matching(msg.subject)) {
        if (sub.queue === undefined) {
          sub.deliver(msg);
          continue;
        }
        groups ??= new Map();
        const members = groups.get(sub.queue) ?? [];
        members.push(sub);
        groups.set(sub.queue, members);
      }
      // A queue group gets each message once, at one member chosen at random (as nats-server does).
      for (const members of groups?.values() ?? []) members[Math.floor(Math.random() * members.length)]!.deliver(msg);
    }
    this.queue.length = 0;
    this.scheduled = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

/** One client of a LocalRouter (see there). */
class LocalConnection {
  private readonly router: LocalRouter;
  private readonly own = new Set<LocalSubscription>();
  private closedFlag = false;
  private readonly closedWaiters: (() => void)[] = [];
  /** What nats.js's JetStream client reads off a connection before its first request. */
  readonly options = { inboxPrefix: '_INBOX' };

  constructor(router: LocalRouter) {
    this.router = router;
  }

  publish(subject: string, payload?: Payload, options: { headers?: MsgHdrs; reply?: string } = {}): void {
    if (this.closedFlag) throw new Error('local connection closed');
    this.router.publish(subject, payload, options);
  }

  subscribe(subject: string, options: { queue?: string; callback?: (err: Error | null, msg: Msg) => void; max?: number } = {}): Subscription {
    if (!options.callback) throw new Error('LocalConnection.subscribe: only callback subscriptions are supported');
    const sub = this.router.add(this, subject, { ...options, callback: options.callback });
    this.own.add(sub);
    return sub as unknown as Subscription;
  }

  /** @internal */
  forget(sub: LocalSubscription): void {
    this.own.delete(sub);
  }

  async request(subject: string, payload?: Payload, options: { timeout?: number; headers?: MsgHdrs } = {}): Promise<Msg> {
    if (!this.router.hasResponders(subject)) throw new RequestError(`no responders: '${subject}'`, { cause: new NoRespondersError(subject) });
    const inbox = createInbox();
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new TimeoutError());
      }, options.timeout ?? 1000);
      const sub = this.subscribe(inbox, {
        max: 1,
        callback: (_err, msg) => {
          clearTimeout(timer);
          resolve(msg);
        },
      });
      this.publish(subject, payload, { headers: options.headers, reply: inbox });
    });
  }

  flush(): Promise<void> {
    return this.router.flush();
  }

  async drain(): Promise<void> {
    await this.router.flush();
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const sub of [...this.own]) sub.unsubscribe();
    for (const w of this.closedWaiters.splice(0)) w();
  }

  isClosed(): boolean {
    return this.closedFlag;
  }

  isDraining(): boolean {
    return false;
  }

  closed(): Promise<void | Error> {
    if (this.closedFlag) return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.push(() => resolve()));
  }

  /** Never disconnected: the stream of status changes is empty and ends with the connection. */
  status(): AsyncIterable<Status> {
    const closed = this.closed();
    return {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          await closed;
          return { done: true as const, value: undefined };
        },
      }),
    };
  }

  getServer(): string {
    return 'in-process';
  }
}

/** NATS subject matching: `*` is one token, a trailing `>` one or more. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return i === p.length - 1 && s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

class LocalMsg implements Pick<Msg, 'subject' | 'data' | 'headers' | 'reply' | 'string' | 'json' | 'respond'> {
  readonly sid = 0;
  private readonly router: LocalRouter;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  readonly reply: string | undefined;

  constructor(router: LocalRouter, subject: string, data: Uint8Array, headers: MsgHdrs | undefined, reply: string | undefined) {
    this.router = router;
    this.subject = subject;
    this.data = data;
    this.headers = headers;
    this.reply = reply;
  }

  respond(payload?: Payload, options: { headers?: MsgHdrs } = {}): boolean {
    if (!this.reply) return false;
    this.router.publish(this.reply, payload, options);
    return true;
  }

  string(): string {
    return new TextDecoder().decode(this.data);
  }

  json<T>(): T {
    return JSON.parse(this.string()) as T;
  }
}

class LocalSubscription {
  readonly sid: number;
  readonly subject: string;
  readonly queue: string | undefined;
  private readonly router: LocalRouter;
  private readonly client: LocalConnection;
  private readonly callback: (err: Error | null, msg: Msg) => void;
  private readonly max: number | undefined;
  private received = 0;
  private done = false;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(router: LocalRouter, client: LocalConnection, sid: number, subject: string, queue: string | undefined, callback: (err: Error | null, msg: Msg) => void, max: number | undefined) {
    this.router = router;
    this.client = client;
    this.sid = sid;
    this.subject = subject;
    this.queue = queue;
    this.callback = callback;
    this.max = max;
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
  }

  get closed(): Promise<void> {
    return this.closedPromise;
  }

  deliver(msg: LocalMsg): void {
    if (this.done) return;
    this.received++;
    if (this.max !== undefined && this.received >= this.max) this.unsubscribe();
    try {
      this.callback(null, msg as unknown as Msg);
    } catch {
      // nats.js swallows a throwing callback too; the Bus catches and logs its own.
    }
  }

  unsubscribe(): void {
    if (this.done) return;
    this.done = true;
    this.router.remove(this);
    this.client.forget(this);
    this.resolveClosed();
  }

  async drain(): Promise<void> {
    await this.router.flush();
    this.unsubscribe();
  }

  isClosed(): boolean {
    return this.done;
  }

  getSubject(): string {
    return this.subject;
  }

  getReceived(): number {
    return this.received;
  }
}
