import type { AudioChunk } from '@voicebus/protocol';

export interface UserTurnRelayOptions {
  /** Audio before the user's first voiced sample that is sent too (pre-roll). */
  preRollMs: number;
  /** How much recent audio is kept for pre-roll: more than the VAD needs to confirm speech. */
  ringMs: number;
  /** How much of a sent turn's audio is kept to send again if the session is lost before it is answered. */
  replayMaxMs: number;
  /** How often one turn is sent again before it is given up. */
  maxReplays: number;
}

export const USER_TURN_RELAY_DEFAULTS: UserTurnRelayOptions = { preRollMs: 300, ringMs: 2000, replayMaxMs: 60_000, maxReplays: 2 };

export interface UserTurn {
  readonly turnId: string;
  readonly speechStartUs: number;
  /** Audio of this turn not sent yet (a held turn keeps all of it here). */
  pending: AudioChunk[];
  ended: boolean;
  sent: boolean;
  /** Everything handed to the model for this turn, until its answer starts (to send again). */
  sentAudio: AudioChunk[];
  replays: number;
  /**
   * Earlier turns the user spoke before any of them was answered: the model answers them
   * with this one, so their audio goes before this turn's when it is sent again.
   */
  continues: string[];
  carriedAudio: AudioChunk[];
  /** Capture time of the end of the last chunk handed to the model for this turn. */
  sentUntilUs: number;
}

/** What to hand the model for a turn being sent: its audio so far, and whether it has ended. */
export interface TurnToSend {
  turn: UserTurn;
  audio: AudioChunk[];
  ended: boolean;
  /** The turn before, unanswered: it is answered with this one (the user went on before any answer). */
  continued?: string;
}

/** Where a chunk of user audio goes (local turn detection). */
export type AudioRoute = 'send' | 'held' | 'none';

const chunkEndUs = (c: AudioChunk) => c.captureTsUs + (c.pcm.length / c.channels / c.sampleRate) * 1e6;

/**
 * The user side of the conversation with local turn detection: a ring buffer of recent audio
 * (so the speech the VAD needed to confirm a turn is not lost), the turn being sent to the
 * model, and a held turn (started while the assistant had the floor) with its audio.
 * Nothing here talks to the model: it says what to send and when.
 */
export class UserTurnRelay {
  readonly options: UserTurnRelayOptions;
  private ring: AudioChunk[] = [];
  private currentTurn: UserTurn | undefined;
  private heldTurn: UserTurn | undefined;

  constructor(options: Partial<UserTurnRelayOptions> = {}) {
    this.options = { ...USER_TURN_RELAY_DEFAULTS, ...options };
  }

  /** The turn the model is hearing (sent, maybe ended and waiting for its answer). */
  get current(): UserTurn | undefined {
    return this.currentTurn;
  }

  get held(): UserTurn | undefined {
    return this.heldTurn;
  }

  /** Records a chunk and says where it goes: to the model now, into the held turn, or nowhere. */
  push(chunk: AudioChunk): AudioRoute {
    this.ring.push(chunk);
    // Keep the window around the newest chunk. A chunk stamped far in the future empties the
    // ring but for itself (everything else is older than its window), so it is the front when
    // the next chunk comes and goes then: it neither stops the trimming nor stays to be sent
    // with every turn. The usual case stays a trim from the front.
    const cutoff = chunk.captureTsUs - this.options.ringMs * 1000;
    const ahead = chunk.captureTsUs + this.options.ringMs * 1000;
    if (this.ring[0]!.captureTsUs > ahead) this.ring = this.ring.filter((c) => c.captureTsUs <= ahead);
    while (this.ring.length > 0 && this.ring[0]!.captureTsUs < cutoff) this.ring.shift();
    if (this.currentTurn && !this.currentTurn.ended) {
      this.keepSent(this.currentTurn, [chunk]);
      return 'send';
    }
    if (this.heldTurn && !this.heldTurn.ended) {
      this.heldTurn.pending.push(chunk);
      return 'held';
    }
    return 'none';
  }

  /** A new user turn, with the recent audio from its speech start minus the pre-roll. */
  startTurn(turnId: string, speechStartUs: number): UserTurn {
    const fromUs = speechStartUs - this.options.preRollMs * 1000;
    return { turnId, speechStartUs, pending: this.ring.filter((c) => chunkEndUs(c) > fromUs), ended: false, sent: false, sentAudio: [], replays: 0, continues: [], carriedAudio: [], sentUntilUs: 0 };
  }

