import { holdWhileActive, releaseWhenDone, type AssistantView, type InterruptionDecision, type InterruptionFact, type BargeInStrategy } from './strategy.ts';

/**
 * False-interruption recovery: the first voiced frame while the answer is audible pauses it;
 * speech that goes on for the detector's sustained duration interrupts it (and the held user
 * turn goes to the model); speech that stops sooner (a cough, an "mm-hm") resumes the answer
 * where it paused and the held turn is dropped.
 */
export class PauseStrategy implements BargeInStrategy {
  readonly name = 'pause';
  /** Playback was paused for the current speech segment and nothing is decided yet. */
  private pausing = false;

  decide(fact: InterruptionFact, view: AssistantView): InterruptionDecision[] {
    switch (fact.type) {
      case 'speech.onset':
        if (this.pausing || !view.audible || view.interrupted) return [];
        this.pausing = true;
        return [{ type: 'pause' }];
      case 'speech.sustained':
        if (!this.pausing) return [];
        this.pausing = false;
        return view.interrupted ? [] : [{ type: 'interrupt', reason: 'sustained user speech' }];
      case 'speech.stopped':
        if (!this.pausing) return [];
        this.pausing = false;
        return [{ type: 'resume' }, ...(view.holding ? [{ type: 'drop-held' } as const] : [])];
      case 'user.turn.start':
        return holdWhileActive(view);
      case 'assistant.stopped':
        // While paused the answer is not over: the held turn waits for sustained or stopped.
        return this.pausing ? [] : releaseWhenDone(view);
      default:
        return [];
    }
  }
}
