import type { Rng } from './rng.ts';

/**
 * Incremental input transcription: the service transcribes the user while they speak and
 * sends `inputTranscription` a few words at a time, with no ordering against the model's
 * output ("The transcription is independent to the model turn"). The simulator does not
 * recognise speech: it releases the turn's fixture text (option `userTranscripts`) or
 * placeholder words at about 2.5 words per second of speech, and the rest when the turn ends.
 */
const WORDS_PER_SECOND = 2.5;
const PLACEHOLDER = ['so', 'I', 'was', 'thinking', 'about', 'the', 'weather', 'today', 'and', 'maybe', 'we', 'could', 'talk', 'about', 'my', 'plans', 'for', 'tomorrow', 'morning', 'please'];

export class InputTranscriber {
  private readonly words: string[] | undefined;
  private readonly rng: Rng;
  private sent = 0;
  private placeholderAt: number;

  /** `text` undefined: placeholder words. */
  constructor(text: string | undefined, rng: Rng) {
    this.words = text?.split(/\s+/).filter(Boolean);
    this.rng = rng;
    this.placeholderAt = rng.int(0, PLACEHOLDER.length - 1);
  }

  /** The next batch while the user is speaking (`speechMs` so far), or undefined. */
  during(speechMs: number): string | undefined {
    const due = Math.floor((speechMs / 1000) * WORDS_PER_SECOND);
    // Hold the last fixture word back: the end of the turn releases it.
    const limit = this.words ? Math.min(due, this.words.length - 1) : due;
    if (limit - this.sent < this.rng.int(1, 3)) return undefined;
    return this.take(limit);
  }

  /** Everything not yet sent, when the turn ends after `speechMs` of speech. */
  end(speechMs: number): string | undefined {
    const total = this.words ? this.words.length : Math.max(1, Math.round((speechMs / 1000) * WORDS_PER_SECOND));
    if (total <= this.sent) return undefined;
    return this.take(total);
  }

  private take(upTo: number): string {
    const batch: string[] = [];
    for (; this.sent < upTo; this.sent++) {
      batch.push(this.words ? this.words[this.sent]! : PLACEHOLDER[(this.placeholderAt++) % PLACEHOLDER.length]!);
    }
    return (this.sentBefore(batch.length) ? ' ' : '') + batch.join(' ');
  }

  private sentBefore(batchLength: number): boolean {
    return this.sent - batchLength > 0;
  }
}
