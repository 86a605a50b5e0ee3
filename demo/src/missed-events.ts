import { ANSWER_HISTORY_STREAM, DEVICE_REGISTRY_STREAM, isEventStream, parseSubject, TURN_HISTORY_STREAM, type VoiceEvent } from '@voicebus/protocol';
import { StreamHistory, type Bus } from '@voicebus/runtime';

/** Read back from this long before the disconnect was noticed (a socket dies before the client says so). */
export const MISSED_MARGIN_MS = 3000;

/**
 * The services' histories the monitor reads back from: the turns (vad), the answers (session
 * and playback events) and the devices' last capture event (a `device.ended` sent meanwhile).
 * They are kept for the services' own recovery (docs/architecture.md), a minute at most.
 */
const HISTORIES = [TURN_HISTORY_STREAM, ANSWER_HISTORY_STREAM, DEVICE_REGISTRY_STREAM] as const;

/**
 * The demo's monitor watches the bus live; when its own connection drops (a NATS restart, its
 * cluster node killed) whatever was published meanwhile never reaches it, and it counted
 * answered turns as lost. On the reconnect this reads back from the services' histories what
 * was published since a moment before the disconnect and hands each event, through the bus's
 * checks, to `take` (which ignores what it saw live). The vad's speech facts and the control
 * commands are kept nowhere and stay missed: the monitor counts turns and answers, not those.
 */
export class MissedEvents {
  private since: number | undefined;
  private reading: Promise<void> = Promise.resolve();
  /** Events handed on by the read-backs (what a test or a summary can show). */
  readonly stats = { events: 0 };

  private readonly bus: Bus;
  private readonly take: (event: VoiceEvent) => void;
  private readonly log: { warn(obj: object, msg: string): void };

  constructor(bus: Bus, take: (event: VoiceEvent) => void, log: { warn(obj: object, msg: string): void }) {
    this.bus = bus;
    this.take = take;
    this.log = log;
    bus.onOutage(this);
  }

  disconnected(): void {
    this.since ??= Date.now() - MISSED_MARGIN_MS;
  }

  reconnected(): void {
    const since = this.since;
    this.since = undefined;
    if (since === undefined) return;
    this.reading = this.reading.then(() => this.readBack(since));
  }

  /** Resolves when every read-back asked for so far is done. */
  settled(): Promise<void> {
    return this.reading;
  }

  private async readBack(since: number): Promise<void> {
    for (const stream of HISTORIES) {
      try {
        // A history the stack runs without (or lost with its server) has nothing to give.
        const history = await StreamHistory.find(this.bus.nc, stream);
        await history?.read(undefined, since, (m) => {
          let on;
          try {
            on = parseSubject(m.subject).stream;
          } catch {
            return; // the bus would refuse it; nothing to read here
          }
          if (!isEventStream(on)) return; // the answers' audio
          this.bus.receiveStoredEvent(on, m, (event) => {
            this.stats.events++;
            this.take(event);
          });
        });
      } catch (err) {
        this.log.warn({ stream, err: (err as Error).message }, 'could not read back what the monitor missed while disconnected');
      }
    }
  }
}
