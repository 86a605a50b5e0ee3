import { randomBytes } from 'node:crypto';

/** What survives a reconnect with a resumption handle. */
export interface ConversationState {
  turns: number;
  history: { role: 'user' | 'model'; text: string }[];
  /** When the audio session began (Date.now()), for the 15-minute audio session limit. */
  startedAt?: number;
  /** A user turn still open when the handle was made: its speech so far (transparent resumption). */
  openTurn?: { speechMs: number; speaking: boolean };
}

interface Saved {
  state: ConversationState;
  expiresAt: number;
}

/**
 * Session resumption handles (Session management with Live API: "Session resumption"): each
 * update's `newHandle` names a snapshot of the conversation; a new connection whose setup
 * carries the handle continues it. Handles expire (the service keeps them for 2 hours).
 */
export class HandleStore {
  private readonly saved = new Map<string, Saved>();

  save(state: ConversationState, ttlMs: number): string {
    const handle = `sim-${randomBytes(8).toString('hex')}`;
    this.saved.set(handle, { state: structuredClone(state), expiresAt: Date.now() + ttlMs });
    if (this.saved.size > 10_000) this.saved.delete(this.saved.keys().next().value!);
    return handle;
  }

  /** `expired` for a handle this server made that has run out; `unknown` for any other. */
  take(handle: string): ConversationState | 'expired' | 'unknown' {
    const s = this.saved.get(handle);
    if (!s) return 'unknown';
    if (Date.now() >= s.expiresAt) return 'expired';
    return structuredClone(s.state);
  }

  // Map-like access, kept for code that used the old Map<string, ConversationState>.
  get(handle: string): ConversationState | undefined {
    const s = this.take(handle);
    return typeof s === 'string' ? undefined : s;
  }

  set(handle: string, state: ConversationState, ttlMs = 2 * 60 * 60_000): void {
    this.saved.set(handle, { state: structuredClone(state), expiresAt: Date.now() + ttlMs });
  }

  get size(): number {
    return this.saved.size;
  }
}
