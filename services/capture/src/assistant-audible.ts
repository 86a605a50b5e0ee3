import { trace, type Span } from '@opentelemetry/api';
import type { PlaybackEvent } from '@voicebus/protocol';
import { ATTR, type Received } from '@voicebus/runtime';

/**
 * What the device's user hears, seen from the device: a span from the first audible sample of
 * an answer to its end. It is the hook for echo handling on the device (a microphone knows
 * when its own speaker talks) and it puts the capture side into each turn's trace.
 */
export class AssistantAudibleSpans {
  private readonly open = new Map<string, Span>();
  lastEventAt = 0;

  /** An answer is being heard on one of the devices. */
  get busy(): boolean {
    return this.open.size > 0;
  }

  onPlayback(event: PlaybackEvent, meta: Received): void {
    this.lastEventAt = Date.now();
    const key = `${event.deviceId}/${'turnId' in event ? event.turnId : ''}`;
    if (event.type === 'playback.started') {
      this.open.set(key, trace.getTracer('voicebus.capture').startSpan('assistant audible at device', {
        startTime: event.playedAt,
        attributes: { [ATTR.deviceId]: event.deviceId, [ATTR.turnId]: event.turnId },
      }, meta.parent));
    } else if (event.type === 'playback.finished' || event.type === 'playback.flushed') {
      const span = this.open.get(key);
      if (!span) return;
      if (event.type === 'playback.flushed') span.setAttribute(ATTR.interrupted, true);
      span.end();
      this.open.delete(key);
    }
  }

  close(): void {
    for (const span of this.open.values()) span.end();
    this.open.clear();
  }
}
