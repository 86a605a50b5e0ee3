import { assistantActive, holdWhileActive, releaseWhenDone, type AssistantView, type InterruptionDecision, type InterruptionFact, type BargeInStrategy } from './strategy.ts';

/**
 * Confirmed user speech lets the assistant finish its sentence: the interruption takes effect
 * at the next pause the user hears in the answer (the end of a sentence or a phrase), or when
 * the assistant stops speaking, whichever comes first. The pause is found in the audio as it
 * is played, not in the transcript: the model sends audio faster than real time and its
 * transcript is not aligned with it, so a boundary in the text says nothing about where the
 * listener is. User turns that start meanwhile are held and sent when it takes effect.
 */
export class DeferredStrategy implements BargeInStrategy {
  readonly name = 'deferred';
  /** Playback was asked to stop at the next pause of this answer. */
  private pending = false;

  decide(fact: InterruptionFact, view: AssistantView): InterruptionDecision[] {
    switch (fact.type) {
      case 'speech.confirmed':
        if (this.pending || view.interrupted || !assistantActive(view)) return [];
        this.pending = true;
        return [{ type: 'flush-at-pause', reason: 'deferred interruption: at the next pause' }];
      case 'assistant.stopped':
        if (!this.pending) return releaseWhenDone(view);
        // Flushed at a pause (or played to its end): the model may still be generating the
        // answer; it is over for the user, and the held turn goes now.
        this.pending = false;
        return [{ type: 'interrupt', reason: 'deferred interruption took effect', playbackStopped: true }];
      case 'user.turn.start':
        return holdWhileActive(view);
      default:
        return [];
    }
  }
}
