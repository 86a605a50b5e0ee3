import { assistantActive, endsSentence, holdWhileActive, releaseWhenDone, type AssistantView, type InterruptionDecision, type InterruptionFact, type BargeInStrategy } from './strategy.ts';

/**
 * Confirmed user speech lets the assistant finish its sentence: the interruption takes effect
 * at the next sentence boundary of the output transcript, or when the assistant stops
 * speaking or finishes generating, whichever comes first. When generation is already over and
 * only playback remains there is no boundary to wait for: it takes effect at once. User turns
 * that start meanwhile are held and sent when it does.
 */
export class DeferredStrategy implements BargeInStrategy {
  readonly name = 'deferred';
  /** An interruption is waiting for the next boundary. */
  private pending = false;

  decide(fact: InterruptionFact, view: AssistantView): InterruptionDecision[] {
    switch (fact.type) {
      case 'speech.confirmed':
        if (this.pending || view.interrupted || !assistantActive(view)) return [];
        if (!view.generating) return [{ type: 'flush', reason: 'assistant already done generating' }];
        this.pending = true;
        return [{ type: 'defer' }];
      case 'assistant.text':
        return this.pending && endsSentence(fact.text) ? this.takeEffect('sentence boundary') : [];
      case 'assistant.generation.ending':
        return this.pending ? this.takeEffect('assistant finished generating') : [];
      case 'assistant.stopped':
        return this.pending ? this.takeEffect('assistant stopped speaking') : releaseWhenDone(view);
      case 'user.turn.start':
        return holdWhileActive(view);
      default:
        return [];
    }
  }

  private takeEffect(reason: string): InterruptionDecision[] {
    this.pending = false;
    return [{ type: 'flush', reason }];
  }
}
