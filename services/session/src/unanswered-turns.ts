import { allDevicesSubject, ANSWER_HISTORY_STREAM, decodeEvent, parseSubject, STREAMS, TURN_HISTORY_STREAM, type EventOf } from '@voicebus/protocol';
import { StreamHistory, type Bus, type Logger } from '@voicebus/runtime';

/** A turn that ended longer ago than this is not answered by a session that starts now. */
export const UNANSWERED_TURN_MAX_AGE_MS = 15_000;

/**
 * The user turns a session that died left unanswered: per device, the last `turn.end` (the
 * vad's turn history, VOICEBUS_TURNS) with no answer begun, finished or dropped for it (the
 * session events in the answer history, VOICEBUS_ANSWERS). It ended while no session ran, or
 * the dead one had sent it and died before the answer: either way nobody will answer it. Both
 * streams are other services' and read only here; without either, nothing is recovered.
 */
export class UnansweredTurns {
  private readonly turns: StreamHistory;
  private readonly answers: StreamHistory;
  private readonly log: Logger;

  private constructor(turns: StreamHistory, answers: StreamHistory, log: Logger) {
    this.turns = turns;
    this.answers = answers;
    this.log = log;
  }

  static async find(nc: Bus['nc'], log: Logger): Promise<UnansweredTurns | undefined> {
    const [turns, answers] = await Promise.all([StreamHistory.find(nc, TURN_HISTORY_STREAM), StreamHistory.find(nc, ANSWER_HISTORY_STREAM)]);
    if (!turns || !answers) {
      log.info({ turns: Boolean(turns), answers: Boolean(answers) }, 'no turn or answer history: a turn left unanswered by a session that died is not answered');
      return undefined;
    }
    return new UnansweredTurns(turns, answers, log);
  }

  async find(nowMs = Date.now()): Promise<Map<string, EventOf<'turn.end'>>> {
    const last = new Map<string, EventOf<'turn.end'>>();
    await this.turns.read(allDevicesSubject(STREAMS.turn), nowMs - UNANSWERED_TURN_MAX_AGE_MS, (m) => {
      try {
        const event = decodeEvent(STREAMS.turn, m.data);
        if (event.type === 'turn.end' && event.deviceId === parseSubject(m.subject).deviceId && event.decidedAt >= nowMs - UNANSWERED_TURN_MAX_AGE_MS) last.set(event.deviceId, event);
      } catch {
        // what the bus would have rejected is not recovered either
      }
    });
    if (last.size === 0) return last;
    const settled = new Set<string>();
    await this.answers.read(allDevicesSubject(STREAMS.session), nowMs - UNANSWERED_TURN_MAX_AGE_MS - 1000, (m) => {
      try {
        const event = decodeEvent(STREAMS.session, m.data);
        if ((event.type === 'assistant.audio.first' || event.type === 'assistant.turn.complete' || event.type === 'user.turn.dropped') && event.turnId) settled.add(`${event.deviceId}/${event.turnId}`);
      } catch {
        // as above
      }
    });
    for (const [deviceId, end] of last) if (settled.has(`${deviceId}/${end.turnId}`)) last.delete(deviceId);
    if (last.size > 0) this.log.info({ turns: [...last.values()].map((e) => e.turnId) }, 'user turns the last session left unanswered: answered now');
    return last;
  }
}
