// The public face of @voicebus/runtime: what a service is built from. Test helpers are in
// '@voicebus/runtime/testing'; the pieces below the skeleton in '@voicebus/runtime/internal'.
export { ATTR, MESSAGING_SYSTEM, latencyAttributes } from './attributes.ts';
export { type Logger } from './logger.ts';
export { type VoiceMetrics } from './metrics.ts';
export {
  ActorHost,
  ACTOR_HOST_DEFAULTS,
  ACTOR_STOP_REASONS,
  type Actor,
  type ActorContext,
  type ActorFactory,
  type ActorHostOptions,
  type ActorStats,
  type ActorStopReason,
  type Delivery,
  type DeliveryTrace,
  type LaneOptions,
} from './actor-host.ts';
export { Bus, connectNats, processSpan, type AudioStream, type BusHooks, type BusOptions, type LeaseFencing, type NatsConnectOptions, type Received, type SubscribeOptions } from './bus.ts';
export { nowUs, nowMs, systemClock, type Clock } from './clock.ts';
export { booleanFlag, choiceFlag, listFlag, numberFlag, numberIn, parseFlags, stringFlag, UsageError, type FlagSpec, type FlagSpecs, type ParsedFlags } from './flags.ts';
export { COMMON_FLAGS, SCALE_OUT_FLAGS, defaultInstanceId, type CommonOptions, type ScaleOutOptions } from './common-options.ts';
export { runService, type ActorService, type ProcessService, type RecoveredMessage, type Route, type RouteBuilder, type RouteOptions, type ServiceDefinition } from './service-main.ts';
export { startServiceRuntime, type ServiceRuntime, type StartServiceOptions } from './service-runtime.ts';
export { createRacing } from './jetstream-create.ts';
export { RecentSet } from './recent-set.ts';
export { StreamHistory, STREAM_HISTORY_DEFAULTS, type StreamHistoryOptions } from './stream-history.ts';
export { AudioHistory, AUDIO_HISTORY_DEFAULTS, type AudioHistoryOptions } from './audio-history.ts';
export { AudioGaps, AUDIO_GAPS_DEFAULTS, type AudioGapsOptions } from './audio-gaps.ts';
export { OutageHold, OUTAGE_HOLD_DEFAULTS, type OutageHoldBus, type OutageHoldLog, type OutageHoldOptions, type OutageHoldStats, type OutageListener } from './outage-hold.ts';
export { DeviceOutbox, publishStraight, type DeviceOutboxOptions, type DevicePublisher } from './device-outbox.ts';
