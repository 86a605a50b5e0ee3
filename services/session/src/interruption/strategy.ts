/**
 * What user speech does to an answer in progress, as a small pure object: it is told facts
 * (about the user's voice and the assistant's answer) together with a view of the assistant,
 * and returns decisions. It owns no bus, timer or socket; the session actor carries the
 * decisions out. One strategy per file in this folder; `index.ts` maps the protocol's names
 * to them.
 */

/** What the session knows about the assistant when a fact arrives. */
export interface AssistantView {
  /** The model's answer is open (not interrupted, not closed by turnComplete). */
  answering: boolean;
  /** And the model is still generating it: more transcript, and so sentence boundaries, can come. */
  generating: boolean;
  /** The user hears the answer right now. */
  audible: boolean;
  /** Playback holds the answer (paused: not audible, not over). */
  paused: boolean;
  /** The answer being generated or heard has already been interrupted (one per answer). */
  interrupted: boolean;
  /** A user turn is held, waiting for the strategy. */
  holding: boolean;
}

/** Answering, audible or paused: the assistant has the floor. */
export function assistantActive(view: AssistantView): boolean {
  return view.answering || view.audible || view.paused;
}

export type InterruptionFact =
  /** First voiced frame of possible speech (not confirmed yet). */
  | { type: 'speech.onset' }
  /** The detector confirmed speech. */
  | { type: 'speech.confirmed' }
  /** Voiced speech went on for the detector's sustained-speech duration. */
  | { type: 'speech.sustained' }
  /** The speech segment ended, or turned out to be a misfire. */
  | { type: 'speech.stopped' }
  /** A user turn started: the strategy says whether it goes to the model now or is held. */
  | { type: 'user.turn.start' }
  /** More of the answer's output transcript. */
  | { type: 'assistant.text'; text: string }
  /** The model has no more of this answer to generate (sent before the answer is closed). */
  | { type: 'assistant.generation.ending' }
  /** The assistant may have stopped: playback went silent or the answer was closed. */
  | { type: 'assistant.stopped' };

export type InterruptionDecision =
  | { type: 'pause' }
  | { type: 'resume' }
  /**
   * Stop the answer now (`control.interrupt`, unless playback already stopped it), mark it
   * interrupted (the model is told by the held turn's activityStart), send a held turn.
   */
  | { type: 'interrupt'; reason: string; playbackStopped?: true }
  /** Playback stops the answer at its next pause (`control.flush` at 'pause'); the held turn goes when it has. */
  | { type: 'flush-at-pause'; reason: string }
  /** Send the user turn that just started to the model now. */
  | { type: 'send-turn' }
  /** Keep the user turn that just started (and its audio) until the strategy allows it. */
  | { type: 'hold-turn' }
  /** Send the held user turn now. */
  | { type: 'release-held' }
  /** The held user turn was a false interruption: it is never sent. */
  | { type: 'drop-held' };

export interface BargeInStrategy {
  readonly name: string;
  /**
   * What the VAD may do by itself at a speech onset while the answer is audible, to save a
   * bus hop: the strategy's own first decision for that fact, announced in `session.opened`.
   */
  readonly onsetReflex?: 'interrupt';
  decide(fact: InterruptionFact, view: AssistantView): InterruptionDecision[];
}

/** Shared by every strategy: a held turn goes to the model once the assistant has finished. */
export function releaseWhenDone(view: AssistantView): InterruptionDecision[] {
  return view.holding && !assistantActive(view) ? [{ type: 'release-held' }] : [];
}

/** Shared: hold a user turn while an answer that was not interrupted has the floor. */
export function holdWhileActive(view: AssistantView): InterruptionDecision[] {
  return assistantActive(view) && !view.interrupted ? [{ type: 'hold-turn' }] : [{ type: 'send-turn' }];
}