  /** A whole turn read back from elsewhere (the audio history): ended, all of its audio pending. */
  recovered(turnId: string, speechStartUs: number, chunks: AudioChunk[]): UserTurn {
    return { turnId, speechStartUs, pending: [...chunks], ended: true, sent: false, sentAudio: [], replays: 0, continues: [], carriedAudio: [], sentUntilUs: 0 };
  }

  /** Keeps a turn back; a turn held before it is replaced (the newer speech is what counts). */
  hold(turn: UserTurn): UserTurn | undefined {
    const replaced = this.heldTurn;
    this.heldTurn = turn;
    return replaced;
  }

  /** Takes the held turn out, to send or to drop it. */
  takeHeld(): UserTurn | undefined {
    const held = this.heldTurn;
    this.heldTurn = undefined;
    return held;
  }

  /** Makes `turn` the current one and hands out what to send for it now. */
  send(turn: UserTurn): TurnToSend {
    if (this.heldTurn === turn) this.heldTurn = undefined;
    const before = this.currentTurn;
    // The turn before ended and was never answered (its audio is still kept): the model hears
    // this one as its continuation, and must hear both again if the session is lost.
    const continued = before && before !== turn && before.ended && before.sentAudio.length > 0 ? before : undefined;
    if (continued) {
      turn.continues = [...continued.continues, continued.turnId];
      turn.carriedAudio = this.capped([...continued.carriedAudio, ...continued.sentAudio]);
    }
    this.currentTurn = turn;
    turn.sent = true;
    const audio = turn.pending;
    turn.pending = [];
    this.keepSent(turn, audio);
    return { turn, audio, ended: turn.ended, ...(continued ? { continued: continued.turnId } : {}) };
  }

  /**
   * The session was lost before the current turn was answered: what to send again on the
   * new one (everything the model heard of it, and whether it has ended). Undefined when there
   * is nothing to send again, or the turn was sent again too often (it is then given up).
   */
  replay(): TurnToSend | undefined {
    const turn = this.currentTurn;
    if (!turn || turn.replays >= this.options.maxReplays) return undefined;
    turn.replays++;
    // The turns it continues first, in capture order; a pre-roll that overlaps them goes once.
    const firstOwnUs = turn.sentAudio[0]?.captureTsUs ?? Infinity;
    const carried = turn.carriedAudio.filter((c) => c.captureTsUs < firstOwnUs);
    return { turn, audio: [...carried, ...turn.sentAudio], ended: turn.ended };
  }

  /** The model started answering the current turn: it need not be sent again, nor what it continues. */
  answered(turnId: string): void {
    if (this.currentTurn?.turnId !== turnId) return;
    this.currentTurn.sentAudio = [];
    this.currentTurn.carriedAudio = [];
  }

  private keepSent(turn: UserTurn, chunks: AudioChunk[]): void {
    for (const c of chunks) turn.sentUntilUs = Math.max(turn.sentUntilUs, chunkEndUs(c));
    turn.sentAudio.push(...chunks);
    const first = turn.sentAudio[0];
    const last = turn.sentAudio.at(-1);
    if (first && last && last.captureTsUs - first.captureTsUs > this.options.replayMaxMs * 1000) turn.sentAudio.shift();
  }

  /** At most replayMaxMs of carried audio, the newest. */
  private capped(chunks: AudioChunk[]): AudioChunk[] {
    const last = chunks.at(-1);
    if (!last) return chunks;
    const fromUs = last.captureTsUs - this.options.replayMaxMs * 1000;
    return chunks.filter((c) => c.captureTsUs >= fromUs);
  }

  /**
   * A turn ended on a speculation goes on (the user spoke again): it takes audio again, and
   * what was captured since its last sent chunk (the pause and the new speech) is handed out.
   */
  reopen(turnId: string): AudioChunk[] {
    const turn = this.currentTurn;
    if (!turn || turn.turnId !== turnId || !turn.ended) return [];
    turn.ended = false;
    // Chunks are whole: one not sent ends well after the last one that was (1 ms allows for rounding).
    const missed = this.ring.filter((c) => chunkEndUs(c) > turn.sentUntilUs + 1000);
    this.keepSent(turn, missed);
    return missed;
  }

  /** The VAD ended a turn: 'current' when the model must hear activityEnd now. */
  endTurn(turnId: string): 'current' | 'held' | undefined {
    if (this.currentTurn?.turnId === turnId && !this.currentTurn.ended) {
      this.currentTurn.ended = true;
      return 'current';
    }
    if (this.heldTurn?.turnId === turnId) {
      this.heldTurn.ended = true;
      return 'held';
    }
    return undefined;
  }

  /** The model answered (or the session was lost): the current turn is done with. */
  finishCurrent(turnId?: string): void {
    if (turnId === undefined || this.currentTurn?.turnId === turnId) this.currentTurn = undefined;
  }
}
