import { allDevicesSubject, decodeEvent, deviceSubject, STREAMS, TURN_HISTORY_STREAM } from '@voicebus/protocol';
import { StreamHistory, type Bus, type Logger, type StreamHistoryOptions } from '@voicebus/runtime';

export interface OpenTurn {
  turnId: string;
  speechStartUs: number;
}

/** Where the device's turns stood, as far as the history goes back. */
export interface TurnState {
  /** A turn started and not ended. */
  open: OpenTurn | undefined;
  /** The last voiced audio of the last turn that ended (capture time, µs). */
  lastEndUs: number | undefined;
}

/**
 * Every device's recent `turn` events (`voice.v1.*.turn` in the `VOICEBUS_TURNS` memory
 * stream). A vad that restarted, or took a device over, in the middle of a user turn finds
 * here the turn its predecessor started and goes on with it: the turn is ended, under its own
 * id, instead of being lost or cut in two. The vad owns the stream (the turn's facts are its).
 */
export class TurnHistory {
  private readonly history: StreamHistory;

  private constructor(history: StreamHistory) {
    this.history = history;
  }

  static async open(nc: Bus['nc'], log: Logger, options: Partial<Pick<StreamHistoryOptions, 'maxAgeMs' | 'replicas' | 'fetchTimeoutMs'>> = {}): Promise<TurnHistory | undefined> {
    const history = await StreamHistory.open(nc, log, { ...options, stream: TURN_HISTORY_STREAM, subjects: [allDevicesSubject(STREAMS.turn)] }, 'a turn in progress is lost when the vad restarts');
    return history ? new TurnHistory(history) : undefined;
  }

  /** The device's turn that was started and not ended, and where the last ended one ended. */
  async state(deviceId: string): Promise<TurnState> {
    let open: OpenTurn | undefined;
    let lastEndUs: number | undefined;
    await this.history.read(deviceSubject(deviceId, STREAMS.turn), Date.now() - this.history.options.maxAgeMs, (m) => {
      let event;
      try {
        event = decodeEvent(STREAMS.turn, m.data);
      } catch {
        return; // what the bus would have refused says nothing
      }
      if (event.deviceId !== deviceId) return;
      if (event.type === 'turn.start') open = { turnId: event.turnId, speechStartUs: event.speechStartUs };
      else if (event.type === 'turn.end') {
        lastEndUs = event.speechEndUs;
        if (event.turnId === open?.turnId) open = undefined;
      }
    });
    return { open, lastEndUs };
  }
}
