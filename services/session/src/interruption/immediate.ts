import { releaseWhenDone, type AssistantView, type InterruptionDecision, type InterruptionFact, type BargeInStrategy } from './strategy.ts';

/**
 * The first voiced frame while the user hears the answer stops it: speed matters most, every
 * millisecond here is heard as the assistant talking over the user. A user turn always goes
 * to the model at once (an answer still being generated is retired by the new turn).
 */
export class ImmediateStrategy implements BargeInStrategy {
  readonly name = 'immediate';
  /** The VAD interrupts by itself at the onset; the session takes that as its own decision. */
  readonly onsetReflex = 'interrupt';

  decide(fact: InterruptionFact, view: AssistantView): InterruptionDecision[] {
    switch (fact.type) {
      case 'speech.onset':
        return view.audible && !view.interrupted ? [{ type: 'interrupt', reason: 'user speech' }] : [];
      case 'user.turn.start':
        return [{ type: 'send-turn' }];
      case 'assistant.stopped':
        return releaseWhenDone(view);
      default:
        return [];
    }
  }
}
