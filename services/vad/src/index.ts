// The public face of @voicebus/vad: the service's declaration (settings included) and its
// actor's messages. Building blocks for tools and benchmarks are in '@voicebus/vad/internal'.
export { VAD_SERVICE, runVadService } from './vad-service.ts';
export { VAD_FLAGS, type VadFlags } from './vad-flags.ts';
export type { VadMessage } from './vad-actor.ts';
export type { SpeechFact } from './speech-facts.ts';
