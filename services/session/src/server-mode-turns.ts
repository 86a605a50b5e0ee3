import { RecentSet } from '@voicebus/runtime';

/**
 * Server turn detection: Gemini decides the turns, but the VAD's turns name the answers (and
 * give the user's stop time on the capture timeline), so each answer is measured and counted
 * against the user turn it follows. This keeps the VAD's turns not answered yet.
 */
export class ServerModeTurns {
  private turns: { turnId: string; decidedAt: number | undefined }[] = [];
  /** The latest turns seen start (bounded): one that comes again (a retried stored publish) is not a new turn. */
  private readonly seen = new RecentSet<string>(32);

  started(turnId: string): void {
    if (this.seen.has(turnId)) return;
    this.seen.add(turnId);
    this.turns.push({ turnId, decidedAt: undefined });
  }

  ended(turnId: string, decidedAt: number): void {
    const t = this.turns.find((x) => x.turnId === turnId);
    if (t) t.decidedAt = decidedAt;
  }

  /**
   * The model answered by itself: the latest VAD turn is the one it answers (earlier ones it
   * took in with it). Gemini's own end-of-turn decision is not seen, so the model's time counts
   * from the VAD's.
   */
  claim(): { turnId: string; requestedAt: number | undefined } | undefined {
    const latest = this.turns.at(-1);
    this.turns = [];
    return latest && { turnId: latest.turnId, requestedAt: latest.decidedAt };
  }
}
