import type { NatsConnection } from '@nats-io/nats-core';
import type { AudioChunk, EventOnStream, EventStream } from '@voicebus/protocol';
import { ActorHost, type Actor, type ActorContext, type ActorHostOptions, type Delivery } from './actor-host.ts';
import { processSpan, type AudioStream, type Received } from './bus.ts';
import { nowUs } from './clock.ts';
import { COMMON_FLAGS, SCALE_OUT_FLAGS, type CommonOptions, type ScaleOutOptions } from './common-options.ts';
import { parseFlags, UsageError, type FlagSpecs } from './flags.ts';
import { OwnershipGate } from './ownership-gate.ts';
import { RecoveryHold } from './recovery-hold.ts';
import { startServiceRuntime, type ServiceRuntime } from './service-runtime.ts';

/** Where a subscription's messages go: audio is droppable under overload, events never are. */
export type Route<M> =
  | { audio: AudioStream; message: (chunk: AudioChunk, meta: Received, receivedAtUs: number) => M }
  | { events: EventStream; message: (event: never, meta: Received) => M | undefined; priority: (event: never) => boolean; traced: boolean };

export interface RouteOptions<E = never> {
  /** Overtakes queued audio in the device's mailbox (control, turn events, vad facts); per event when a function. */
  priority?: boolean | ((event: E) => boolean);
  /** Handle it inside a `process` span parented by the producer's. */
  traced?: boolean;
}

/** Builds a service's routes with its actor's message type known. */
export interface RouteBuilder<M> {
  audio(stream: AudioStream, message: (chunk: AudioChunk, meta: Received, receivedAtUs: number) => M): Route<M>;
  /** `message` returns undefined for events the actor does not need. */
  events<S extends EventStream>(stream: S, message: (event: EventOnStream<S>, meta: Received) => M | undefined, options?: RouteOptions<EventOnStream<S>>): Route<M>;
}

const ROUTES: RouteBuilder<never> = {
  audio: (audio, message) => ({ audio, message }),
  events: (events, message, options = {}) => {
    const { priority } = options;
    return { events, message: message as never, priority: (typeof priority === 'function' ? priority : () => Boolean(priority)) as (event: never) => boolean, traced: Boolean(options.traced) };
  },
};

/** A service made of one actor per device. */
export interface ActorService<M> {
  actor: (ctx: ActorContext<M>, rt: ServiceRuntime) => Actor<M>;
  routes: (on: RouteBuilder<M>) => Route<M>[];
  host?: Partial<Omit<ActorHostOptions, 'onDrop' | 'onPassivated' | 'idleMs'>>;
  /** More live stats, next to the devices, drops and rejects every service reports. */
  stats?: () => object;
  /** Logged once the service is configured (what it runs with). */
  summary?: object;
  /** Runs once the runtime is up, before the first subscription (stores that need the bus). */
  attach?(rt: ServiceRuntime): Promise<void>;
  /**
   * What a process of this service that died left undone (read back from the bus's
   * histories), found once the subscriptions are made: each message returned goes to its
   * device's actor, through the leases, before anything that arrived meanwhile, which is held
   * until then. A failure is logged and recovers nothing.
   */
  recover?(rt: ServiceRuntime): Promise<RecoveredMessage<M>[]>;
}

