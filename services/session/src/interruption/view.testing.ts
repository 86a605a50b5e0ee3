import type { AssistantView } from './strategy.ts';

/** A view for strategy tests: nothing going on, unless told otherwise. */
export function view(overrides: Partial<AssistantView> = {}): AssistantView {
  return { answering: false, generating: false, audible: false, paused: false, interrupted: false, holding: false, ...overrides };
}

/** The assistant mid-answer: still generating, and the user hears it. */
export const speaking = (overrides: Partial<AssistantView> = {}) => view({ answering: true, generating: true, audible: true, ...overrides });
