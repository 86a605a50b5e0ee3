import { metrics, type Counter, type Histogram, type Meter } from '@opentelemetry/api';

/**
 * The stack's metrics, device-independent (device ids would explode cardinality): stage
 * latencies as histograms in milliseconds, and counters for what goes wrong. Every service
 * gets the same instrument names, so one dashboard reads them all.
 */
export interface VoiceMetrics {
  endOfTurnDelay: Histogram;
  busTransit: Histogram;
  modelFirstAudio: Histogram;
  playbackBuffer: Histogram;
  voiceToVoice: Histogram;
  turns: Counter;
  interruptions: Counter;
  chunksDropped: Counter;
  chunksRejected: Counter;
  underruns: Counter;
  reconnects: Counter;
  ownershipChanges: Counter;
}

/** Bucket bounds (ms) that resolve both sub-millisecond bus hops and multi-second turns. */
export const LATENCY_BUCKETS_MS = [0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000];

export function createVoiceMetrics(meter: Meter = metrics.getMeter('voicebus')): VoiceMetrics {
  const histogram = (name: string, description: string) =>
    meter.createHistogram(name, { description, unit: 'ms', advice: { explicitBucketBoundaries: LATENCY_BUCKETS_MS } });
  return {
    endOfTurnDelay: histogram('voicebus.turn.end_of_turn_delay', 'End of turn decided minus last voiced audio'),
    busTransit: histogram('voicebus.bus.transit', 'Publish to receipt per hop (attribute voicebus.hop); cross-host values include clock skew'),
    modelFirstAudio: histogram('voicebus.model.first_audio', 'activityEnd sent to first model audio received'),
    playbackBuffer: histogram('voicebus.playback.buffer', 'First audio received by playback to first sample played'),
    voiceToVoice: histogram('voicebus.turn.voice_to_voice', 'First assistant sample played minus last voiced user audio'),
    turns: meter.createCounter('voicebus.turns', { description: 'User turns detected' }),
    interruptions: meter.createCounter('voicebus.interruptions', { description: 'Assistant turns interrupted by the user' }),
    chunksDropped: meter.createCounter('voicebus.chunks.dropped', { description: 'Audio chunks dropped under overload' }),
    chunksRejected: meter.createCounter('voicebus.chunks.rejected', { description: 'Invalid messages rejected (attribute voicebus.reason)' }),
    underruns: meter.createCounter('voicebus.playback.underruns', { description: 'Playback buffer underruns' }),
    reconnects: meter.createCounter('voicebus.session.reconnects', { description: 'Gemini Live reconnects (attribute voicebus.cause)' }),
    ownershipChanges: meter.createCounter('voicebus.ownership.changes', { description: 'Device ownership acquired or lost' }),
  };
}
