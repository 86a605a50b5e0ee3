// The public face of @voicebus/session: the service's declaration (settings included), its
// actor's messages, and the pieces another deployment might reuse (prompt packs, tools).
export { SESSION_SERVICE, runSessionService } from './session-service.ts';
export { SESSION_FLAGS, type SessionFlags } from './session-flags.ts';
export type { SessionMessage } from './session-actor.ts';
export { loadPromptPack, renderPrompt, PromptPackError, type RenderedPrompt } from './prompt-pack.ts';
export { ToolRegistry, defaultToolRegistry, type ToolHandler } from './tool-handlers.ts';
export { createInterruptionStrategy, INTERRUPTION_STRATEGY_FACTORIES } from './interruption/index.ts';
export { GeminiLiveError, type GeminiLiveErrorKind } from './gemini-live-error.ts';
