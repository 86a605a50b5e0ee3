// The VAD's building blocks, for benchmarks and tools (not a service API: services talk over NATS).
export { createVadEngine } from './engines/create-engine.ts';
export { sharedSession, ort } from './engines/onnx-session.ts';
export { VAD_ENGINES, type VadEngineName } from './engines/vad-engine.ts';
export { SpeechDetector } from './speech-detector.ts';
export { detectFixture, loadFixture, trueTurns } from './fixture-runner.ts';
export { createBatchedSileroEngine, BatchedSileroEngine } from './engines/batched-silero-engine.ts';
export { SileroBatcher, SILERO_BATCH_DEFAULTS } from './engines/silero-batcher.ts';
export type { VadEngine } from './engines/vad-engine.ts';
export { TurnDetector } from './turn-detector.ts';
