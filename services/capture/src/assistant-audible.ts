import { trace, type Span } from '@opentelemetry/api';
import type { EventOf } from '@voicebus/protocol';
import { ATTR, RecentSet, type Received } from '@voicebus/runtime';

/** Ended answers remembered per process, so a late copy of their start opens nothing. */
const ENDED_KEPT = 256;

interface Heard {
  turnKey: string;
  span: Span;
}

/**
 * What the device's user hears, seen from the device, as playback reports it
 * (`assistant.audible`): a span from the first audible sample of an answer to its end. It is
 * the hook for echo handling on the device (a microphone knows when its own speaker talks) and
 * it puts the capture side into each turn's trace.
 *
 * Events can come twice or late (playback's outbox resends what it held through an outage), so
 * a device hears one answer at a time: a newer answer's start ends the one before it, and the
 * start of an answer already ended is ignored (it would open a span nothing closes, and keep
 * the process lingering as if its speaker still talked).
 */
export class AssistantAudibleSpans {
  private readonly heard = new Map<string, Heard>();
  private readonly ended = new RecentSet<string>(ENDED_KEPT);
  lastEventAt = 0;

  /** An answer is being heard (or is on hold) on one of the devices. */
  get busy(): boolean {
    return this.heard.size > 0;
  }

  onAudible(event: EventOf<'assistant.audible'>, meta: Received): void {
    this.lastEventAt = Date.now();
    const turnKey = `${event.deviceId}/${event.turnId ?? ''}`;
    const current = this.heard.get(event.deviceId);
    if (event.audible) {
      if (current?.turnKey === turnKey || this.ended.has(turnKey)) return;
      if (current) this.end(event.deviceId, current, event.at);
      this.heard.set(event.deviceId, {
        turnKey,
        span: trace.getTracer('voicebus.capture').startSpan('assistant audible at device', {
          startTime: event.at,
          attributes: { [ATTR.deviceId]: event.deviceId, ...(event.turnId ? { [ATTR.turnId]: event.turnId } : {}) },
        }, meta.parent),
      });
    } else if (!event.paused && current?.turnKey === turnKey) {
      this.end(event.deviceId, current, event.at);
    }
  }

  close(): void {
    for (const h of this.heard.values()) h.span.end();
    this.heard.clear();
  }

  private end(deviceId: string, h: Heard, at: number): void {
    h.span.end(at);
    this.heard.delete(deviceId);
    this.ended.add(h.turnKey);
  }
}
