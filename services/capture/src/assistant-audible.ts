import { trace, type Span } from '@opentelemetry/api';
import type { EventOf } from '@voicebus/protocol';
import { ATTR, type Received } from '@voicebus/runtime';

/**
 * What the device's user hears, seen from the device, as playback reports it
 * (`assistant.audible`): a span from the first audible sample of an answer to its end. It is
 * the hook for echo handling on the device (a microphone knows when its own speaker talks) and
 * it puts the capture side into each turn's trace.
 */
export class AssistantAudibleSpans {
  private readonly open = new Map<string, Span>();
  lastEventAt = 0;

  /** An answer is being heard (or is on hold) on one of the devices. */
  get busy(): boolean {
    return this.open.size > 0;
  }

  onAudible(event: EventOf<'assistant.audible'>, meta: Received): void {
    this.lastEventAt = Date.now();
    const key = `${event.deviceId}/${event.turnId ?? ''}`;
    const span = this.open.get(key);
    if (event.audible && !span) {
      this.open.set(key, trace.getTracer('voicebus.capture').startSpan('assistant audible at device', {
        startTime: event.at,
        attributes: { [ATTR.deviceId]: event.deviceId, ...(event.turnId ? { [ATTR.turnId]: event.turnId } : {}) },
      }, meta.parent));
    } else if (!event.audible && !event.paused && span) {
      span.end(event.at);
      this.open.delete(key);
    }
  }

  close(): void {
    for (const span of this.open.values()) span.end();
    this.open.clear();
  }
}
