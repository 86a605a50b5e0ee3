export { startGeminiLiveSim, GEMINI_LIVE_SIM_DEFAULTS, type GeminiLiveSim, type GeminiLiveSimEvents, type GeminiLiveSimOptions } from './server.ts';
export { parseFaults, faultsOption, FaultSpecError, FAULT_ACTIONS, FAULT_MOMENTS, type SimFault, type FiredFault } from './fault-script.ts';
export { SimSession, SIM_BEHAVIOUR_DEFAULTS, type SimBehaviour, type ConversationState, type SimSessionEvents } from './sim-session.ts';
export { SIM_PRESETS, SIM_PRESET_NAMES, DEFAULT_SIM_PRESET, resolveBehaviour, type SimPreset } from './options.ts';
export { CLOSE_CODES } from './protocol-errors.ts';
export { synthesize, SIM_OUTPUT_RATE } from './speech-synth.ts';