export interface RecoveredMessage<M> {
  deviceId: string;
  message: M;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the actor's message type is the service's own
type AnyService = ActorService<any> | ProcessService;

/** A service that runs to an end of its own (capture): the exit code of `run` is the process's. */
export interface ProcessService {
  run(rt: ServiceRuntime): Promise<number>;
  stats: () => object;
  /** Where its replies come back: a process for one device uses that device's own inbox, the only one its credential may read. */
  inboxPrefix?: string | undefined;
}

export interface ServiceDefinition<F, S extends AnyService> {
  name: string;
  version: string;
  description: string;
  flags: FlagSpecs<F>;
  /** Several instances may share the devices (ownership flags, leases, fencing). */
  scaleOut?: boolean;
  /**
   * Turns the settings into the service: load models and packs, check what the flags name.
   * Throw UsageError for a bad setting: the process exits 2 with its message, having connected
   * to nothing. `env` is the process environment, for settings that are families of
   * variables (e.g. template variables); nothing else reads it.
   */
  configure(flags: F & CommonOptions & ScaleOutOptions, env: NodeJS.ProcessEnv, sourceOf: (flag: keyof F) => 'cli' | 'env' | 'default'): Promise<S> | S;
}

/** Parses flags and environment, brings the runtime up, runs the service until it is stopped. */
export async function runService<F, S extends AnyService>(
  definition: ServiceDefinition<F, S>,
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  let started: StartedService;
  try {
    started = await startService(definition, argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${definition.name}: ${err.message}\n`);
    process.exit(2);
  }
  if (!started.ended) return;
  const code = await started.ended;
  await started.stop();
  process.exit(code);
}

/** How a service runs when it is not a process of its own (several in one process). */
export interface EmbeddingOptions {
  /** The connection instead of dialing NATS_URL (a LocalConnection shared by the services of the process). */
  connection?: NatsConnection | undefined;
  /** Default true: SIGINT/SIGTERM run the shutdown. A process that hosts several services handles its own. */
  handleSignals?: boolean | undefined;
}

/** A service started by startService: its runtime, and for a ProcessService the exit code it ends with. */
export interface StartedService {
  rt: ServiceRuntime;
  /** A ProcessService's `run`: resolves with its exit code. Undefined for an actor service (it runs until stopped). */
  ended: Promise<number> | undefined;
  /** Runs the shutdown: the service's hooks, the bus drained, telemetry flushed. */
  stop(): Promise<void>;
}

/**
 * Parses flags and environment and brings the service up, without exiting the process: what
 * runService does before it waits, and what a process hosting several services calls for each.
 * A bad setting throws UsageError, having connected to nothing.
 */
export async function startService<F, S extends AnyService>(
  definition: ServiceDefinition<F, S>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  embedding: EmbeddingOptions = {},
): Promise<StartedService> {
  const specs = { ...COMMON_FLAGS, ...(definition.scaleOut ? SCALE_OUT_FLAGS : {}), ...definition.flags } as FlagSpecs<F & CommonOptions & ScaleOutOptions>;
  const parsed = parseFlags(definition.name, definition.description, specs, argv, env);
  const flags = parsed.values;
  const service = await definition.configure(flags, env, parsed.sourceOf as (flag: keyof F) => 'cli' | 'env' | 'default');
  const rt = 'run' in service ? await startProcess(definition, flags, service, embedding) : await runActors(definition, flags, service as ActorService<unknown>, embedding);
  return { rt, ended: 'run' in service ? service.run(rt) : undefined, stop: () => rt.shutdown.run() };
}

async function startProcess<F>(definition: ServiceDefinition<F, AnyService>, flags: CommonOptions, service: ProcessService, embedding: EmbeddingOptions): Promise<ServiceRuntime> {
  return startServiceRuntime({ ...flags, name: definition.name, version: definition.version, description: definition.description, stats: service.stats, inboxPrefix: service.inboxPrefix, connection: embedding.connection, handleSignals: embedding.handleSignals });
}

async function runActors<F, M>(definition: ServiceDefinition<F, AnyService>, flags: CommonOptions & ScaleOutOptions, service: ActorService<M>, embedding: EmbeddingOptions): Promise<ServiceRuntime> {
  let host: ActorHost<M> | undefined;
  const rt = await startServiceRuntime({
    ...flags,
    connection: embedding.connection,
    handleSignals: embedding.handleSignals,
    name: definition.name,
    version: definition.version,
    description: definition.description,
    ownership: definition.scaleOut ? flags : undefined,
    stats: () => {
      const own = (service.stats?.() ?? {}) as { rejected?: number };
      return {
        ownership: rt.ownership?.stats(),
        devices: host?.stats() ?? [],
        dropped: host?.totalDropped ?? 0,
        ...own,
        // What the bus refused plus what the actors refused (e.g. audio of the wrong format).
        rejected: rt.bus.rejectedTotal() + (own.rejected ?? 0),
        // By kind (a bounded set, see Bus.reject): what the bus refused at the boundary.
        rejectedByKind: Object.fromEntries(rt.bus.rejected),
      };
    },
  });
  const actors = new ActorHost<M>((ctx) => service.actor(ctx, rt), rt.log, {
    ...service.host,
    idleMs: flags.deviceIdleMs,
    onDrop: (n) => rt.telemetry.metrics.chunksDropped.add(n),
    // A passivated device is not renewed any longer: its lease goes with its actor.
    onPassivated: (deviceId) => void rt.ownership?.release(deviceId),
  });
  host = actors;
  await service.attach?.(rt);
  // Shutdown hooks run in reverse: the actors finish first, then the leases are handed over.
  const ownership = rt.ownership;
  if (ownership) rt.shutdown.add('hand devices over', () => ownership.releaseAll());
  const gate = ownership ? new OwnershipGate(actors, ownership) : actors;
  // While the service recovers, what arrives for a device waits, in order, so it follows what is recovered for it.
  const hold = new RecoveryHold<Delivery<M>>((deviceId, delivery) => gate.deliver(deviceId, delivery), Boolean(service.recover));
  const deliver = (deviceId: string, delivery: Delivery<M>) => hold.push(deviceId, delivery);
  for (const route of service.routes(ROUTES as RouteBuilder<M>)) {
    if ('audio' in route) {
      rt.bus.subscribeAudio(route.audio, (chunk, meta) => {
        deliver(meta.deviceId, { message: route.message(chunk, meta, nowUs()), droppable: true, trace: meta.chunkTraced ? processSpan(route.audio, meta) : undefined });
      });
      continue;
    }
    rt.bus.subscribeEvents(route.events, (event, meta) => {
      const message = route.message(event as never, meta);
      if (message === undefined) return;
      deliver(meta.deviceId, { message, droppable: false, priority: route.priority(event as never), trace: route.traced ? processSpan(route.events, meta) : undefined });
    });
  }
  if (service.recover) {
    await rt.bus.flush(); // subscribed before the history is read: nothing falls between the two
    let recovered: RecoveredMessage<M>[] = [];
    try {
      recovered = await service.recover(rt);
    } catch (err) {
      rt.log.warn({ err: (err as Error).message }, 'recovery failed: what the last process left undone is lost');
    }
    const byDevice = Map.groupBy(recovered, (r) => r.deviceId);
    hold.recovering(byDevice.keys());
    // Each device on its own: its lease may wait out a dead holder's, another's need not.
    // Priority, so that a command held meanwhile (a flush) cannot overtake what it applies to.
    await Promise.all([...byDevice].map(async ([deviceId, messages]) => {
      try {
        if (ownership && !(await ownership.acquireFromDeadHolder(deviceId))) return;
        for (const r of messages) gate.deliver(deviceId, { message: r.message, droppable: false, priority: true });
      } finally {
        hold.release(deviceId);
      }
    }));
  }
  if (service.summary) rt.log.info(service.summary, `${definition.name} configured`);
  rt.shutdown.add('actors', () => actors.close());
  await rt.ready();
  return rt;
}
