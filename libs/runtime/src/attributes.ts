/**
 * Every span and metric attribute name in one place, as OpenTelemetry's instrumentations do.
 * Messaging names follow the OTel semantic conventions for messaging.
 */
export const ATTR = {
  messagingSystem: 'messaging.system',
  messagingOperationType: 'messaging.operation.type',
  messagingOperationName: 'messaging.operation.name',
  messagingDestinationName: 'messaging.destination.name',
  messagingDestinationTemplate: 'messaging.destination.template',
  messagingMessageBodySize: 'messaging.message.body.size',
  messagingConsumerGroup: 'messaging.consumer.group.name',
  deviceId: 'voicebus.device.id',
  turnId: 'voicebus.turn.id',
  eventType: 'voicebus.event.type',
  service: 'voicebus.service',
  instanceId: 'voicebus.instance.id',
  interruptionStrategy: 'voicebus.interruption.strategy',
  model: 'gen_ai.request.model',
  endOfTurnDelayMs: 'voicebus.latency.end_of_turn_ms',
  busMs: 'voicebus.latency.bus_ms',
  modelFirstAudioMs: 'voicebus.latency.model_first_audio_ms',
  playbackBufferMs: 'voicebus.latency.playback_buffer_ms',
  voiceToVoiceMs: 'voicebus.latency.voice_to_voice_ms',
  droppedMs: 'voicebus.playback.dropped_ms',
  interrupted: 'voicebus.turn.interrupted',
} as const;

export const MESSAGING_SYSTEM = 'nats' as const;

/** The latency breakdown of a turn as span attributes (vad's root span, playback's span). */
export function latencyAttributes(l: { endOfTurnDelayMs: number; busMs: number; modelFirstAudioMs: number; playbackBufferMs: number; voiceToVoiceMs: number }) {
  return {
    [ATTR.endOfTurnDelayMs]: l.endOfTurnDelayMs,
    [ATTR.busMs]: l.busMs,
    [ATTR.modelFirstAudioMs]: l.modelFirstAudioMs,
    [ATTR.playbackBufferMs]: l.playbackBufferMs,
    [ATTR.voiceToVoiceMs]: l.voiceToVoiceMs,
  };
}
