// The VAD's building blocks, for benchmarks and tools (not a service API: services talk over NATS).
export { createVadEngine } from './engines/create-engine.ts';
export { sharedSession, ort } from './engines/onnx-session.ts';
export { VAD_ENGINES, type VadEngineName } from './engines/vad-engine.ts';
export { SpeechDetector } from './speech-detector.ts';
export { detectFixture, loadFixture, trueTurns } from './fixture-runner.ts';
