import { holdWhileActive, releaseWhenDone, type AssistantView, type InterruptionDecision, type InterruptionFact, type BargeInStrategy } from './strategy.ts';

/** The assistant always finishes; the user's speech becomes the next turn once it has. */
export class IgnoreStrategy implements BargeInStrategy {
  readonly name = 'ignore';

  decide(fact: InterruptionFact, view: AssistantView): InterruptionDecision[] {
    switch (fact.type) {
      case 'user.turn.start':
        return holdWhileActive(view);
      case 'assistant.stopped':
        return releaseWhenDone(view);
      default:
        return [];
    }
  }
}
